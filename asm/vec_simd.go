//go:build !purego && (amd64 || arm64)

package asm

// vecBodies are an architecture's assembly loops for the vector
// primitives. Each takes whole vectors only: the length of its first slice
// must be a multiple of width.
type vecBodies struct {
	width int
	vecOps
}

// bulkOps are the vector primitives of the assembly implementations.
var bulkOps = vecOps{
	axpy:  axpyBulk,
	scale: scaleBulk,
	dot:   dotBulk,
	sum:   sumBulk,
	add:   addBulk,
	mul:   mulBulk,
	relu:  reluBulk,
}

// The *Bulk functions run the architecture's loop (simd) over the longest
// prefix of whole vectors and finish the tail with the generic loop.

func axpyBulk(alpha float32, x, y []float32) {
	n := len(x) / simd.width * simd.width
	simd.axpy(alpha, x[:n], y[:n])
	axpyGeneric(alpha, x[n:], y[n:])
}

func scaleBulk(alpha float32, x []float32) {
	n := len(x) / simd.width * simd.width
	simd.scale(alpha, x[:n])
	scaleGeneric(alpha, x[n:])
}

func dotBulk(x, y []float32) float32 {
	n := len(x) / simd.width * simd.width
	return simd.dot(x[:n], y[:n]) + dotGeneric(x[n:], y[n:])
}

func sumBulk(x []float32) float32 {
	n := len(x) / simd.width * simd.width
	return simd.sum(x[:n]) + sumGeneric(x[n:])
}

func addBulk(dst, x, y []float32) {
	n := len(dst) / simd.width * simd.width
	simd.add(dst[:n], x[:n], y[:n])
	addGeneric(dst[n:], x[n:], y[n:])
}

func mulBulk(dst, x, y []float32) {
	n := len(dst) / simd.width * simd.width
	simd.mul(dst[:n], x[:n], y[:n])
	mulGeneric(dst[n:], x[n:], y[n:])
}

func reluBulk(dst, x []float32) {
	n := len(dst) / simd.width * simd.width
	simd.relu(dst[:n], x[:n])
	reluGeneric(dst[n:], x[n:])
}
