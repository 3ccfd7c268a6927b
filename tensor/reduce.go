package tensor

import (
	"fmt"
	"math"

	"github.com/glmc/glmc/asm"
)

// A reducer folds runs of values into accumulators. Every reduction walks
// its input in row-major order on one goroutine, so its summation order is
// fixed by the shapes alone and results are reproducible to the bit.
type reducer struct {
	init float32
	row  func(x []float32) float32 // folds a contiguous run into one value
	fold func(acc, v float32) float32
	vec  func(acc, x []float32) // acc[i] = fold(acc[i], x[i])
}

var (
	sumReducer = reducer{
		init: 0,
		row:  asm.Sum,
		fold: func(acc, v float32) float32 { return acc + v },
		vec:  func(acc, x []float32) { asm.Axpy(1, x, acc) },
	}
	maxReducer = reducer{
		init: float32(math.Inf(-1)),
		row: func(x []float32) float32 {
			m := float32(math.Inf(-1))
			for _, v := range x {
				m = maxNaN(v, m)
			}
			return m
		},
		fold: func(acc, v float32) float32 { return maxNaN(v, acc) },
		vec: func(acc, x []float32) {
			for i, v := range x {
				acc[i] = maxNaN(v, acc[i])
			}
		},
	}
)

// Sum returns the sum of all elements.
func Sum(t *Tensor) float32 { return asm.Sum(t.Data) }

// Mean returns the mean of all elements (NaN for an empty tensor).
func Mean(t *Tensor) float32 { return Sum(t) / float32(t.Numel()) }

// Max returns the largest element (NaN if any element is NaN). It panics on
// an empty tensor.
func Max(t *Tensor) float32 {
	if t.Numel() == 0 {
		panic("tensor: Max of an empty tensor")
	}
	return maxReducer.row(t.Data)
}

// SumAxes sums t over the given axes (negative axes count from the end; no
// axes means all of them). With keepdim the reduced axes stay as extent 1,
// otherwise they are removed.
func SumAxes(t *Tensor, keepdim bool, axes ...int) *Tensor {
	return reduceAxes("SumAxes", t, keepdim, axes, sumReducer)
}

// MeanAxes averages t over the given axes, as SumAxes sums.
func MeanAxes(t *Tensor, keepdim bool, axes ...int) *Tensor {
	out := reduceAxes("MeanAxes", t, keepdim, axes, sumReducer)
	if len(out.Data) == 0 {
		return out
	}
	n := float32(t.Numel() / len(out.Data))
	for i := range out.Data {
		out.Data[i] /= n
	}
	return out
}

// MaxAxes takes the maximum of t over the given axes, as SumAxes sums. It
// panics if a reduced axis is empty.
func MaxAxes(t *Tensor, keepdim bool, axes ...int) *Tensor {
	return reduceAxes("MaxAxes", t, keepdim, axes, maxReducer)
}

// ReducedShape is the shape of a reduction of a tensor of shape s over axes
// (all of them when axes is empty), with or without keepdim. It panics on an
// out-of-range or repeated axis.
func ReducedShape(s []int, keepdim bool, axes ...int) []int {
	return reducedShape(s, keepdim, axisSet("ReducedShape", len(s), axes))
}

func reducedShape(s []int, keepdim bool, reduced []bool) []int {
	out := make([]int, 0, len(s))
	for i, d := range s {
		switch {
		case !reduced[i]:
			out = append(out, d)
		case keepdim:
			out = append(out, 1)
		}
	}
	return out
}

// axisSet marks the reduced axes of a dim-dimensional tensor.
func axisSet(op string, dim int, axes []int) []bool {
	reduced := make([]bool, dim)
	if len(axes) == 0 {
		for i := range reduced {
			reduced[i] = true
		}
		return reduced
	}
	for _, a := range axes {
		a = normAxis(op, a, dim)
		if reduced[a] {
			panic(fmt.Sprintf("tensor: %s: axis %d repeated in %v", op, a, axes))
		}
		reduced[a] = true
	}
	return reduced
}

func reduceAxes(op string, t *Tensor, keepdim bool, axes []int, r reducer) *Tensor {
	reduced := axisSet(op, t.Dim(), axes)
	kept := make([]int, t.Dim()) // t's shape with reduced axes set to 1
	for i, d := range t.Shape {
		kept[i] = d
		if reduced[i] {
			if d == 0 && op == "MaxAxes" {
				panic(fmt.Sprintf("tensor: %s: reducing empty axis %d of %v", op, i, t.Shape))
			}
			kept[i] = 1
		}
	}
	out := Full(r.init, kept...)
	w := newWalk(t.Shape, stridesOf(t.Shape), broadcastStrides(kept, t.Shape))
	n := w.n()
	if w.step(1) == 0 { // the inner run is reduced: fold it into one value
		w.each(func(off []int) {
			out.Data[off[1]] = r.fold(out.Data[off[1]], r.row(t.Data[off[0]:off[0]+n]))
		})
	} else {
		w.each(func(off []int) {
			r.vec(out.Data[off[1]:off[1]+n], t.Data[off[0]:off[0]+n])
		})
	}
	if !keepdim {
		out.Shape = reducedShape(t.Shape, false, reduced)
	}
	return out
}

// ArgMax returns, for every position of the other axes in row-major order,
// the index along axis of the largest element (the first one on ties; a NaN
// counts as the largest, as in PyTorch). It panics if the axis is empty.
func ArgMax(t *Tensor, axis int) []int {
	axis = normAxis("ArgMax", axis, t.Dim())
	outer, n, inner := splitAt(t.Shape, axis)
	if n == 0 {
		panic(fmt.Sprintf("tensor: ArgMax: axis %d of %v is empty", axis, t.Shape))
	}
	idx := make([]int, outer*inner)
	for o := range outer {
		for j := range inner {
			base := o*n*inner + j
			best, bv := 0, t.Data[base]
			for i := 1; i < n && bv == bv; i++ {
				if v := t.Data[base+i*inner]; v > bv || v != v {
					best, bv = i, v
				}
			}
			idx[o*inner+j] = best
		}
	}
	return idx
}

// splitAt views shape as (outer, shape[axis], inner).
func splitAt(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, shape[axis], inner
}
