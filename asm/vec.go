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

// SumSquaredDev returns the sum of squared deviations of x from m, in a
// fixed order for a given implementation: the variance term of batch
// normalisation, taken after the mean is known. SumSquaredDev is:
//
//	for _, v := range x {
//		s += (v - m) * (v - m)
//	}
func SumSquaredDev(x []float32, m float32) float32 { return active.vec.sumSquaredDev(x, m) }

// VecBlock is a multiple of the number of values every implementation's
// element-wise loops (Affine, Relu, Add, ...) take at a time. They finish
// a slice's last values, past the last whole vector, in Go, which may
// round otherwise (a·x + b without a fused multiply-add), so a value's
// bits may depend on its position in the slice modulo VecBlock, never on
// more: pieces of a slice that start at multiples of VecBlock from its
// start, the last one ending where the slice ends, get the bits of one
// call on the whole slice.
const VecBlock = 16

// Affine sets dst to a·x + b, plus r when r is not nil, then max(·, 0) when
// relu is set (NaN stays NaN, as in Relu): batch normalisation's apply pass
// fused with a residual block's shortcut sum and ReLU. dst may be x or r.
// Affine is:
//
//	for i := range dst {
//		v := a*x[i] + b
//		if r != nil { v += r[i] }
//		if relu { v = max(v, 0) }
//		dst[i] = v
//	}
func Affine(dst, x, r []float32, a, b float32, relu bool) {
	sameLen("Affine", len(dst), len(x))
	if r != nil {
		sameLen("Affine", len(dst), len(r))
	}
	active.vec.affine(dst, x, r, a, b, relu)
}

// GradSums returns Σ g′ and Σ g′·(x − m), in a fixed order for a given
// implementation, where g′ is g passed through a ReLU whose output was y:
// g where y > 0 and 0 elsewhere (y nil: g′ = g). It stores g′ in dst unless
// dst is nil; dst may be g. These are the two sums of batch
// normalisation's backward pass. "y > 0" is a test of y's bits as a signed
// integer, so a NaN of positive sign passes g and −0 does not. GradSums
// is:
//
//	for i := range g {
//		v := g[i]
//		if y != nil && !(y[i] > 0) { v = 0 }
//		if dst != nil { dst[i] = v }
//		sg += v
//		sgx += v * (x[i] - m)
//	}
func GradSums(dst, g, y, x []float32, m float32) (sg, sgx float32) {
	sameLen("GradSums", len(g), len(x))
	if y != nil {
		sameLen("GradSums", len(g), len(y))
	}
	if dst != nil {
		sameLen("GradSums", len(g), len(dst))
	}
	return active.vec.gradSums(dst, g, y, x, m)
}

// Combine sets dst to a·x + b·y + c; dst may be x or y. It is batch
// normalisation's input gradient once the sums of GradSums are known.
// Combine is:
//
//	for i := range dst {
//		dst[i] = a*x[i] + b*y[i] + c
//	}
func Combine(dst, x, y []float32, a, b, c float32) {
	sameLen("Combine", len(dst), len(x))
	sameLen("Combine", len(dst), len(y))
	active.vec.combine(dst, x, y, a, b, c)
}

func sameLen(op string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("asm: %s: slice lengths %d and %d differ", op, a, b))
	}
}
