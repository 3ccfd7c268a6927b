package tensor

import (
	"fmt"
	"math"
)

// ZerosLike returns a zero tensor with t's shape.
func ZerosLike(t *Tensor) *Tensor { return New(t.Shape...) }

// Ones returns a tensor of the given shape filled with 1.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// OnesLike returns a tensor of 1s with t's shape.
func OnesLike(t *Tensor) *Tensor { return Full(1, t.Shape...) }

// Arange returns the 1-D tensor start, start+step, ... of the values below
// end (above end for a negative step), as torch.arange. Each value is
// start + i·step computed in float64, so long ranges do not drift.
func Arange(start, end, step float64) *Tensor {
	if step == 0 || (end-start)/step < 0 {
		panic(fmt.Sprintf("tensor: Arange(%v, %v, %v): the step does not lead from start to end", start, end, step))
	}
	n := int(math.Ceil((end - start) / step))
	t := New(n)
	for i := range t.Data {
		t.Data[i] = float32(start + float64(i)*step)
	}
	return t
}

// RandN returns a tensor of standard normal values drawn from r in
// row-major order.
func RandN(r *RNG, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.Normal())
	}
	return t
}

// RandU returns a tensor of values uniform between lo and hi, drawn from r
// in row-major order.
func RandU(r *RNG, lo, hi float32, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = lo + (hi-lo)*r.Float32()
	}
	return t
}
