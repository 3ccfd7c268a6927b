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
	groupedConvForward(s, groups, y.Data, x.Value.Data, w.Value.Data, bias, nil)
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
// block of images (128 KiB, a quarter of a 512 KiB L2 cache, so that the
// planes stay in L2 from their copy to their use; twice and eight times
// that were 5–25% slower on ResNet-32's strided layers, one thread, Zen 3):
// larger batches are processed in blocks of images, a number fixed by the
// shape. Tests lower it to run the blocks.
var groupedBudget = 1 << 15

// minUnits is the least number of (image block, group) pairs of a batch
// of at least as many images: they are what the goroutines share, and
// a multiple of 8 of them keeps 2, 4 or 8 goroutines evenly busy, also
// with one group (a dense convolution).
const minUnits = 8

// blockImages returns the number of images of a block of a batch of n
// images of perImage floats each, for groups groups: about ⌊groupedBudget
// / perImage⌋ (at least one), fewer where that makes the number of
// blocks a multiple of ⌈minUnits/groups⌉. It depends on the shape only,
// never on the number of threads, so neither do the sums that follow the
// blocks.
func blockImages(n, groups, perImage int) int {
	nb := max(1, groupedBudget/max(1, perImage))
	per := (minUnits + groups - 1) / groups
	blocks := max(per, ((n+nb-1)/nb+per-1)/per*per)
	return max(1, (n+blocks-1)/blocks)
}

// forBlocks calls fn(n0, nb, g) for every block of the n images, nb
// images from n0 (full of them but in the last block), and every group g
// of groups, on parallel goroutines. Each call must write only the
// outputs of its images and group.
func forBlocks(n, full, groups int, fn func(n0, nb, g int)) {
	blocks := (n + full - 1) / full
	parallelFor(blocks*groups, func(i int) {
		n0 := i / groups * full
		fn(n0, min(full, n-n0), i%groups)
	})
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

// groupedConvForward computes y = w ⋆ x + b, followed by the epilogue ep
// of a batch norm over y (nil for none): for each group g and block of
// images, the product of the group's weights (OC, C·KH·KW) with the taps'
// windows of its channels, laid out just before; the epilogue follows on
// the block's planes, while they are in cache. The blocks and groups are
// divided among the goroutines.
//
//	y (N, G·OC, OH, OW), x (N, G·C, H, W), w (G·OC, C, KH, KW), b (G·OC) or nil
func groupedConvForward(s convShape, groups int, y, x, w, b []float32, ep *epilogue) {
	one, _ := forwardLayout(s, groups, 1)
	full, off := forwardLayout(s, groups, blockImages(s.n, groups, one.groupPlanes(s.c)*one.rows*one.pitch))
	in, k, p := groups*s.inSize(), s.depth(), s.pixels()
	forBlocks(s.n, full.n, groups, func(n0, nb, g int) {
		l := full.images(nb)
		buf := getScratch(l.groupPlanes(s.c) * l.plane)
		defer putScratch(buf)
		l.fill(buf.buf, x[n0*in:(n0+nb)*in], g*s.c, s.c)
		var bias []float32
		if b != nil {
			bias = b[g*s.oc : (g+1)*s.oc]
		}
		ps := [1]shiftedProduct{{a: w[g*s.oc*k:], lda: k, off: off}}
		out := shiftedOut{l: l, c: groups * s.oc, h: s.oh, w: s.ow, st: 1}
		shiftedProducts(s.oc, ps[:], buf.buf, out, y, n0, g*s.oc, bias)
		if ep == nil {
			return
		}
		for n := n0; n < n0+nb; n++ {
			for at := (n*groups + g) * s.oc * p; at < (n*groups+g+1)*s.oc*p; at += p {
				ep.apply(y, y, at, at+p)
			}
		}
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
// columns) with the windows. The image blocks are divided into at most
// convSlots fixed runs, each summed column block by column block and
// image block by image block into its own partial gradient by one
// goroutine per group, and the partial gradients are added in order, so
// the result does not depend on the number of threads.
//
//	dw (G·OC, C, KH, KW), gy (N, G·OC, OH, OW), x (N, G·C, H, W)
func groupedWeightGrad(s convShape, groups int, dw, gy, x []float32) {
	one, _ := forwardLayout(s, groups, 1)
	nb := blockImages(s.n, groups, (one.groupPlanes(s.c)+s.oc)*one.rows*one.pitch)
	full, off := forwardLayout(s, groups, nb)
	fullGy := shiftedSrc{n: nb, c: groups * s.oc, h: s.oh, w: s.ow, st: 1, rows: full.rows, pitch: full.pitch, plane: full.cols()}
	blocks := (s.n + nb - 1) / nb
	slots := min(blocks, convSlots)
	if slots == 0 { // an empty batch
		clear(dw)
		return
	}
	partial := getScratch(slots * len(dw))
	defer putScratch(partial)
	clear(partial.buf)
	in, out, k := groups*s.inSize(), groups*s.oc*s.pixels(), s.depth()
	parallelFor(slots*groups, func(i int) {
		sl, g := i/groups, i%groups
		buf, gbuf := getScratch(full.groupPlanes(s.c)*full.plane), getScratch(s.oc*fullGy.plane)
		defer putScratch(buf)
		defer putScratch(gbuf)
		c := partial.buf[sl*len(dw)+g*s.oc*k:]
		for blk := blocks * sl / slots; blk < blocks*(sl+1)/slots; blk++ {
			n0 := blk * nb
			m := min(nb, s.n-n0)
			l, gl := full.images(m), fullGy.images(m)
			l.fill(buf.buf, x[n0*in:(n0+m)*in], g*s.c, s.c)
			gl.fill(gbuf.buf, gy[n0*out:(n0+m)*out], g*s.oc, s.oc)
			for q0 := 0; q0 < l.cols(); q0 += shiftedCols {
				asm.SgemmShiftedGrad(s.oc, min(shiftedCols, l.cols()-q0), gbuf.buf[q0:], gl.plane, buf.buf[q0:], off, c, k)
			}
		}
	})
	copy(dw, partial.buf)
	for sl := 1; sl < slots; sl++ {
		asm.Add(dw, dw, partial.buf[sl*len(dw):(sl+1)*len(dw)])
	}
}

// groupedInputGrad overwrites dx with the transposed convolution of gy:
// dx[st·yy + a][st·xx + b], phase (a, b) of dx, sums over the taps (i, j)
// with i ≡ a + pad and j ≡ b + pad (mod st) the weight times gy at (yy +
// dy, xx + dx), dy = (a + pad − i)/st, dx = (b + pad − j)/st. Each phase
// of each group and block of images is one product of the group's
// weights, transposed and gathered for the phase's taps (C, OC·taps), with
// the windows of gy. The blocks and groups are divided among the
// goroutines.
//
//	dx (N, G·C, H, W), gy (N, G·OC, OH, OW), w (G·OC, C, KH, KW)
func groupedInputGrad(s convShape, groups int, dx, gy, w []float32) {
	st := s.stride
	phases := make([][]tap, st*st) // slices of all
	all := make([]tap, 0, s.kh*s.kw)
	for a := range st {
		for b := range st {
			first := len(all)
			for i := range s.kh {
				dy, ra := floorDivMod(a+s.pad-i, st)
				for j := range s.kw {
					if dx, rb := floorDivMod(b+s.pad-j, st); ra == 0 && rb == 0 {
						all = append(all, tap{i, j, a, b, dy, dx})
					}
				}
			}
			phases[a*st+b] = all[first:len(all):len(all)]
		}
	}
	if len(all) == 0 { // every tap reads padding only: no gradient reaches x
		clear(dx)
		return
	}
	dyr, dxr := shiftRange(all)
	outH, outW := (s.h+st-1)/st, (s.w+st-1)/st
	layout := func(nb int) shiftedSrc { return newShiftedSrc(nb, groups*s.oc, s.oh, s.ow, 1, outH, outW, dyr, dxr) }
	one := layout(1)
	full := layout(blockImages(s.n, groups, s.oc*one.rows*one.pitch))
	// wt (G, C, OC·KH·KW): each group's weights transposed, phase after
	// phase, in each the taps of one channel together (their windows are
	// near each other); off: each phase's window offsets.
	kk := s.kh * s.kw
	wt := getScratch(len(w))
	defer putScratch(wt)
	row := wt.buf
	for g := range groups {
		for c := range s.c {
			for _, taps := range phases {
				for o := range s.oc {
					for _, t := range taps {
						row[0] = w[((g*s.oc+o)*s.c+c)*kk+t.i*s.kw+t.j]
						row = row[1:]
					}
				}
			}
		}
	}
	off := make([][]int, len(phases)) // slices of offs
	offs := make([]int, 0, s.oc*len(all))
	for ph, taps := range phases {
		first := len(offs)
		for oc := range s.oc {
			for _, t := range taps {
				offs = append(offs, full.offset(oc, 0, 0, t.dy, t.dx))
			}
		}
		off[ph] = offs[first:len(offs):len(offs)]
	}
	// ps: the products of each group, phase after phase.
	ps := make([]shiftedProduct, 0, groups*len(phases))
	for g := range groups {
		first := g * s.c * s.oc * kk // of the phase's taps in wt's rows
		for ph := range phases {
			ps = append(ps, shiftedProduct{a: wt.buf[first:], lda: s.oc * kk, off: off[ph]})
			first += len(off[ph])
		}
	}
	out := groups * s.oc * s.pixels()
	forBlocks(s.n, full.n, groups, func(n0, nb, g int) {
		l := full.images(nb)
		buf := getScratch(s.oc * l.plane)
		defer putScratch(buf)
		l.fill(buf.buf, gy[n0*out:(n0+nb)*out], g*s.oc, s.oc)
		o := shiftedOut{l: l, c: groups * s.c, h: s.h, w: s.w, st: st}
		shiftedProducts(s.c, ps[g*len(phases):(g+1)*len(phases)], buf.buf, o, dx, n0, g*s.c, nil)
	})
}
