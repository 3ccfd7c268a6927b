package nn

import (
	"fmt"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// Conv2d is torch.nn.Conv2d with square stride and padding (zeros) and no
// dilation or groups: y = W ⋆ x + b.
type Conv2d struct {
	Stride, Padding int
	Weight          *autograd.Var // (OC, IC, KH, KW)
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
	return Conv2D(x, c.Weight, c.Bias, c.Stride, c.Padding)
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

// Conv2D is torch.nn.functional.conv2d(x, w, b, stride, padding): x (N, IC,
// H, W), w (OC, IC, KH, KW), b (OC) or nil, result (N, OC, OH, OW) with
// OH = (H + 2·padding − KH)/stride + 1 (floor), likewise OW. It panics on
// inconsistent shapes.
func Conv2D(x, w, b *autograd.Var, stride, padding int) *autograd.Var {
	s := newConvShape(x.Shape(), w.Shape(), stride, padding)
	inputs := []*autograd.Var{x, w}
	var bias []float32
	if b != nil {
		if b.Value.Dim() != 1 || b.Value.Shape[0] != s.oc {
			panic(fmt.Sprintf("nn: Conv2D: bias of shape %v for %d output channels", b.Shape(), s.oc))
		}
		bias = b.Value.Data
		inputs = append(inputs, b)
	}
	y := tensor.New(s.n, s.oc, s.oh, s.ow)
	convForward(s, y.Data, x.Value.Data, w.Value.Data, bias)
	return autograd.Custom("Conv2d", y, inputs, func(gy *tensor.Tensor) []*tensor.Tensor {
		var dx, dw, db *tensor.Tensor
		if x.RequiresGrad() {
			dx = tensor.New(x.Shape()...)
		}
		if w.RequiresGrad() {
			dw = tensor.New(w.Shape()...)
		}
		if b != nil && b.RequiresGrad() {
			db = tensor.New(s.oc)
		}
		convBackward(s, data(dx), data(dw), data(db), gy.Data, x.Value.Data, w.Value.Data)
		return []*tensor.Tensor{dx, dw, db}[:len(inputs)]
	})
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
		panic(fmt.Sprintf("nn: Conv2D: input %v, weight %v, stride %d, padding %d: want (N, C, H, W), (OC, C, KH, KW), stride > 0, padding >= 0",
			x, w, stride, pad))
	}
	s := convShape{n: x[0], c: x[1], h: x[2], w: x[3], oc: w[0], kh: w[2], kw: w[3], stride: stride, pad: pad}
	s.oh = (s.h+2*pad-s.kh)/stride + 1
	s.ow = (s.w+2*pad-s.kw)/stride + 1
	if s.h+2*pad < s.kh || s.w+2*pad < s.kw || s.kh == 0 || s.kw == 0 {
		panic(fmt.Sprintf("nn: Conv2D: kernel %dx%d larger than the padded %dx%d input", s.kh, s.kw, s.h+2*pad, s.w+2*pad))
	}
	return s
}

// depth is the GEMM depth IC·KH·KW, the number of rows of the columns.
func (s convShape) depth() int { return s.c * s.kh * s.kw }

// pixels is OH·OW, the number of columns per image.
func (s convShape) pixels() int { return s.oh * s.ow }

// direct reports whether the columns are the input itself (1×1, stride 1,
// no padding), so im2col and col2im can be skipped.
func (s convShape) direct() bool { return s.kh == 1 && s.kw == 1 && s.stride == 1 && s.pad == 0 }

// convForward computes y = w ⋆ x + b image by image: one GEMM
// w (OC, K) × columns (K, OH·OW) → y[n] (OC, OH·OW), K = IC·KH·KW.
//
//	y (N, OC, OH, OW), x (N, IC, H, W), w (OC, IC, KH, KW), b (OC) or nil
func convForward(s convShape, y, x, w, b []float32) {
	k, p := s.depth(), s.pixels()
	parallelFor(s.n, func(n int) {
		xn := x[n*s.c*s.h*s.w : (n+1)*s.c*s.h*s.w]
		yn := y[n*s.oc*p : (n+1)*s.oc*p]
		cols := xn
		if !s.direct() {
			sc := getScratch(k * p)
			defer putScratch(sc)
			im2col(s, xn, sc.buf)
			cols = sc.buf
		}
		asm.Sgemm(false, false, s.oc, p, k, 1, w, k, cols, p, 0, yn, p)
		if b != nil {
			for o := range s.oc {
				addConst(yn[o*p:(o+1)*p], b[o])
			}
		}
	})
}

// convSlots is the number of partial weight gradients that convBackward
// sums: images are divided into this many fixed blocks (fewer for small
// batches), each reduced by one goroutine, and the blocks are added in
// order, so the result does not depend on the thread count.
const convSlots = 8

// convBackward computes the gradients of y = w ⋆ x + b for the upstream
// gradient gy, overwriting dx, dw and db; a nil slice is not computed.
// The columns of each image are rebuilt from x.
//
//	dx (N, IC, H, W), dw (OC, IC, KH, KW), db (OC), gy (N, OC, OH, OW),
//	x (N, IC, H, W), w (OC, IC, KH, KW)
func convBackward(s convShape, dx, dw, db, gy, x, w []float32) {
	k, p, in := s.depth(), s.pixels(), s.c*s.h*s.w
	slots := max(1, min(s.n, convSlots))
	partial := make([]*scratch, slots)
	parallelFor(slots, func(sl int) {
		var cols, gcols *scratch
		if !s.direct() {
			cols, gcols = getScratch(k*p), getScratch(k*p)
			defer putScratch(cols)
			defer putScratch(gcols)
		}
		if dw != nil {
			partial[sl] = getScratch(s.oc * k)
		}
		lo, hi := s.n*sl/slots, s.n*(sl+1)/slots
		for n := lo; n < hi; n++ {
			xn, gyn := x[n*in:(n+1)*in], gy[n*s.oc*p:(n+1)*s.oc*p]
			if dw != nil {
				c := xn
				if !s.direct() {
					im2col(s, xn, cols.buf)
					c = cols.buf
				}
				// dw += gy[n] (OC, P) × columnsᵀ (P, K)
				beta := float32(1)
				if n == lo {
					beta = 0
				}
				asm.Sgemm(false, true, s.oc, k, p, 1, gyn, p, c, p, beta, partial[sl].buf, k)
			}
			if dx != nil {
				// grad columns (K, P) = wᵀ (K, OC) × gy[n] (OC, P), scattered back.
				dxn := dx[n*in : (n+1)*in]
				if s.direct() {
					asm.Sgemm(true, false, k, p, s.oc, 1, w, k, gyn, p, 0, dxn, p)
					continue
				}
				asm.Sgemm(true, false, k, p, s.oc, 1, w, k, gyn, p, 0, gcols.buf, p)
				clear(dxn)
				col2im(s, gcols.buf, dxn)
			}
		}
	})
	if dw != nil {
		copy(dw, partial[0].buf)
		putScratch(partial[0])
		for _, ps := range partial[1:] {
			asm.Add(dw, dw, ps.buf)
			putScratch(ps)
		}
	}
	if db != nil {
		parallelFor(s.oc, func(o int) {
			var sum float64
			for n := range s.n {
				sum += float64(asm.Sum(gy[(n*s.oc+o)*p : (n*s.oc+o+1)*p]))
			}
			db[o] = float32(sum)
		})
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

// im2col lays out the receptive fields of one image as columns: row
// (c, i, j) of cols (IC·KH·KW, OH·OW) holds, for every output pixel (oy,
// ox), the input x[c][oy·stride − pad + i][ox·stride − pad + j], or 0 in
// the padding.
func im2col(s convShape, x, cols []float32) {
	p := s.pixels()
	for c := range s.c {
		plane := x[c*s.h*s.w : (c+1)*s.h*s.w]
		for i := range s.kh {
			ylo, yhi := validRange(i-s.pad, s.stride, s.h, s.oh)
			for j := range s.kw {
				row := cols[((c*s.kh+i)*s.kw+j)*p : ((c*s.kh+i)*s.kw+j+1)*p]
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

// col2im adds the columns back into the image they came from, the adjoint
// of im2col: dx[c][oy·stride − pad + i][ox·stride − pad + j] += cols[(c, i,
// j)][(oy, ox)] for every position inside the image.
func col2im(s convShape, cols, dx []float32) {
	p := s.pixels()
	for c := range s.c {
		plane := dx[c*s.h*s.w : (c+1)*s.h*s.w]
		for i := range s.kh {
			ylo, yhi := validRange(i-s.pad, s.stride, s.h, s.oh)
			for j := range s.kw {
				row := cols[((c*s.kh+i)*s.kw+j)*p : ((c*s.kh+i)*s.kw+j+1)*p]
				xlo, xhi := validRange(j-s.pad, s.stride, s.w, s.ow)
				if xlo == xhi {
					continue
				}
				for oy := ylo; oy < yhi; oy++ {
					src := row[oy*s.ow+xlo : oy*s.ow+xhi]
					ix := xlo*s.stride - s.pad + j
					dst := plane[(oy*s.stride-s.pad+i)*s.w:]
					if s.stride == 1 {
						d := dst[ix : ix+len(src)]
						asm.Add(d, d, src)
					} else {
						for _, v := range src {
							dst[ix] += v
							ix += s.stride
						}
					}
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
