package nn

import (
	"fmt"

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
// Each group runs as the dense convolution of its own channels: the
// weights, bias and weight gradient of a group are contiguous slices of
// the whole ones, and only the group's input, output and their gradients
// are gathered into (or scattered from) contiguous scratch buffers, one
// copy per image and group.
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
	y := x.Arena().New(s.n, ws[0], s.oh, s.ow)
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

// groupedConvForward computes y = w ⋆ x + b group by group with
// convForward, s being the geometry of one group.
//
//	y (N, G·OC, OH, OW), x (N, G·C, H, W), w (G·OC, C, KH, KW), b (G·OC) or nil
func groupedConvForward(s convShape, groups int, y, x, w, b []float32) {
	in, out := s.inSize(), s.oc*s.pixels()
	xg, yg := getScratch(s.n*in), getScratch(s.n*out)
	defer putScratch(xg)
	defer putScratch(yg)
	for g := range groups {
		planes(s.n, in, groups, g, xg.buf, x, false)
		convForward(s, yg.buf, xg.buf, groupSlice(w, groups, g), groupSlice(b, groups, g))
		planes(s.n, out, groups, g, yg.buf, y, true)
	}
}

// groupedConvBackward overwrites the gradients dx, dw and db of
// groupedConvForward for the upstream gradient gy, group by group with
// convBackward; a nil slice is not computed.
//
//	dx (N, G·C, H, W), dw (G·OC, C, KH, KW), db (G·OC), gy (N, G·OC, OH, OW),
//	x (N, G·C, H, W), w (G·OC, C, KH, KW)
func groupedConvBackward(s convShape, groups int, dx, dw, db, gy, x, w []float32) {
	in, out := s.inSize(), s.oc*s.pixels()
	gyg := getScratch(s.n * out)
	defer putScratch(gyg)
	var xg, dxg *scratch
	if dw != nil {
		xg = getScratch(s.n * in)
		defer putScratch(xg)
	}
	if dx != nil {
		dxg = getScratch(s.n * in)
		defer putScratch(dxg)
	}
	for g := range groups {
		planes(s.n, out, groups, g, gyg.buf, gy, false)
		if xg != nil {
			planes(s.n, in, groups, g, xg.buf, x, false)
		}
		convBackward(s, bufOf(dxg), groupSlice(dw, groups, g), groupSlice(db, groups, g), gyg.buf, bufOf(xg), groupSlice(w, groups, g))
		if dxg != nil {
			planes(s.n, in, groups, g, dxg.buf, dx, true)
		}
	}
}

// planes copies the channels of group g of groups between whole, (N,
// groups·size) with size values per image and group, and part, (N, size):
// whole into part, or part into whole when scatter is set. One image's
// channels of a group are contiguous in NCHW, so it is one copy per image.
func planes(n, size, groups, g int, part, whole []float32, scatter bool) {
	parallelFor(n, func(i int) {
		p, w := part[i*size:(i+1)*size], whole[(i*groups+g)*size:(i*groups+g+1)*size]
		if scatter {
			copy(w, p)
		} else {
			copy(p, w)
		}
	})
}

// groupSlice returns the g-th of groups equal consecutive parts of v, or
// nil for a nil v.
func groupSlice(v []float32, groups, g int) []float32 {
	if v == nil {
		return nil
	}
	size := len(v) / groups
	return v[g*size : (g+1)*size]
}

// bufOf is the buffer of s, or nil for a nil s.
func bufOf(s *scratch) []float32 {
	if s == nil {
		return nil
	}
	return s.buf
}
