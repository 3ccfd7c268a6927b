package autograd

import (
	"fmt"
	"slices"

	"github.com/glmc/glmc/tensor"
)

// Reshape returns v with a new shape of the same size (one extent may be
// -1); the value shares v's storage.
func Reshape(v *Var, shape ...int) *Var {
	return Custom("Reshape", v.Value.Reshape(shape...), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(g.Reshape(v.Value.Shape...))
	})
}

// BroadcastTo repeats v along broadcast dimensions to the given shape.
func BroadcastTo(v *Var, shape ...int) *Var {
	return Custom("BroadcastTo", tensor.BroadcastTo(v.Value, shape...), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(sumTo(g, v))
	})
}

// Permute reorders v's dimensions: dimension i of the result is dimension
// perm[i] of v.
func Permute(v *Var, perm ...int) *Var {
	return Custom("Permute", tensor.Permute(v.Value, perm...), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.Permute(g, tensor.InversePerm(perm)...))
	})
}

// Transpose swaps dimensions a and b of v.
func Transpose(v *Var, a, b int) *Var {
	return Custom("Transpose", tensor.Transpose(v.Value, a, b), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.Transpose(g, a, b))
	})
}

// Crop returns the box of v at start with extents size.
func Crop(v *Var, start, size []int) *Var {
	return Custom("Crop", tensor.Crop(v.Value, start, size), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		pads := make([][2]int, len(start))
		for i, d := range v.Value.Shape {
			pads[i] = [2]int{start[i], d - start[i] - size[i]}
		}
		return grads(tensor.Pad(g, pads))
	})
}

// Narrow returns elements start..start+length-1 of v along axis.
func Narrow(v *Var, axis, start, length int) *Var {
	axis = normAxis(axis, v.Value.Dim())
	at := make([]int, v.Value.Dim())
	size := slices.Clone(v.Value.Shape)
	at[axis], size[axis] = start, length
	return Crop(v, at, size)
}

// Pad surrounds v with zeros: pads[i] = {before, after} for dimension i.
func Pad(v *Var, pads [][2]int) *Var {
	return Custom("Pad", tensor.Pad(v.Value, pads), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		at := make([]int, len(pads))
		for i, p := range pads {
			at[i] = p[0]
		}
		return grads(tensor.Crop(g, at, v.Value.Shape))
	})
}

// Concat joins vs along axis.
func Concat(axis int, vs ...*Var) *Var {
	vals := make([]*tensor.Tensor, len(vs))
	for i, v := range vs {
		vals[i] = v.Value
	}
	out := tensor.Concat(axis, vals...)
	axis = normAxis(axis, out.Dim())
	return Custom("Concat", out, vs, func(g *tensor.Tensor) []*tensor.Tensor {
		gs := make([]*tensor.Tensor, len(vs))
		at := 0
		for i, v := range vs {
			n := v.Value.Shape[axis]
			if v.requiresGrad {
				gs[i] = tensor.Narrow(g, axis, at, n)
			}
			at += n
		}
		return gs
	})
}

// Stack joins Vars of one shape along a new axis.
func Stack(axis int, vs ...*Var) *Var {
	if len(vs) == 0 {
		panic("autograd: Stack: no Vars")
	}
	axis = normAxis(axis, vs[0].Value.Dim()+1)
	us := make([]*Var, len(vs))
	for i, v := range vs {
		us[i] = Reshape(v, slices.Insert(slices.Clone(v.Value.Shape), axis, 1)...)
	}
	return Concat(axis, us...)
}

// IndexSelect returns the entries idx of v along axis; repeated indices
// accumulate their gradients.
func IndexSelect(v *Var, axis int, idx []int) *Var {
	return Custom("IndexSelect", tensor.IndexSelect(v.Value, axis, idx), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		dx := tensor.ZerosLike(v.Value)
		tensor.IndexAdd(dx, axis, idx, g)
		return grads(dx)
	})
}

// normAxis maps a possibly negative axis (counted from the end) into
// [0, dim).
func normAxis(axis, dim int) int {
	if axis < -dim || axis >= dim {
		panic(fmt.Sprintf("autograd: axis %d out of range for %d dimensions", axis, dim))
	}
	if axis < 0 {
		return axis + dim
	}
	return axis
}
