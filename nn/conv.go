package nn

import (
	"fmt"
	"os"
	"slices"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// Conv2d is torch.nn.Conv2d with square stride and padding (zeros) and no
// dilation: y = W ⋆ x + b.
type Conv2d struct {
	Stride, Padding int
	Groups          int           // 0 or 1 for a dense convolution; see NewGroupedConv2d
	Weight          *autograd.Var // (OC, IC/Groups, KH, KW)
	Bias            *autograd.Var // (OC); nil for bias=False
}

// NewConv2d returns a Conv2d with a kernel×kernel window, initialised as
// PyTorch does by default: weights and bias uniform in ±1/√fan_in with
// fan_in = in·kernel² (kaiming_uniform_ with a = √5), drawn from rng.
func NewConv2d(rng *tensor.RNG, in, out, kernel, stride, padding int, bias bool) *Conv2d {
	if in <= 0 || out <= 0 || kernel <= 0 || stride <= 0 || padding < 0 {
		panic(fmt.Sprintf("nn: NewConv2d(in=%d, out=%d, kernel=%d, stride=%d, padding=%d): sizes must be positive",
			in, out, kernel, stride, padding))
	}
	c := &Conv2d{Stride: stride, Padding: padding, Weight: autograd.Param(tensor.New(out, in, kernel, kernel))}
	fanIn := in * kernel * kernel
	uniformFanIn(rng, c.Weight.Value, fanIn)
	if bias {
		c.Bias = autograd.Param(tensor.New(out))
		uniformFanIn(rng, c.Bias.Value, fanIn)
	}
	return c
}

// Forward convolves x (N, IC, H, W) into (N, OC, OH, OW).
func (c *Conv2d) Forward(x *autograd.Var) *autograd.Var {
	return FunctionalGroupedConv2d(x, c.Weight, c.Bias, c.Stride, c.Padding, c.Groups)
}

// Train does nothing: a convolution has no mode.
func (c *Conv2d) Train(bool) {}

// Visit visits "weight" and, with a bias, "bias".
func (c *Conv2d) Visit(prefix string, fn func(Entry)) {
	fn(Entry{Name: prefix + "weight", Param: c.Weight})
	if c.Bias != nil {
		fn(Entry{Name: prefix + "bias", Param: c.Bias})
	}
}

// Parameters returns the weight and the bias (if any).
func (c *Conv2d) Parameters() []*autograd.Var { return parameters(c) }

// FunctionalConv2d is torch.nn.functional.conv2d(x, w, b, stride,
// padding), the operation behind the Conv2d module: x (N, IC, H, W), w
// (OC, IC, KH, KW), b (OC) or nil, result (N, OC, OH, OW) with
// OH = (H + 2·padding − KH)/stride + 1 (floor), likewise OW. It panics on
// inconsistent shapes.
func FunctionalConv2d(x, w, b *autograd.Var, stride, padding int) *autograd.Var {
	s, inputs, bias := convOperands(x, w, b, stride, padding)
	y := x.Arena().Empty(s.n, s.oc, s.oh, s.ow) // every element written
	convForward(s, y.Data, x.Value.Data, w.Value.Data, bias)
	return autograd.Custom("Conv2d", y, inputs, func(gy *tensor.Tensor) []*tensor.Tensor {
		var dx, dw, db *tensor.Tensor
		if x.RequiresGrad() {
			dx = x.Arena().New(x.Shape()...)
		}
		if w.RequiresGrad() {
			dw = x.Arena().New(w.Shape()...)
		}
		if b != nil && b.RequiresGrad() {
			db = x.Arena().New(s.oc)
		}
		convBackward(s, data(dx), data(dw), data(db), gy.Data, x.Value.Data, w.Value.Data)
		return []*tensor.Tensor{dx, dw, db}[:len(inputs)]
	})
}

// convOperands checks the operands of FunctionalConv2d and returns the
// geometry, the inputs of the op (x, w, and b unless it is nil) and the
// bias values (nil without a bias).
func convOperands(x, w, b *autograd.Var, stride, padding int) (s convShape, inputs []*autograd.Var, bias []float32) {
	s = newConvShape(x.Shape(), w.Shape(), stride, padding)
	inputs = []*autograd.Var{x, w}
	if b != nil {
		if b.Value.Dim() != 1 || b.Value.Shape[0] != s.oc {
			panic(fmt.Sprintf("nn: FunctionalConv2d: bias of shape %v for %d output channels", b.Shape(), s.oc))
		}
		bias = b.Value.Data
		inputs = append(inputs, b)
	}
	return s, inputs, bias
}

// Conv2dInputGrad is torch.nn.grad.conv2d_input: the gradient with
// respect to x, of shape inShape (N, IC, H, W), of y = conv2d(x, w) with
// stride and padding, for the upstream gradient gy (N, OC, OH, OW). It is
// the input half of FunctionalConv2d's backward rule, bit for bit. It
// panics on inconsistent shapes.
func Conv2dInputGrad(inShape []int, w, gy *tensor.Tensor, stride, padding int) *tensor.Tensor {
	s := newConvShape(inShape, w.Shape, stride, padding)
	s.checkGrad("Conv2dInputGrad", gy)
	dx := tensor.New(inShape...)
	convBackward(s, dx.Data, nil, nil, gy.Data, nil, w.Data)
	return dx
}

// Conv2dWeightGrad is torch.nn.grad.conv2d_weight: the gradient with
// respect to w, of shape wShape (OC, IC, KH, KW), of y = conv2d(x, w) with
// stride and padding, for the upstream gradient gy (N, OC, OH, OW). It is
// the weight half of FunctionalConv2d's backward rule, bit for bit. It
// panics on inconsistent shapes.
func Conv2dWeightGrad(x *tensor.Tensor, wShape []int, gy *tensor.Tensor, stride, padding int) *tensor.Tensor {
	s := newConvShape(x.Shape, wShape, stride, padding)
	s.checkGrad("Conv2dWeightGrad", gy)
	dw := tensor.New(wShape...)
	convBackward(s, nil, dw.Data, nil, gy.Data, x.Data, nil)
	return dw
}

// checkGrad panics unless gy has the output shape of s.
func (s convShape) checkGrad(op string, gy *tensor.Tensor) {
	if want := []int{s.n, s.oc, s.oh, s.ow}; !slices.Equal(gy.Shape, want) {
		panic(fmt.Sprintf("nn: %s: upstream gradient of shape %v, want the output shape %v", op, gy.Shape, want))
	}
}

// data is t.Data, or nil for a nil tensor (a gradient nobody wants).
func data(t *tensor.Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.Data
}

// convShape is the geometry of one convolution.
type convShape struct {
	n, c, h, w  int // input (N, C, H, W)
	oc, kh, kw  int // weight (OC, C, KH, KW)
	stride, pad int
	oh, ow      int // output map
}

func newConvShape(x, w []int, stride, pad int) convShape {
	if len(x) != 4 || len(w) != 4 || x[1] != w[1] || stride <= 0 || pad < 0 {
		panic(fmt.Sprintf("nn: FunctionalConv2d: input %v, weight %v, stride %d, padding %d: want (N, C, H, W), (OC, C, KH, KW), stride > 0, padding >= 0",
			x, w, stride, pad))
	}
	s := convShape{n: x[0], c: x[1], h: x[2], w: x[3], oc: w[0], kh: w[2], kw: w[3], stride: stride, pad: pad}
	if s.h+2*pad < s.kh || s.w+2*pad < s.kw || s.kh == 0 || s.kw == 0 {
		panic(fmt.Sprintf("nn: FunctionalConv2d: kernel %dx%d larger than the padded %dx%d input", s.kh, s.kw, s.h+2*pad, s.w+2*pad))
	}
	s.oh = (s.h+2*pad-s.kh)/stride + 1
	s.ow = (s.w+2*pad-s.kw)/stride + 1
	return s
}

// depth is the GEMM depth IC·KH·KW, the number of rows of the columns.
func (s convShape) depth() int { return s.c * s.kh * s.kw }

// pixels is OH·OW, the number of columns per image.
func (s convShape) pixels() int { return s.oh * s.ow }

// inSize is the number of input values per image.
func (s convShape) inSize() int { return s.c * s.h * s.w }

// groupCols is the least number of GEMM columns worth one weight packing:
// images are processed in groups of ⌈groupCols/(OH·OW)⌉, so that on small
// maps the weights are packed once per group rather than once per image.
const groupCols = 512

// group is the number of images per GEMM.
func (s convShape) group() int { return max(1, min(s.n, (groupCols+s.pixels()-1)/s.pixels())) }

// groups is the number of image groups.
func (s convShape) groups() int { return (s.n + s.group() - 1) / s.group() }

// span returns the first image of group i and the group's size.
func (s convShape) span(i int) (n0, g int) {
	n0 = i * s.group()
	return n0, min(s.group(), s.n-n0)
}

// direct reports whether the columns of g images are the input itself
// (one image, 1×1 kernel, stride 1, no padding), so im2col can be skipped.
func (s convShape) direct(g int) bool {
	return g == 1 && s.kh == 1 && s.kw == 1 && s.stride == 1 && s.pad == 0
}

// transposed returns the geometry of the stride-1 convolution that maps
// the output gradient (N, OC, OH, OW) to the input gradient (N, C, H, W):
// kernel flipped and transposed, padding KH − 1 − pad. ok is false when
// there is none (stride > 1, a non-square kernel, or pad ≥ kernel), and
// the input gradient must be scattered back with col2im instead.
func (s convShape) transposed() (t convShape, ok bool) {
	if s.stride != 1 || s.kh != s.kw || s.pad >= s.kh {
		return t, false
	}
	t = convShape{n: s.n, c: s.oc, h: s.oh, w: s.ow, oc: s.c, kh: s.kh, kw: s.kw, stride: 1, pad: s.kh - 1 - s.pad}
	t.oh, t.ow = s.h, s.w
	return t, true
}

// flipKernel returns w (OC, C, KH, KW) as the weights (C, OC, KH, KW) of
// the transposed convolution, wt[c][o][KH−1−i][KW−1−j] = w[o][c][i][j],
// in a scratch buffer (every element written) to give back with
// putScratch: a backward pass runs it every step.
func flipKernel(s convShape, w []float32) *scratch {
	buf := getScratch(len(w))
	wt := buf.buf
	kk := s.kh * s.kw
	for o := range s.oc {
		for c := range s.c {
			src := w[(o*s.c+c)*kk : (o*s.c+c+1)*kk]
			dst := wt[(c*s.oc+o)*kk : (c*s.oc+o+1)*kk]
			for i, v := range src {
				dst[kk-1-i] = v
			}
		}
	}
	return buf
}

// convPlan says which passes of a convolution run Winograd (winograd.go)
// and with which tile, and which the direct convolution
// (conv_shifted.go); the others run im2col + GEMM. It depends on the
// shape alone, so every call of a layer takes the same path and rounds
// alike.
type convPlan struct {
	forward    *winoTile // y from x and w; nil for im2col + GEMM
	inputGrad  *winoTile // dx: the forward pass of the transposed convolution
	weightGrad *winoTile // dw
	// The passes that run neither Winograd nor im2col + GEMM but the
	// direct convolution of conv_shifted.go (planDirect).
	directForward, directInputGrad, directWeightGrad bool
}

// convAlgo overrides planConv for every convolution: "gemm" (im2col +
// GEMM throughout), "winograd" (Winograd wherever it applies, with the
// plan's tile), "winograd2" or "winograd4" (wherever it applies, F(2×2,
// 3×3) or F(4×4, 3×3) for the forward pass and the input gradient),
// "direct" (the direct convolution of conv_shifted.go throughout) or ""
// (the measured plan). It comes from the environment variable GLMC_CONV,
// read once at start-up, so that whole programs and the parity tests can
// run each algorithm; tests also set it directly.
var convAlgo = func() string {
	v := os.Getenv("GLMC_CONV")
	if v != "" && v != "gemm" && v != "winograd" && v != "winograd2" && v != "winograd4" && v != "direct" {
		panic(fmt.Sprintf("nn: GLMC_CONV=%s: want gemm, winograd, winograd2, winograd4, direct or nothing (the per-shape plan)", v))
	}
	return v
}()

// planConv chooses the algorithm of each pass of s, from per-layer
// measurements of both paths (CPU time per pass on one thread, AVX2,
// ResNet-32's layers at widths 16 and 64, batch 64). Winograd saves GEMM
// work in proportion to C·OC per tile and spends transform work in
// proportion to C + OC, so it needs enough channels on both sides: 16
// (1.3× at 16 channels, 1.45× at 32, 1.5× at 64 on 8×8 maps, 1.8–1.9× from
// 64 channels on larger maps for the forward pass and the input gradient;
// 1.5× at 16 channels on 32×32 maps for the weight gradient, whose thin
// products dU = dM·Vᵀ run on asm's dot-product tiles, 1.4× at 32 and 64
// channels on 16×16 and 8×8 maps). On maps narrower than 8 (fewer than
// four tiles per row, the narrowest SIMD transform) the transforms run
// scalar code, so there it needs 128. winoTileFor picks the tile.
func planConv(s convShape) convPlan {
	t, ok := s.transposed()
	fwd, in := winogradOK(s), ok && winogradOK(t)
	switch convAlgo {
	case "gemm":
		return convPlan{}
	case "winograd":
		return convPlan{forward: when(fwd, winoTileFor(s)), inputGrad: when(in, winoTileFor(t)), weightGrad: when(fwd, winoTileFor(s))}
	case "winograd2", "winograd4":
		tile := winoTile2
		if convAlgo == "winograd4" {
			tile = winoTile4
		}
		return convPlan{forward: when(fwd, tile), inputGrad: when(in, tile), weightGrad: when(fwd, tile)}
	case "direct":
		return convPlan{directForward: true, directInputGrad: true, directWeightGrad: true}
	}
	ch := min(s.c, s.oc)
	enough := ch >= 16 && (s.ow >= 8 || ch >= 128)
	return planDirect(s, convPlan{
		forward:    when(fwd && enough, winoTileFor(s)),
		inputGrad:  when(in && enough, winoTileFor(t)),
		weightGrad: when(fwd && enough, winoTileFor(s)),
	})
}

// planDirect returns p with the direct convolution chosen for the passes
// of s where it beats im2col + GEMM (none of them Winograd's, which needs
// stride 1; convForwardThen and convBackward try Winograd first): the input
// gradient of the 3×3 stride-2 convolutions with up to 32 input channels
// (ResNet-32's at width 16: 1.1–1.2× on 16→32 channels, 32×32 maps,
// 1.03–1.07× on 32→64, 16×16; processor time on one thread, Zen 3 AVX2,
// batches 64 and 128, BenchmarkConvAlgos), where it saves the scatter of
// col2im. It lost everywhere else: its products run 13–30% more columns
// than there are pixels (a zero row and column per phase plane and
// image), and its weight gradient sums on dot-product tiles; 0.9–1.0× for
// the forward pass and 0.7–0.9× for the weight gradient at width 16,
// 0.45–0.8× from 64 channels on, 0.3–1.0× on ResNet-50's strided 3×3
// convolutions and 0.2–0.9× on its 1×1 stride-2 ones, whose phase planes
// copy four times the data they use.
func planDirect(s convShape, p convPlan) convPlan {
	strided3 := s.stride == 2 && s.kh == 3 && s.kw == 3 && s.pad == 1
	p.directInputGrad = strided3 && s.c <= 32
	return p
}

// winoTileFor returns the Winograd tile for s: F(4×4, 3×3) where its rows
// hold at least four tiles (the SIMD transforms' group), F(2×2, 3×3)
// otherwise. Measured on ResNet-32's layers (2 threads, AVX2, batch 64,
// the best of 3 or 4 alternating runs), F(4×4) took 1.2–1.4 times less
// time than F(2×2) in each pass on 32×32 and 16×16 maps at width 16
// (16 and 32 channels) and 1.2–1.75 times less at width 64 (64 and 128
// channels), but 2.2 times more on 8×8 maps, where its rows of two tiles
// run the scalar transforms.
func winoTileFor(s convShape) *winoTile {
	if s.ow >= 16 {
		return winoTile4
	}
	return winoTile2
}

// when returns t if ok, else nil.
func when(ok bool, t *winoTile) *winoTile {
	if ok {
		return t
	}
	return nil
}

// columns returns the (depth, g·OH·OW) columns of the g images at x, built
// in buf unless they are the input itself.
func (s convShape) columns(x []float32, g int, buf *scratch) []float32 {
	if s.direct(g) {
		return x
	}
	p := s.pixels()
	for i := range g {
		im2col(s, x[i*s.inSize():(i+1)*s.inSize()], buf.buf[i*p:], g*p)
	}
	return buf.buf
}

// convForward computes y = w ⋆ x + b by groups of images: one GEMM
// w (OC, K) × columns (K, g·OH·OW) → (OC, g·OH·OW), K = IC·KH·KW, written
// straight into y for single images and scattered into y's planes
// otherwise.
//
//	y (N, OC, OH, OW), x (N, IC, H, W), w (OC, IC, KH, KW), b (OC) or nil
func convForward(s convShape, y, x, w, b []float32) { convForwardThen(s, y, x, w, b, nil) }

// convForwardThen is convForward followed by the epilogue ep of a batch
// norm over y (nil for none), which each path applies to a piece of y as
// soon as the piece is written, while it is in cache.
func convForwardThen(s convShape, y, x, w, b []float32, ep *epilogue) {
	switch plan := planConv(s); {
	case plan.forward != nil:
		winogradForwardThen(s, plan.forward, y, x, w, b, ep)
	case plan.directForward:
		groupedConvForward(s, 1, y, x, w, b, ep)
	default:
		convForwardGEMM(s, y, x, w, b, ep)
	}
}

// convForwardGEMM is convForwardThen's im2col + GEMM path; the epilogue
// follows each image group's product, plane by plane.
func convForwardGEMM(s convShape, y, x, w, b []float32, ep *epilogue) {
	k, p := s.depth(), s.pixels()
	gemm := gemmWithin(s.groups())
	parallelFor(s.groups(), func(i int) {
		n0, g := s.span(i)
		cols, out := getScratch(k*g*p), getScratch(s.oc*g*p)
		defer putScratch(cols)
		defer putScratch(out)
		gemmOut(s.oc, g, p, y[n0*s.oc*p:(n0+g)*s.oc*p], out, func(dst []float32) {
			gemm(false, false, s.oc, g*p, k, 1, w, k, s.columns(x[n0*s.inSize():], g, cols), g*p, 0, dst, g*p)
		})
		for at := n0 * s.oc * p; at < (n0+g)*s.oc*p; at += p {
			if b != nil {
				addConst(y[at:at+p], b[at/p%s.oc])
			}
			if ep != nil {
				ep.apply(y, y, at, at+p)
			}
		}
	})
}

// gemmOut runs gemm, which writes a (rows, g·P) matrix, so that the result
// lands in dst (g, rows, P): directly for one image, else through tmp and
// a scatter of its rows into dst's planes.
func gemmOut(rows, g, p int, dst []float32, tmp *scratch, gemm func(out []float32)) {
	if g == 1 {
		gemm(dst)
		return
	}
	gemm(tmp.buf)
	for r := range rows {
		for i := range g {
			copy(dst[(i*rows+r)*p:(i*rows+r+1)*p], tmp.buf[r*g*p+i*p:])
		}
	}
}

// gatherPlanes returns src (g, rows, P) as a (rows, g·P) matrix: src itself
// for one image, else a copy in buf.
func gatherPlanes(rows, g, p int, src []float32, buf *scratch) []float32 {
	if g == 1 {
		return src
	}
	for r := range rows {
		for i := range g {
			copy(buf.buf[r*g*p+i*p:r*g*p+(i+1)*p], src[(i*rows+r)*p:])
		}
	}
	return buf.buf
}

// convSlots is the number of partial weight gradients that convBackward
// sums: the image groups are divided into this many fixed blocks (fewer
// when there are fewer groups), each reduced by one goroutine, and the
// blocks are added in order, so the result does not depend on the thread
// count.
const convSlots = 8

// convBackward computes the gradients of y = w ⋆ x + b for the upstream
// gradient gy, overwriting dx, dw and db; a nil slice is not computed.
// The columns are rebuilt from x rather than kept from the forward pass.
// For stride 1, dx is the transposed convolution of gy, computed like a
// forward pass (im2col of gy and one GEMM); otherwise the column gradient
// wᵀ·gy is scattered back with col2im.
//
//	dx (N, IC, H, W), dw (OC, IC, KH, KW), db (OC), gy (N, OC, OH, OW),
//	x (N, IC, H, W), w (OC, IC, KH, KW)
func convBackward(s convShape, dx, dw, db, gy, x, w []float32) {
	plan := planConv(s)
	if dw != nil && plan.weightGrad != nil {
		winogradWeightGrad(s, plan.weightGrad, dw, gy, x)
		dw = nil
	}
	if dx != nil && plan.inputGrad != nil {
		t, _ := s.transposed()
		wt := flipKernel(s, w)
		winogradForward(t, plan.inputGrad, dx, gy, wt.buf, nil)
		putScratch(wt)
		dx = nil
	}
	if dw != nil && plan.directWeightGrad {
		groupedWeightGrad(s, 1, dw, gy, x)
		dw = nil
	}
	if dx != nil && plan.directInputGrad {
		groupedInputGrad(s, 1, dx, gy, w)
		dx = nil
	}
	if dx != nil || dw != nil {
		convBackwardGEMM(s, dx, dw, gy, x, w)
	}
	if db != nil {
		p := s.pixels()
		parallelFor(s.oc, func(o int) {
			var sum float64
			for n := range s.n {
				sum += float64(sum32(gy[(n*s.oc+o)*p : (n*s.oc+o+1)*p]))
			}
			db[o] = float32(sum)
		})
	}
}

// convBackwardGEMM is convBackward's im2col + GEMM path for dx and dw
// (either may be nil).
func convBackwardGEMM(s convShape, dx, dw, gy, x, w []float32) {
	k, p, in := s.depth(), s.pixels(), s.inSize()
	t, viaTransposed := s.transposed()
	var wt []float32
	if dx != nil && viaTransposed {
		buf := flipKernel(s, w)
		defer putScratch(buf)
		wt = buf.buf
	}
	slots := min(s.groups(), convSlots)
	partial := make([]*scratch, slots)
	gemm := gemmWithin(slots)
	parallelFor(slots, func(sl int) {
		// cols holds the columns of x and then those of gy; tmp the column
		// gradient or the transposed convolution's output.
		g0, hw := s.group(), s.h*s.w
		cols := getScratch(g0 * max(k*p, t.depth()*hw))
		gyBuf, tmp := getScratch(g0*s.oc*p), getScratch(g0*max(k*p, s.c*hw))
		defer putScratch(cols)
		defer putScratch(gyBuf)
		defer putScratch(tmp)
		if dw != nil {
			partial[sl] = getScratch(s.oc * k)
		}
		lo, hi := s.groups()*sl/slots, s.groups()*(sl+1)/slots
		for i := lo; i < hi; i++ {
			n0, g := s.span(i)
			gyn := gy[n0*s.oc*p : (n0+g)*s.oc*p]
			if dw != nil {
				// dw += gy (OC, g·P) × columnsᵀ (g·P, K)
				beta := float32(1)
				if i == lo {
					beta = 0
				}
				gemm(false, true, s.oc, k, g*p, 1, gatherPlanes(s.oc, g, p, gyn, gyBuf), g*p,
					s.columns(x[n0*in:], g, cols), g*p, beta, partial[sl].buf, k)
			}
			if dx == nil {
				continue
			}
			dxn := dx[n0*in : (n0+g)*in]
			if viaTransposed {
				// dx = wt (C, OC·KH·KW) × columns of gy, the forward pass of t.
				gemmOut(s.c, g, hw, dxn, tmp, func(dst []float32) {
					gemm(false, false, s.c, g*hw, t.depth(), 1, wt, t.depth(), t.columns(gyn, g, cols), g*hw, 0, dst, g*hw)
				})
				continue
			}
			// column gradient (K, g·P) = wᵀ (K, OC) × gy (OC, g·P), scattered back.
			gemm(true, false, k, g*p, s.oc, 1, w, k, gatherPlanes(s.oc, g, p, gyn, gyBuf), g*p, 0, tmp.buf, g*p)
			for j := range g {
				col2im(s, tmp.buf[j*p:], g*p, dxn[j*in:(j+1)*in])
			}
		}
	})
	if dw != nil && slots > 0 { // an empty batch leaves dw zero
		copy(dw, partial[0].buf)
		putScratch(partial[0])
		for _, ps := range partial[1:] {
			asm.Add(dw, dw, ps.buf)
			putScratch(ps)
		}
	}
}

// validRange returns the output positions [lo, hi) of one kernel tap whose
// input position o·stride + off lies inside [0, size), out positions in all.
func validRange(off, stride, size, out int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if size-1-off >= 0 {
		hi = min(out, (size-1-off)/stride+1)
	}
	return lo, max(lo, hi)
}

// im2col lays out the receptive fields of one image x (C, H, W) as
// columns: row (c, i, j) of cols, at cols[((c·KH+i)·KW+j)·ld:], holds for
// every output pixel (oy, ox) the input x[c][oy·stride − pad + i][ox·stride
// − pad + j], or 0 in the padding. ld ≥ OH·OW lets several images share
// one column matrix side by side.
func im2col(s convShape, x, cols []float32, ld int) {
	switch {
	case s.stride == 1 && s.ow == s.w:
		im2colSame(s, x, cols, ld)
		return
	case s.stride > 1 && (s.w+s.stride-1)/s.stride == s.ow:
		im2colPhased(s, x, cols, ld)
		return
	}
	p := s.pixels()
	for c := range s.c {
		plane := x[c*s.h*s.w : (c+1)*s.h*s.w]
		for i := range s.kh {
			ylo, yhi := validRange(i-s.pad, s.stride, s.h, s.oh)
			for j := range s.kw {
				r := (c*s.kh+i)*s.kw + j
				row := cols[r*ld : r*ld+p]
				xlo, xhi := validRange(j-s.pad, s.stride, s.w, s.ow)
				clear(row[:ylo*s.ow])
				for oy := ylo; oy < yhi; oy++ {
					dst := row[oy*s.ow : (oy+1)*s.ow]
					src := plane[(oy*s.stride-s.pad+i)*s.w:]
					clear(dst[:xlo])
					ix := xlo*s.stride - s.pad + j
					if s.stride == 1 {
						copy(dst[xlo:xhi], src[ix:])
					} else {
						for ox := xlo; ox < xhi; ox++ {
							dst[ox] = src[ix]
							ix += s.stride
						}
					}
					clear(dst[xhi:])
				}
				clear(row[yhi*s.ow:])
			}
		}
	}
}

// im2colSame is im2col for stride 1 when the output rows are as wide as
// the input rows (3×3 with padding 1, 1×1 without, ...). Then row (c, i, j)
// of the columns is the input plane shifted by (i − pad, j − pad).
func im2colSame(s convShape, x, cols []float32, ld int) {
	p, hw := s.pixels(), s.h*s.w
	for c := range s.c {
		plane := x[c*hw : (c+1)*hw]
		for i := range s.kh {
			for j := range s.kw {
				r := (c*s.kh+i)*s.kw + j
				shifted(cols[r*ld:r*ld+p], plane, s.oh, s.h, s.w, i-s.pad, j-s.pad)
			}
		}
	}
}

// im2colPhased is im2col for stride st > 1 when ⌈W/st⌉ = OW (3×3 with
// padding 1 and 1×1 without, on any map). Each input plane is split once
// into st² phase planes, phase (a, b) holding x[c][a + st·r][b + st·q]
// ((⌈H/st⌉, OW), zero past the image); input row oy·st − pad + i is row
// oy + dy of phase a, where i − pad = st·dy + a, and likewise for columns,
// so row (c, i, j) of the columns is a phase plane shifted by (dy, dx).
// The strided reads then touch each input value once instead of once per
// kernel tap.
func im2colPhased(s convShape, x, cols []float32, ld int) {
	st, p, hw := s.stride, s.pixels(), s.h*s.w
	ph := (s.h + st - 1) / st // rows of a phase plane
	pp := ph * s.ow
	buf := getScratch(st * st * pp)
	defer putScratch(buf)
	phase := func(a, b int) []float32 { return buf.buf[(a*st+b)*pp : (a*st+b+1)*pp] }
	for c := range s.c {
		plane := x[c*hw : (c+1)*hw]
		splitPhases(s, plane, ph, phase)
		for i := range s.kh {
			dy, a := floorDivMod(i-s.pad, st)
			for j := range s.kw {
				dx, b := floorDivMod(j-s.pad, st)
				r := (c*s.kh+i)*s.kw + j
				shifted(cols[r*ld:r*ld+p], phase(a, b), s.oh, ph, s.ow, dy, dx)
			}
		}
	}
}

// splitPhases writes the st² phase planes (ph, OW) of one input plane
// (H, W) of s, st = s.stride, through phase(a, b), zero past the image.
func splitPhases(s convShape, plane []float32, ph int, phase func(a, b int) []float32) {
	st := s.stride
	for r := range ph {
		for a := range st {
			y := a + st*r
			if y >= s.h {
				for b := range st {
					clear(phase(a, b)[r*s.ow : (r+1)*s.ow])
				}
				continue
			}
			src := plane[y*s.w : (y+1)*s.w]
			if st == 2 { // both column phases at once, vectorised
				even, odd := phase(a, 0)[r*s.ow:(r+1)*s.ow], phase(a, 1)[r*s.ow:(r+1)*s.ow]
				asm.Deinterleave(even[:(s.w+1)/2], odd[:s.w/2], src)
				clear(odd[s.w/2:])
				continue
			}
			for b := range st {
				out := phase(a, b)[r*s.ow : (r+1)*s.ow]
				clear(out[copyStrided(out, src[min(b, len(src)):], st):])
			}
		}
	}
}

// addShifted is the adjoint of shifted: dst[y + dy][x + dx] += src[y][x]
// for every (y, x) of src (rows, width) that lands inside dst (dstRows,
// width). It zeroes the values of src that would wrap around a row edge,
// then adds one contiguous range.
func addShifted(dst, src []float32, rows, dstRows, width, dy, dx int) {
	off := dy*width + dx
	ylo, yhi := validRange(dy, 1, dstRows, rows)
	lo, hi := max(ylo*width, -off), min(yhi*width, dstRows*width-off)
	if lo >= hi {
		return
	}
	zeroWrapped(src, ylo, yhi, width, dx)
	asm.Add(dst[lo+off:hi+off], dst[lo+off:hi+off], src[lo:hi])
}

// floorDivMod returns ⌊d/m⌋ and d − m·⌊d/m⌋ ∈ [0, m), for m > 0.
func floorDivMod(d, m int) (q, r int) {
	q = d / m
	if d%m < 0 {
		q--
	}
	return q, d - q*m
}

// shifted sets dst (rows, width) to src (srcRows, width) moved by (dy, dx):
// dst[y][x] = src[y + dy][x + dx], or 0 outside src. It makes one
// contiguous copy, then zeroes the values that wrapped around a row edge.
func shifted(dst, src []float32, rows, srcRows, width, dy, dx int) {
	off := dy*width + dx
	ylo, yhi := validRange(dy, 1, srcRows, rows)
	lo, hi := max(ylo*width, -off), min(yhi*width, srcRows*width-off)
	if lo >= hi {
		clear(dst)
		return
	}
	clear(dst[:lo])
	copy(dst[lo:hi], src[lo+off:hi+off])
	clear(dst[hi:])
	zeroWrapped(dst, ylo, yhi, width, dx)
}

// zeroWrapped zeroes, in rows [ylo, yhi) of v (rows of width values), the
// columns x whose x + dx falls outside the row: the values a contiguous
// copy shifted by dx takes from the neighbouring row. They form a few
// columns, zeroed with strided stores column by column.
func zeroWrapped(v []float32, ylo, yhi, width, dx int) {
	xlo, xhi := validRange(dx, 1, width, width)
	for x := 0; x < width; x++ {
		if x == xlo {
			if x = xhi; x == width {
				break
			}
		}
		for q := ylo*width + x; q < yhi*width; q += width {
			v[q] = 0
		}
	}
}

// col2im sets dx to the columns added back into the image they came from,
// the adjoint of im2col (same layout and ld): dx[c][oy·stride − pad +
// i][ox·stride − pad + j] is the sum of cols[(c, i, j)][(oy, ox)] over the
// taps that read it, summed in tap order. It may overwrite cols.
func col2im(s convShape, cols []float32, ld int, dx []float32) {
	if s.stride > 1 && (s.w+s.stride-1)/s.stride == s.ow {
		col2imPhased(s, cols, ld, dx)
		return
	}
	clear(dx)
	for c := range s.c {
		plane := dx[c*s.h*s.w : (c+1)*s.h*s.w]
		for i := range s.kh {
			ylo, yhi := validRange(i-s.pad, s.stride, s.h, s.oh)
			for j := range s.kw {
				r := (c*s.kh+i)*s.kw + j
				row := cols[r*ld:]
				xlo, xhi := validRange(j-s.pad, s.stride, s.w, s.ow)
				for oy := ylo; oy < yhi; oy++ {
					src := row[oy*s.ow+xlo : oy*s.ow+xhi]
					dst := plane[(oy*s.stride-s.pad+i)*s.w:]
					ix := xlo*s.stride - s.pad + j
					for _, v := range src {
						dst[ix] += v
						ix += s.stride
					}
				}
			}
		}
	}
}

// col2imPhased is col2im through the phase planes of im2colPhased: each
// row of the columns is added, shifted, into its phase plane, and the
// phase planes are then interleaved into the image.
func col2imPhased(s convShape, cols []float32, ld int, dx []float32) {
	st, p, hw := s.stride, s.pixels(), s.h*s.w
	ph := (s.h + st - 1) / st
	pp := ph * s.ow
	buf := getScratch(st * st * pp)
	defer putScratch(buf)
	phase := func(a, b int) []float32 { return buf.buf[(a*st+b)*pp : (a*st+b+1)*pp] }
	for c := range s.c {
		clear(buf.buf)
		for i := range s.kh {
			dy, a := floorDivMod(i-s.pad, st)
			for j := range s.kw {
				dx, b := floorDivMod(j-s.pad, st)
				r := (c*s.kh+i)*s.kw + j
				addShifted(phase(a, b), cols[r*ld:r*ld+p], s.oh, ph, s.ow, dy, dx)
			}
		}
		mergePhases(s, dx[c*hw:(c+1)*hw], ph, phase)
	}
}

// mergePhases is the inverse of splitPhases: it sets the plane (H, W) from
// its st² phase planes (ph, OW).
func mergePhases(s convShape, plane []float32, ph int, phase func(a, b int) []float32) {
	st := s.stride
	for r := range ph {
		for a := range st {
			y := a + st*r
			if y >= s.h {
				continue
			}
			dst := plane[y*s.w : (y+1)*s.w]
			if st == 2 {
				asm.Interleave(dst, phase(a, 0)[r*s.ow:r*s.ow+(s.w+1)/2], phase(a, 1)[r*s.ow:r*s.ow+s.w/2])
				continue
			}
			for b := range st {
				src := phase(a, b)[r*s.ow:]
				n := 0
				for xx := b; xx < s.w; xx += st {
					dst[xx] = src[n]
					n++
				}
			}
		}
	}
}

// addConst adds v to every element of x.
func addConst(x []float32, v float32) {
	for i := range x {
		x[i] += v
	}
}
