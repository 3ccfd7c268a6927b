package nn

import (
	"fmt"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// ReLU is torch.nn.ReLU: max(x, 0), with gradient 0 at x = 0 as in PyTorch.
type ReLU struct{}

// Forward applies max(x, 0) to every element of x (any shape).
func (ReLU) Forward(x *autograd.Var) *autograd.Var {
	y := x.Arena().Empty(x.Shape()...)
	asm.Relu(y.Data, x.Value.Data)
	return autograd.Custom("ReLU", y, []*autograd.Var{x}, func(gy *tensor.Tensor) []*tensor.Tensor {
		dx := x.Arena().Empty(x.Shape()...)
		parallelRuns(len(dx.Data), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dx.Data[i] = passIfPositive(gy.Data[i], y.Data[i])
			}
		})
		return []*tensor.Tensor{dx}
	})
}

// Train does nothing: ReLU has no mode.
func (ReLU) Train(bool) {}

// Visit visits nothing: ReLU has no state.
func (ReLU) Visit(string, func(Entry)) {}

// Parameters returns nil: ReLU has no parameters.
func (ReLU) Parameters() []*autograd.Var { return nil }

// parallelRuns splits [0, n) into fixed runs of runLen elements and calls
// fn(lo, hi) for them on parallel goroutines: the element-wise passes that
// are not per channel.
func parallelRuns(n int, fn func(lo, hi int)) {
	const runLen = 1 << 14
	parallelFor((n+runLen-1)/runLen, func(i int) { fn(i*runLen, min(n, (i+1)*runLen)) })
}

// GlobalAvgPool averages every channel plane: (N, C, H, W) → (N, C). It is
// both the official ResNet_modify's F.avg_pool2d(x, x.size(3)) (on its
// square maps) and the ResNet class's AdaptiveAvgPool2d(1) plus flatten.
type GlobalAvgPool struct{}

// Forward pools x (N, C, H, W) into (N, C).
func (GlobalAvgPool) Forward(x *autograd.Var) *autograd.Var {
	sh := x.Shape()
	if len(sh) != 4 {
		panic(fmt.Sprintf("nn: GlobalAvgPool of shape %v, want (N, C, H, W)", sh))
	}
	planes, hw := sh[0]*sh[1], sh[2]*sh[3]
	y := x.Arena().Empty(sh[0], sh[1])
	for i := range planes {
		y.Data[i] = sum32(x.Value.Data[i*hw:(i+1)*hw]) / float32(hw)
	}
	return autograd.Custom("GlobalAvgPool", y, []*autograd.Var{x}, func(gy *tensor.Tensor) []*tensor.Tensor {
		dx := x.Arena().Empty(sh...)
		for i, g := range gy.Data {
			v := g / float32(hw)
			p := dx.Data[i*hw : (i+1)*hw]
			for j := range p {
				p[j] = v
			}
		}
		return []*tensor.Tensor{dx}
	})
}

// Train does nothing: pooling has no mode.
func (GlobalAvgPool) Train(bool) {}

// Visit visits nothing: pooling has no state.
func (GlobalAvgPool) Visit(string, func(Entry)) {}

// Parameters returns nil: pooling has no parameters.
func (GlobalAvgPool) Parameters() []*autograd.Var { return nil }

// Linear is torch.nn.Linear: y = x·Wᵀ + b.
type Linear struct {
	Weight *autograd.Var // (out, in)
	Bias   *autograd.Var // (out)
}

// NewLinear returns a Linear layer initialised as PyTorch does by default:
// weight and bias uniform in ±1/√in, drawn from rng (weight first).
func NewLinear(rng *tensor.RNG, in, out int) *Linear {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("nn: NewLinear(in=%d, out=%d): sizes must be positive", in, out))
	}
	l := &Linear{Weight: autograd.Param(tensor.New(out, in)), Bias: autograd.Param(tensor.New(out))}
	uniformFanIn(rng, l.Weight.Value, in)
	uniformFanIn(rng, l.Bias.Value, in)
	return l
}

// Forward maps x (N, in) to (N, out).
func (l *Linear) Forward(x *autograd.Var) *autograd.Var {
	w, b := l.Weight.Value, l.Bias.Value
	out, in := w.Shape[0], w.Shape[1]
	if x.Value.Dim() != 2 || x.Shape()[1] != in {
		panic(fmt.Sprintf("nn: Linear(%d → %d) applied to shape %v, want (N, %d)", in, out, x.Shape(), in))
	}
	n := x.Shape()[0]
	y := x.Arena().Empty(n, out)
	linearForward(n, in, out, y.Data, x.Value.Data, w.Data, b.Data)
	return autograd.Custom("Linear", y, []*autograd.Var{x, l.Weight, l.Bias}, func(gy *tensor.Tensor) []*tensor.Tensor {
		var dx, dw, db *tensor.Tensor
		if x.RequiresGrad() {
			dx = x.Arena().Empty(n, in)
		}
		if l.Weight.RequiresGrad() {
			dw = x.Arena().Empty(out, in)
		}
		if l.Bias.RequiresGrad() {
			db = x.Arena().New(out)
		}
		linearBackward(n, in, out, data(dx), data(dw), data(db), gy.Data, x.Value.Data, w.Data)
		return []*tensor.Tensor{dx, dw, db}
	})
}

// linearForward computes y = x·wᵀ + b.
//
//	y (N, out), x (N, in), w (out, in), b (out)
func linearForward(n, in, out int, y, x, w, b []float32) {
	asm.Sgemm(false, true, n, out, in, 1, x, in, w, in, 0, y, out)
	for i := range n {
		asm.Add(y[i*out:(i+1)*out], y[i*out:(i+1)*out], b)
	}
}

// linearBackward overwrites dx = gy·w, dw = gyᵀ·x and db = Σ_n gy (the sums
// over the batch in row order); a nil slice is skipped.
//
//	dx (N, in), dw (out, in), db (out), gy (N, out), x (N, in), w (out, in)
func linearBackward(n, in, out int, dx, dw, db, gy, x, w []float32) {
	if dx != nil {
		asm.Sgemm(false, false, n, in, out, 1, gy, out, w, in, 0, dx, in)
	}
	if dw != nil {
		asm.Sgemm(true, false, out, in, n, 1, gy, out, x, in, 0, dw, in)
	}
	if db != nil {
		for i := range n {
			asm.Add(db, db, gy[i*out:(i+1)*out])
		}
	}
}

// Train does nothing: Linear has no mode.
func (l *Linear) Train(bool) {}

// Visit visits "weight" and "bias".
func (l *Linear) Visit(prefix string, fn func(Entry)) {
	fn(Entry{Name: prefix + "weight", Param: l.Weight})
	fn(Entry{Name: prefix + "bias", Param: l.Bias})
}

// Parameters returns the weight and the bias.
func (l *Linear) Parameters() []*autograd.Var { return parameters(l) }

// ShortcutA is the parameter-free option-A shortcut of the official
// ResNet_modify: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, Pad, Pad)), every
// second row and column of x with Pad zero channels added on each side.
// The official code uses Pad = planes/4, doubling the channels.
type ShortcutA struct{ Pad int }

// Forward maps x (N, C, H, W) to (N, C + 2·Pad, ⌈H/2⌉, ⌈W/2⌉).
func (s ShortcutA) Forward(x *autograd.Var) *autograd.Var {
	sh := x.Shape()
	if len(sh) != 4 || s.Pad < 0 {
		panic(fmt.Sprintf("nn: ShortcutA(pad %d) of shape %v, want (N, C, H, W)", s.Pad, sh))
	}
	n, c, h, w := sh[0], sh[1], sh[2], sh[3]
	oc, oh, ow := c+2*s.Pad, (h+1)/2, (w+1)/2
	// pairs calls fn with the output plane of every real channel and the
	// input plane it samples, image by image on parallel goroutines; the
	// padding planes stay zero.
	pairs := func(out, in []float32, fn func(o, i []float32)) {
		parallelFor(n, func(i int) {
			for ch := range c {
				fn(out[(i*oc+s.Pad+ch)*oh*ow:][:oh*ow], in[(i*c+ch)*h*w:][:h*w])
			}
		})
	}
	y := x.Arena().New(n, oc, oh, ow)
	pairs(y.Data, x.Value.Data, func(o, in []float32) {
		odd := getScratch(w / 2) // the odd columns, dropped
		defer putScratch(odd)
		for r := range oh {
			asm.Deinterleave(o[r*ow:(r+1)*ow], odd.buf, in[2*r*w:(2*r+1)*w])
		}
	})
	return autograd.Custom("ShortcutA", y, []*autograd.Var{x}, func(gy *tensor.Tensor) []*tensor.Tensor {
		dx := x.Arena().New(sh...)
		pairs(gy.Data, dx.Data, func(g, d []float32) {
			for r := range oh {
				for q := range ow {
					d[2*r*w+2*q] = g[r*ow+q]
				}
			}
		})
		return []*tensor.Tensor{dx}
	})
}

// Train does nothing: the shortcut has no mode.
func (ShortcutA) Train(bool) {}

// Visit visits nothing: the shortcut has no state.
func (ShortcutA) Visit(string, func(Entry)) {}

// Parameters returns nil: the shortcut has no parameters.
func (ShortcutA) Parameters() []*autograd.Var { return nil }

// NewShortcutB returns the option-B shortcut of the official ResNet class:
// Sequential(Conv2d(in, out, 1, stride, bias=False), BatchNorm2d(out)),
// state-dict names "0.weight", "1.weight", "1.running_mean", ...
func NewShortcutB(rng *tensor.RNG, in, out, stride int) *Sequential {
	return NewSequential(NewConv2d(rng, in, out, 1, stride, 0, false), NewBatchNorm2d(out))
}
