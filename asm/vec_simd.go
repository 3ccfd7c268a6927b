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

	sumSquaredDev: sumSquaredDevBulk,
	affine:        affineBulk,
	gradSums:      gradSumsBulk,
	combine:       combineBulk,
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

// sumSquaredDevBulk gives the body sumSquaredDevGeneric's blocks of eight
// and continues its sum over the tail one value at a time, as the generic
// loop does, so the two agree to the bit.
func sumSquaredDevBulk(x []float32, m float32) float32 {
	n := len(x) / 8 * 8
	t := simd.sumSquaredDev(x[:n], m)
	for _, v := range x[n:] {
		d := v - m
		t += d * d
	}
	return t
}

func affineBulk(dst, x, r []float32, a, b float32, relu bool) {
	n := len(dst) / simd.width * simd.width
	simd.affine(dst[:n], x[:n], prefix(r, n), a, b, relu)
	affineGeneric(dst[n:], x[n:], suffix(r, n), a, b, relu)
}

func gradSumsBulk(dst, g, y, x []float32, m float32) (sg, sgx float32) {
	n := len(g) / simd.width * simd.width
	sg, sgx = simd.gradSums(prefix(dst, n), g[:n], prefix(y, n), x[:n], m)
	tg, tgx := gradSumsGeneric(suffix(dst, n), g[n:], suffix(y, n), x[n:], m)
	return sg + tg, sgx + tgx
}

func combineBulk(dst, x, y []float32, a, b, c float32) {
	n := len(dst) / simd.width * simd.width
	simd.combine(dst[:n], x[:n], y[:n], a, b, c)
	combineGeneric(dst[n:], x[n:], y[n:], a, b, c)
}

// prefix and suffix split an optional slice at n, keeping nil as nil.
func prefix(s []float32, n int) []float32 {
	if s == nil {
		return nil
	}
	return s[:n]
}

func suffix(s []float32, n int) []float32 {
	if s == nil {
		return nil
	}
	return s[n:]
}

// affineBodies are an architecture's four loops of Affine, one per
// variant, so that no loop tests r or relu per vector.
type affineBodies struct {
	plain, relu  func(dst, x []float32, a, b float32)
	add, addRelu func(dst, x, r []float32, a, b float32)
}

// run is Affine's body: the loop of the variant asked for.
func (k affineBodies) run(dst, x, r []float32, a, b float32, relu bool) {
	switch {
	case r == nil && !relu:
		k.plain(dst, x, a, b)
	case r == nil:
		k.relu(dst, x, a, b)
	case !relu:
		k.add(dst, x, r, a, b)
	default:
		k.addRelu(dst, x, r, a, b)
	}
}

// gradSumsBodies are the same for GradSums: without y and dst, storing to
// dst, masking by y, and both.
type gradSumsBodies struct {
	plain     func(g, x []float32, m float32) (sg, sgx float32)
	store     func(dst, g, x []float32, m float32) (sg, sgx float32)
	mask      func(g, y, x []float32, m float32) (sg, sgx float32)
	maskStore func(dst, g, y, x []float32, m float32) (sg, sgx float32)
}

// run is GradSums's body: the loop of the variant asked for.
func (k gradSumsBodies) run(dst, g, y, x []float32, m float32) (sg, sgx float32) {
	switch {
	case y == nil && dst == nil:
		return k.plain(g, x, m)
	case y == nil:
		return k.store(dst, g, x, m)
	case dst == nil:
		return k.mask(g, y, x, m)
	default:
		return k.maskStore(dst, g, y, x, m)
	}
}
