package tensor

import (
	"fmt"
	"slices"
)

// BroadcastShapes returns the shape that tensors of shapes a and b broadcast
// to under NumPy/PyTorch rules: shapes are aligned at their last dimension,
// missing leading dimensions count as 1, and each pair of extents must be
// equal or contain a 1. It panics when the shapes do not broadcast.
func BroadcastShapes(a, b []int) []int { return broadcastShapes("BroadcastShapes", a, b) }

func broadcastShapes(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 1; i <= n; i++ {
		da, db := extentFromEnd(a, i), extentFromEnd(b, i)
		switch {
		case da == db || db == 1:
			out[n-i] = da
		case da == 1:
			out[n-i] = db
		default:
			panic(fmt.Sprintf("tensor: %s: shapes %v and %v do not broadcast", op, a, b))
		}
	}
	return out
}

// extentFromEnd is the i-th extent of s counted from the end (1-based),
// or 1 past its start.
func extentFromEnd(s []int, i int) int {
	if i > len(s) {
		return 1
	}
	return s[len(s)-i]
}

// BroadcastTo returns a new tensor of the given shape holding t repeated
// along its broadcast dimensions. It panics unless t broadcasts to shape.
func BroadcastTo(t *Tensor, shape ...int) *Tensor {
	if !slices.Equal(broadcastShapes("BroadcastTo", t.Shape, shape), shape) {
		panic(fmt.Sprintf("tensor: BroadcastTo: %v does not broadcast to %v", t.Shape, shape))
	}
	out := New(shape...)
	w := newWalk(shape, stridesOf(shape), broadcastStrides(t.Shape, shape))
	n, step := w.n(), w.step(1)
	w.each(func(off []int) {
		dst := out.Data[off[0] : off[0]+n]
		if step == 0 {
			v := t.Data[off[1]]
			for i := range dst {
				dst[i] = v
			}
			return
		}
		copy(dst, t.Data[off[1]:off[1]+n])
	})
	return out
}

// SumTo sums t over the dimensions along which a tensor of the given shape
// would have been broadcast to t's shape, so that the result has that shape.
// It is the adjoint of BroadcastTo: the gradient of a broadcast operand.
// It panics unless shape broadcasts to t's shape.
func SumTo(t *Tensor, shape ...int) *Tensor {
	if slices.Equal(t.Shape, shape) {
		return t.Clone()
	}
	if !slices.Equal(broadcastShapes("SumTo", shape, t.Shape), t.Shape) {
		panic(fmt.Sprintf("tensor: SumTo: %v does not broadcast to %v", shape, t.Shape))
	}
	lead := t.Dim() - len(shape)
	var axes []int
	for i, d := range t.Shape {
		if i < lead || shape[i-lead] == 1 && d != 1 {
			axes = append(axes, i)
		}
	}
	return SumAxes(t, true, axes...).Reshape(shape...)
}

// normAxis maps a possibly negative axis (counted from the end, as in
// PyTorch) into [0, dim), panicking when it is out of range.
func normAxis(op string, axis, dim int) int {
	if axis < -dim || axis >= dim {
		panic(fmt.Sprintf("tensor: %s: axis %d out of range for %d dimensions", op, axis, dim))
	}
	if axis < 0 {
		axis += dim
	}
	return axis
}

// mustShape panics unless t has the given shape; it guards the dst argument
// of the Into forms.
func mustShape(op string, t *Tensor, shape []int) {
	if !slices.Equal(t.Shape, shape) {
		panic(fmt.Sprintf("tensor: %s: destination has shape %v, want %v", op, t.Shape, shape))
	}
}
