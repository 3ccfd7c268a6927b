// Package tensor holds the dense float32 Tensor, its constructors, seeded
// random streams and the forward math that the layers above build on.
//
// A Tensor is always contiguous and row-major: element (i0, i1, ..., in) of a
// tensor with shape (d0, d1, ..., dn) is Data[((i0*d1+i1)*d2+...)*dn+in].
// Views that would need strides (transpose, slicing) are materialised as new
// tensors, which keeps every kernel simple and every reduction order fixed.
package tensor

import (
	"fmt"
	"strings"
)

// Tensor is a dense, contiguous, row-major float32 array.
type Tensor struct {
	Shape []int     // extent of each dimension; empty for a scalar
	Data  []float32 // len(Data) == product of Shape

	arena *Arena // the arena Data came from, kept reachable with t; nil for the heap
}

// New returns a zero tensor of the given shape. It panics on a negative extent.
func New(shape ...int) *Tensor {
	n := checkShape(shape)
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// FromSlice wraps data (not copied) as a tensor of the given shape. It panics
// when len(data) does not match the shape.
func FromSlice(data []float32, shape ...int) *Tensor {
	n := checkShape(shape)
	if len(data) != n {
		panic(fmt.Sprintf("tensor: FromSlice: %d values for shape %v (want %d)", len(data), shape, n))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Scalar returns a 0-dimensional tensor holding v.
func Scalar(v float32) *Tensor { return &Tensor{Shape: []int{}, Data: []float32{v}} }

// Full returns a tensor of the given shape with every element set to v.
func Full(v float32, shape ...int) *Tensor {
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = v
	}
	return t
}

// Numel is the number of elements, the product of the shape.
func (t *Tensor) Numel() int { return len(t.Data) }

// Dim is the number of dimensions.
func (t *Tensor) Dim() int { return len(t.Shape) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Reshape returns a tensor sharing t's data with a new shape of the same size.
// One extent may be -1, meaning "whatever makes the sizes match".
func (t *Tensor) Reshape(shape ...int) *Tensor {
	shape = append([]int(nil), shape...)
	infer, known := -1, 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(fmt.Sprintf("tensor: Reshape %v to %v: bad extent", t.Shape, shape))
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || len(t.Data)%known != 0 {
			panic(fmt.Sprintf("tensor: Reshape %v to %v: cannot infer extent", t.Shape, shape))
		}
		shape[infer] = len(t.Data) / known
		known *= shape[infer]
	}
	if known != len(t.Data) {
		panic(fmt.Sprintf("tensor: Reshape %v (%d elements) to %v", t.Shape, len(t.Data), shape))
	}
	return &Tensor{Shape: shape, Data: t.Data, arena: t.arena}
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool {
	if len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	return true
}

// String prints the shape and, for small tensors, the values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v", t.Shape)
	if len(t.Data) <= 16 {
		fmt.Fprintf(&b, "%v", t.Data)
	}
	return b.String()
}

func checkShape(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative extent in shape %v", shape))
		}
		n *= d
	}
	return n
}
