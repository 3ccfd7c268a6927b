package autograd

import "github.com/glmc/glmc/tensor"

// Sum returns the sum of all elements as a scalar (0-D) Var.
func Sum(v *Var) *Var { return SumAxes(v, false) }

// Mean returns the mean of all elements as a scalar (0-D) Var.
func Mean(v *Var) *Var { return MeanAxes(v, false) }

// SumAxes sums v over the given axes (negative axes count from the end; no
// axes means all), keeping them as extent 1 when keepdim is set.
func SumAxes(v *Var, keepdim bool, axes ...int) *Var {
	return Custom("SumAxes", tensor.SumAxes(v.Value, keepdim, axes...), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(spread(g, v, axes))
	})
}

// MeanAxes averages v over the given axes, as SumAxes sums.
func MeanAxes(v *Var, keepdim bool, axes ...int) *Var {
	out := tensor.MeanAxes(v.Value, keepdim, axes...)
	n := float32(v.Value.Numel() / max(out.Numel(), 1)) // elements per mean
	return Custom("MeanAxes", out, []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		dx := spread(g, v, axes)
		return grads(tensor.MapInto(dx, dx, func(x float32) float32 { return x / n }))
	})
}

// MaxAxes takes the maximum of v over the given axes, as SumAxes sums. The
// gradient is shared evenly by the elements that tie for the maximum, as
// torch.amax does.
func MaxAxes(v *Var, keepdim bool, axes ...int) *Var {
	out := tensor.MaxAxes(v.Value, keepdim, axes...)
	return Custom("MaxAxes", out, []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		keep := tensor.ReducedShape(v.Value.Shape, true, axes...)
		m := out.Reshape(keep...)
		hit := tensor.Map2(v.Value, m, func(x, mx float32) float32 { return step(x == mx) })
		ties := tensor.SumAxes(hit, true, axes...)
		share := tensor.Div(g.Reshape(keep...), ties) // the gradient of each winner
		return grads(tensor.Mul(hit, share))
	})
}

// spread broadcasts the gradient g of a reduction of v over axes back to
// v's shape.
func spread(g *tensor.Tensor, v *Var, axes []int) *tensor.Tensor {
	keep := tensor.ReducedShape(v.Value.Shape, true, axes...)
	return tensor.BroadcastTo(g.Reshape(keep...), v.Value.Shape...)
}
