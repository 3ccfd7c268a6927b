package nn

import (
	"fmt"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// NewGroupedConv2d returns a Conv2d of groups groups, torch.nn.Conv2d(in,
// out, kernel, stride, padding, groups=groups, bias=bias): the in input
// and out output channels are split into groups consecutive blocks, and
// output block g sees only input block g, so the weight is (out,
// in/groups, kernel, kernel). It is initialised as PyTorch does by
// default: U(±1/√fan_in) with fan_in = (in/groups)·kernel².
func NewGroupedConv2d(rng *tensor.RNG, in, out, kernel, stride, padding, groups int, bias bool) *Conv2d {
	if groups <= 0 || in%groups != 0 || out%groups != 0 {
		panic(fmt.Sprintf("nn: NewGroupedConv2d(in=%d, out=%d, groups=%d): groups must be positive and divide both channel counts",
			in, out, groups))
	}
	c := NewConv2d(rng, in/groups, out, kernel, stride, padding, bias)
	c.Groups = groups
	return c
}

// FunctionalGroupedConv2d is torch.nn.functional.conv2d(x, w, b, stride,
// padding, groups=groups): x (N, IC, H, W), w (OC, IC/groups, KH, KW), b
// (OC) or nil, result (N, OC, OH, OW), where output channels
// [g·OC/groups, (g+1)·OC/groups) convolve input channels [g·IC/groups,
// (g+1)·IC/groups) only. groups ≤ 1 is FunctionalConv2d, bit for bit. It
// panics on inconsistent shapes.
//
// The groups run as direct convolutions (conv_shifted.go): each kernel
// tap reads the input planes in place, shifted, so nothing is gathered or
// unfolded per group; a group's weights are the A of its products.
func FunctionalGroupedConv2d(x, w, b *autograd.Var, stride, padding, groups int) *autograd.Var {
	if groups <= 1 {
		return FunctionalConv2d(x, w, b, stride, padding)
	}
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 4 || len(ws) != 4 || xs[1] != ws[1]*groups || ws[0]%groups != 0 {
		panic(fmt.Sprintf("nn: FunctionalGroupedConv2d: input %v, weight %v, groups %d: want (N, C, H, W), (OC, C/groups, KH, KW) with groups dividing OC",
			xs, ws, groups))
	}
	// s is the geometry of one group's dense convolution.
	s := newConvShape([]int{xs[0], ws[1], xs[2], xs[3]}, []int{ws[0] / groups, ws[1], ws[2], ws[3]}, stride, padding)
	inputs := []*autograd.Var{x, w}
	var bias []float32
	if b != nil {
		if b.Value.Dim() != 1 || b.Value.Shape[0] != ws[0] {
			panic(fmt.Sprintf("nn: FunctionalGroupedConv2d: bias of shape %v for %d output channels", b.Shape(), ws[0]))
		}
		bias = b.Value.Data
		inputs = append(inputs, b)
	}
	y := x.Arena().Empty(s.n, ws[0], s.oh, s.ow) // every element written
	groupedConvForward(s, groups, y.Data, x.Value.Data, w.Value.Data, bias)
	return autograd.Custom("GroupedConv2d", y, inputs, func(gy *tensor.Tensor) []*tensor.Tensor {
		var dx, dw, db *tensor.Tensor
		if x.RequiresGrad() {
			dx = x.Arena().New(xs...)
		}
		if w.RequiresGrad() {
			dw = x.Arena().New(ws...)
		}
		if b != nil && b.RequiresGrad() {
			db = x.Arena().New(ws[0])
		}
		groupedConvBackward(s, groups, data(dx), data(dw), data(db), gy.Data, x.Value.Data, w.Value.Data)
		return []*tensor.Tensor{dx, dw, db}[:len(inputs)]
	})
}

// groupedBudget bounds the floats of one group's laid-out input for a
// block of images (1 MiB, so that a group's planes stay in the L2 cache
// from their copy to their use): larger batches are processed in blocks
// of images, a number fixed by the shape. Tests lower it to run the blocks.
var groupedBudget = 1 << 18

// imageBlocks calls fn for consecutive blocks of the n images, each of
// nb = ⌊groupedBudget/perImage⌋ images (at least one) but the last.
func imageBlocks(n, perImage int, fn func(n0, nb int)) {
	nb := max(1, min(n, groupedBudget/max(1, perImage)))
	for n0 := 0; n0 < n; n0 += nb {
		fn(n0, min(nb, n-n0))
	}
}

// tap is one kernel tap (i, j) of a direct convolution and the shift of
// its window: it reads phase (a, b) at rows dy and columns dx away.
type tap struct{ i, j, a, b, dy, dx int }

// shiftRange returns the least and greatest dy and dx of taps.
func shiftRange(taps []tap) (dy, dx [2]int) {
	dy, dx = [2]int{taps[0].dy, taps[0].dy}, [2]int{taps[0].dx, taps[0].dx}
	for _, t := range taps {
		dy = [2]int{min(dy[0], t.dy), max(dy[1], t.dy)}
		dx = [2]int{min(dx[0], t.dx), max(dx[1], t.dx)}
	}
	return dy, dx
}

// forwardLayout returns the layout of nb images of x (whole channels
// groups·s.c) for the forward pass and the weight gradient of s, and the
// window offsets, in weight order (c, i, j), of the taps of one group's
// planes: output (oy, ox) reads x[st·oy + i − pad][st·ox + j − pad],
// phase (a, b) of x at (oy + dy, ox + dx) for i − pad = st·dy + a,
// j − pad = st·dx + b.
func forwardLayout(s convShape, groups, nb int) (shiftedSrc, []int) {
	taps := make([]tap, 0, s.kh*s.kw)
	for i := range s.kh {
		dy, a := floorDivMod(i-s.pad, s.stride)
		for j := range s.kw {
			dx, b := floorDivMod(j-s.pad, s.stride)
			taps = append(taps, tap{i, j, a, b, dy, dx})
		}
	}
	dy, dx := shiftRange(taps)
	l := newShiftedSrc(nb, groups*s.c, s.h, s.w, s.stride, s.oh, s.ow, dy, dx)
	off := make([]int, 0, s.depth())
	for c := range s.c {
		for _, t := range taps {
			off = append(off, l.offset(c, t.a, t.b, t.dy, t.dx))
		}
	}
	return l, off
}

// groupedConvForward computes y = w ⋆ x + b: for each group g, the product
// of its weights (OC, C·KH·KW) with the taps' windows of its channels,
// laid out just before. The groups are divided among the goroutines.
//
//	y (N, G·OC, OH, OW), x (N, G·C, H, W), w (G·OC, C, KH, KW), b (G·OC) or nil
func groupedConvForward(s convShape, groups int, y, x, w, b []float32) {
	one, _ := forwardLayout(s, groups, 1)
	in, k := groups*s.inSize(), s.depth()
	imageBlocks(s.n, one.groupPlanes(s.c)*one.rows*one.pitch, func(n0, nb int) {
		l, off := forwardLayout(s, groups, nb)
		out := shiftedOut{l: l, c: groups * s.oc, h: s.oh, w: s.ow, st: 1}
		xb := x[n0*in : (n0+nb)*in]
		parallelFor(groups, func(g int) {
			buf := getScratch(l.groupPlanes(s.c) * l.plane)
			defer putScratch(buf)
			l.fill(buf.buf, xb, g*s.c, s.c)
			ps := []shiftedProduct{{a: w[g*s.oc*k:], lda: k, off: off}}
			shiftedProducts(s.oc, ps, buf.buf, l.cols(), func(r, q0 int, c [][]float32) {
				var bias float32
				if b != nil {
					bias = b[g*s.oc+r]
				}
				out.store(y, n0, g*s.oc+r, q0, c, bias)
			})
		})
	})
}

// groupedConvBackward overwrites the gradients dx, dw and db of
// groupedConvForward for the upstream gradient gy; a nil slice is not
// computed.
//
//	dx (N, G·C, H, W), dw (G·OC, C, KH, KW), db (G·OC), gy (N, G·OC, OH, OW),
//	x (N, G·C, H, W), w (G·OC, C, KH, KW)
func groupedConvBackward(s convShape, groups int, dx, dw, db, gy, x, w []float32) {
	if db != nil {
		// The bias gradient does not see the groups: that of the dense
		// convolution with all channels.
		whole := newConvShape([]int{s.n, groups * s.c, s.h, s.w}, []int{groups * s.oc, groups * s.c, s.kh, s.kw}, s.stride, s.pad)
		convBackward(whole, nil, nil, db, gy, nil, nil)
	}
	if dw != nil {
		groupedWeightGrad(s, groups, dw, gy, x)
	}
	if dx != nil {
		groupedInputGrad(s, groups, dx, gy, w)
	}
}

// groupedWeightGrad overwrites dw with the sum over images and pixels of
// gy times the taps' windows of x: per group, asm.SgemmShiftedGrad of gy
// laid out in the forward pass's column space (zero in the dropped
// columns) with the windows, summed column block by column block and
// image block by image block in a fixed order. The groups are divided
// among the goroutines.
//
//	dw (G·OC, C, KH, KW), gy (N, G·OC, OH, OW), x (N, G·C, H, W)
func groupedWeightGrad(s convShape, groups int, dw, gy, x []float32) {
	clear(dw)
	one, _ := forwardLayout(s, groups, 1)
	in, out, k := groups*s.inSize(), groups*s.oc*s.pixels(), s.depth()
	imageBlocks(s.n, (one.groupPlanes(s.c)+s.oc)*one.rows*one.pitch, func(n0, nb int) {
		l, off := forwardLayout(s, groups, nb)
		gl := shiftedSrc{n: nb, c: groups * s.oc, h: s.oh, w: s.ow, st: 1, rows: l.rows, pitch: l.pitch, plane: l.cols()}
		xb, gyb := x[n0*in:(n0+nb)*in], gy[n0*out:(n0+nb)*out]
		parallelFor(groups, func(g int) {
			buf, gbuf := getScratch(l.groupPlanes(s.c)*l.plane), getScratch(s.oc*gl.plane)
			defer putScratch(buf)
			defer putScratch(gbuf)
			l.fill(buf.buf, xb, g*s.c, s.c)
			gl.fill(gbuf.buf, gyb, g*s.oc, s.oc)
			for q0 := 0; q0 < l.cols(); q0 += shiftedCols {
				asm.SgemmShiftedGrad(s.oc, min(shiftedCols, l.cols()-q0), gbuf.buf[q0:], gl.plane, buf.buf[q0:], off, dw[g*s.oc*k:], k)
			}
		})
	})
}

// groupedInputGrad overwrites dx with the transposed convolution of gy:
// dx[st·yy + a][st·xx + b], phase (a, b) of dx, sums over the taps (i, j)
// with i ≡ a + pad and j ≡ b + pad (mod st) the weight times gy at (yy +
// dy, xx + dx), dy = (a + pad − i)/st, dx = (b + pad − j)/st. Each phase
// of each group is one product of the group's weights, transposed and
// gathered for the phase's taps (C, OC·taps), with the windows of gy.
// The groups are divided among the goroutines.
//
//	dx (N, G·C, H, W), gy (N, G·OC, OH, OW), w (G·OC, C, KH, KW)
func groupedInputGrad(s convShape, groups int, dx, gy, w []float32) {
	st := s.stride
	phases := make([][]tap, st*st)
	var all []tap
	for a := range st {
		for b := range st {
			for i := range s.kh {
				dy, ra := floorDivMod(a+s.pad-i, st)
				for j := range s.kw {
					if dx, rb := floorDivMod(b+s.pad-j, st); ra == 0 && rb == 0 {
						phases[a*st+b] = append(phases[a*st+b], tap{i, j, a, b, dy, dx})
					}
				}
			}
			all = append(all, phases[a*st+b]...)
		}
	}
	if len(all) == 0 { // every tap reads padding only: no gradient reaches x
		clear(dx)
		return
	}
	dyr, dxr := shiftRange(all)
	outH, outW := (s.h+st-1)/st, (s.w+st-1)/st
	layout := func(nb int) shiftedSrc { return newShiftedSrc(nb, groups*s.oc, s.oh, s.ow, 1, outH, outW, dyr, dxr) }
	kk := s.kh * s.kw
	out := groups * s.oc * s.pixels()
	one := layout(1)
	imageBlocks(s.n, s.oc*one.rows*one.pitch, func(n0, nb int) {
		l := layout(nb)
		gyb := gy[n0*out : (n0+nb)*out]
		parallelFor(groups, func(g int) {
			buf := getScratch(s.oc * l.plane)
			defer putScratch(buf)
			l.fill(buf.buf, gyb, g*s.oc, s.oc)
			// wt (C, OC·KH·KW): the group's weights transposed, phase
			// after phase, in each the taps of one channel together (their
			// windows are near each other).
			wt := getScratch(s.c * s.oc * kk)
			defer putScratch(wt)
			for c := range s.c {
				row := wt.buf[c*s.oc*kk : (c+1)*s.oc*kk]
				for _, taps := range phases {
					for o := range s.oc {
						for _, t := range taps {
							row[0] = w[((g*s.oc+o)*s.c+c)*kk+t.i*s.kw+t.j]
							row = row[1:]
						}
					}
				}
			}
			ps := make([]shiftedProduct, len(phases))
			first := 0 // of the phase's taps in wt's rows
			for ph, taps := range phases {
				off := make([]int, 0, s.oc*len(taps))
				for oc := range s.oc {
					for _, t := range taps {
						off = append(off, l.offset(oc, 0, 0, t.dy, t.dx))
					}
				}
				ps[ph] = shiftedProduct{a: wt.buf[first:], lda: s.oc * kk, off: off}
				first += len(off)
			}
			o := shiftedOut{l: l, c: groups * s.c, h: s.h, w: s.w, st: st}
			shiftedProducts(s.c, ps, buf.buf, l.cols(), func(r, q0 int, c [][]float32) {
				o.store(dx, n0, g*s.c+r, q0, c, 0)
			})
		})
	})
}
