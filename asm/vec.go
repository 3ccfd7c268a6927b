package asm

import "fmt"

// The vector primitives below check lengths and hand the work to the active
// implementation. Slices may alias only where the doc comment says so.

// Axpy adds alpha·x to y. Axpy is:
//
//	for i := range x {
//		y[i] += alpha * x[i]
//	}
func Axpy(alpha float32, x, y []float32) {
	sameLen("Axpy", len(x), len(y))
	active.vec.axpy(alpha, x, y)
}

// Scale multiplies x by alpha in place. Scale is:
//
//	for i := range x {
//		x[i] *= alpha
//	}
func Scale(alpha float32, x []float32) { active.vec.scale(alpha, x) }

// Dot returns the inner product of x and y, summed in a fixed order for a
// given implementation. Dot is:
//
//	for i := range x {
//		s += x[i] * y[i]
//	}
func Dot(x, y []float32) float32 {
	sameLen("Dot", len(x), len(y))
	return active.vec.dot(x, y)
}

// Sum returns the sum of x, in a fixed order for a given implementation.
// Sum is:
//
//	for _, v := range x {
//		s += v
//	}
func Sum(x []float32) float32 { return active.vec.sum(x) }

// Add sets dst to x + y; dst may be x or y. Add is:
//
//	for i := range dst {
//		dst[i] = x[i] + y[i]
//	}
func Add(dst, x, y []float32) {
	sameLen("Add", len(dst), len(x))
	sameLen("Add", len(dst), len(y))
	active.vec.add(dst, x, y)
}

// Mul sets dst to the element-wise product x·y; dst may be x or y. Mul is:
//
//	for i := range dst {
//		dst[i] = x[i] * y[i]
//	}
func Mul(dst, x, y []float32) {
	sameLen("Mul", len(dst), len(x))
	sameLen("Mul", len(dst), len(y))
	active.vec.mul(dst, x, y)
}

// Relu sets dst to max(x, 0); dst may be x. NaN stays NaN, as in PyTorch.
// Relu is:
//
//	for i := range dst {
//		if x[i] > 0 || x[i] != x[i] { dst[i] = x[i] } else { dst[i] = 0 }
//	}
func Relu(dst, x []float32) {
	sameLen("Relu", len(dst), len(x))
	active.vec.relu(dst, x)
}

func sameLen(op string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("asm: %s: slice lengths %d and %d differ", op, a, b))
	}
}
