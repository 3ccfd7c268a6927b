//go:build !purego

package asm

import "golang.org/x/sys/cpu"

// archImpls holds the arm64 implementations; generic is the only other one.
var archImpls = []*impl{&neonImpl}

// neonImpl is the Advanced SIMD (NEON) implementation. ASIMD is part of
// every ARMv8-A core, so usable is true in practice; the check keeps the
// rule "assembly only where the CPU says it runs".
var neonImpl = impl{
	name: "neon",
	gemm: gemmKernel{name: "sgemmKernel8x12NEON", mr: 8, nr: 12, micro: sgemmKernel8x12NEON,
		packB: packBGeneric(12), transpose4: transposeGeneric(4), transpose8: transposeGeneric(8)},
	vec: bulkOps,
	conv: func() convKernels {
		k := genericConv
		k.shifted = shiftedKernels{mr: 4, nr: 16, micro: sgemmShifted4x16NEON, gmr: 4, gnk: 3, lanes: 4, grad: sgemmShiftedGrad4x3NEON}
		return k
	}(),
	usable: func() bool { return cpu.ARM64.HasASIMD },
}

// sgemmKernel8x12NEON sets the 8×12 tile at c (row stride ldc elements) to
// A·B, or adds A·B to it when accumulate is set, from a packed A panel (kc
// groups of 8 values) and a packed B panel (kc groups of 12 values).
//
// The tile is 8×12 because it fills the register file: 24 accumulators
// (8 rows × 3 vectors of 4 columns), 3 registers for the B row and 2 for
// the 8 A values, which by-element FMLA uses in place, with no broadcasts.
// Each k step then does 24 FMAs for 5 vector loads.
//
//go:noescape
func sgemmKernel8x12NEON(kc int, a, b, c *float32, ldc int, accumulate bool)

// The NEON bodies below take whole vectors: the length of their first slice
// must be a multiple of 4 (the other slices are at least as long). The
// *Bulk wrappers pass them the longest such prefix and let the generic loop
// finish the tail, as the amd64 wrappers do with eight.

// axpyNEON is, with y[i] += alpha*x[i] fused into one rounding:
//
//	for i := range x {
//		y[i] += alpha * x[i]
//	}
//
//go:noescape
func axpyNEON(alpha float32, x, y []float32)

// scaleNEON is:
//
//	for i := range x {
//		x[i] *= alpha
//	}
//
//go:noescape
func scaleNEON(alpha float32, x []float32)

// addNEON is:
//
//	for i := range dst {
//		dst[i] = x[i] + y[i]
//	}
//
//go:noescape
func addNEON(dst, x, y []float32)

// mulNEON is:
//
//	for i := range dst {
//		dst[i] = x[i] * y[i]
//	}
//
//go:noescape
func mulNEON(dst, x, y []float32)

// reluNEON is reluGeneric: x where !(x <= 0), so NaN passes through
// unchanged, and +0 elsewhere (also for -0).
//
//go:noescape
func reluNEON(dst, x []float32)

// dotNEON is, with each s[j][l] += x*y fused into one rounding:
//
//	var s [8][4]float32
//	i := 0
//	for ; i+32 <= len(x); i += 32 {
//		for j := range 8 {
//			for l := range 4 {
//				s[j][l] += x[i+4*j+l] * y[i+4*j+l]
//			}
//		}
//	}
//	for ; i < len(x); i += 4 {
//		for l := range 4 {
//			s[0][l] += x[i+l] * y[i+l]
//		}
//	}
//	return reduce32(&s)
//
// Eight accumulators keep eight FMAs in flight, which covers the FMA
// latency on common cores.
//
//go:noescape
func dotNEON(x, y []float32) float32

// sumNEON is dotNEON's loop with s[j][l] += x[i+4*j+l].
//
//go:noescape
func sumNEON(x []float32) float32

// reduce32 is the order in which dotNEON and sumNEON combine their partial
// sums: the eight vectors pairwise, then the four lanes pairwise. The
// assembly does it in registers; tests use this copy as the model.
func reduce32(s *[8][4]float32) float32 {
	var v [4]float32
	for l := range v {
		v[l] = ((s[0][l] + s[1][l]) + (s[2][l] + s[3][l])) + ((s[4][l] + s[5][l]) + (s[6][l] + s[7][l]))
	}
	return (v[0] + v[1]) + (v[2] + v[3])
}

// The batch-norm bodies (kernels_arm64.s describes their registers and
// summation order; the Go loops are the generic ones in vec_generic.go,
// with a·x + b and the products summed into t fused into one rounding).

// sumSquaredDevNEON is sumSquaredDevGeneric's loop over whole blocks of
// eight, bit for bit; len must be a multiple of 8.
//
//go:noescape
func sumSquaredDevNEON(x []float32, m float32) float32

// affineNEON, affineReluNEON, affineAddNEON and affineAddReluNEON are the
// four variants of affineGeneric.
//
//go:noescape
func affineNEON(dst, x []float32, a, b float32)

//go:noescape
func affineReluNEON(dst, x []float32, a, b float32)

//go:noescape
func affineAddNEON(dst, x, r []float32, a, b float32)

//go:noescape
func affineAddReluNEON(dst, x, r []float32, a, b float32)

// gradSumsNEON, gradSumsStoreNEON, gradSumsMaskNEON and
// gradSumsMaskStoreNEON are the four variants of gradSumsGeneric (without
// y and dst, with dst, with y, with both), each sum kept in four vector
// sums s[0..3] over each 16 values (the vectors past the last 16 go to
// s[0]) and combined as ((s[0]+s[1]) + (s[2]+s[3])), then across lanes
// pairwise.
//
//go:noescape
func gradSumsNEON(g, x []float32, m float32) (sg, sgx float32)

//go:noescape
func gradSumsStoreNEON(dst, g, x []float32, m float32) (sg, sgx float32)

//go:noescape
func gradSumsMaskNEON(g, y, x []float32, m float32) (sg, sgx float32)

//go:noescape
func gradSumsMaskStoreNEON(dst, g, y, x []float32, m float32) (sg, sgx float32)

// combineNEON is combineGeneric with dst = a·x + (b·y + c), both steps fused.
//
//go:noescape
func combineNEON(dst, x, y []float32, a, b, c float32)

// simd holds the NEON vector-primitive bodies for the *Bulk wrappers.
var simd = vecBodies{
	width: 4,
	vecOps: vecOps{
		axpy:  axpyNEON,
		scale: scaleNEON,
		dot:   dotNEON,
		sum:   sumNEON,
		add:   addNEON,
		mul:   mulNEON,
		relu:  reluNEON,

		sumSquaredDev: sumSquaredDevNEON,
		affine:        affineBodies{affineNEON, affineReluNEON, affineAddNEON, affineAddReluNEON}.run,
		gradSums:      gradSumsBodies{gradSumsNEON, gradSumsStoreNEON, gradSumsMaskNEON, gradSumsMaskStoreNEON}.run,
		combine:       combineNEON,
	},
}

// sgemmShifted4x16NEON is the micro kernel of SgemmShifted: it sets the
// 4×16 tile at c (row stride ldc) to A·B from a packed A panel (kc
// groups of 4 values), where row p of B is the 16 floats at b + off[p];
// kc must be positive. The 16 accumulators (4 rows × 4 vectors) take the
// 4 A values of a k step in one register, used by element.
//
//go:noescape
func sgemmShifted4x16NEON(kc int, a, b *float32, off *int, c *float32, ldc int)

// sgemmShiftedGrad4x3NEON is the grad kernel of SgemmShiftedGrad: it adds
// to the 4×3 tile at c (row stride ldc) the sums over j < 4·quads of
// gy[i*ldg+j]·b[off[p]+j], each of four partial sums over the lanes added
// as (l0+l1) + (l2+l3); quads must be positive.
//
//go:noescape
func sgemmShiftedGrad4x3NEON(quads int, gy *float32, ldg int, b *float32, off *int, c *float32, ldc int)
