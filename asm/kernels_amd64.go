//go:build !purego

package asm

import "golang.org/x/sys/cpu"

//go:generate sh -c "cd _gen && go run . -pkg asm -out ../kernels_amd64.s -stubs ../kernels_amd64_stubs.go"

var archImpls = []*impl{&avx2Impl, &avx512Impl}

// avx2Impl needs FMA as well: every Zen and every Intel core since Haswell
// has both.
var avx2Impl = impl{
	name: "avx2",
	gemm: gemmKernel{name: "sgemmKernel4x24AVX2", mr: 4, nr: 24, micro: sgemmKernel4x24AVX2,
		packB: packB24AVX2, transpose4: transpose4x8AVX2, transpose8: transpose8x8AVX2,
		dot: sgemmDot4x3AVX2, dotMR: 4, dotNR: 3},
	vec: bulkOps,
	conv: convKernels{width: 4, input: winoInputAVX2, output: winoOutputAVX2, outputGrad: winoOutputGradAVX2,
		input4: winoInput4AVX2, output4: winoOutput4AVX2, outputGrad4: winoOutputGrad4AVX2,
		deinterleave: deinterleaveAVX2, interleave: interleaveAVX2, copyRows: copyRowsAVX2,
		shifted: shiftedKernels{mr: 4, nr: 24, micro: sgemmShifted4x24AVX2, gmr: 4, gnk: 3, lanes: 8, grad: sgemmShiftedGrad4x3AVX2}},
	usable: func() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA },
}

// avx512Impl differs from avx2Impl only in its GEMM kernel: the vector
// primitives are memory-bound, so wider registers would not speed them up.
var avx512Impl = func() impl {
	im := avx2Impl
	im.name = "avx512"
	im.gemm = gemmKernel{name: "sgemmKernel8x48AVX512", mr: 8, nr: 48, micro: sgemmKernel8x48AVX512,
		packB: packB48AVX512, transpose4: transpose4x8AVX2, transpose8: transpose8x8AVX2,
		dot: sgemmDot4x3AVX2, dotMR: 4, dotNR: 3}
	im.usable = func() bool { return avx2Impl.usable() && cpu.X86.HasAVX512F }
	return im
}()

// simd holds the AVX2 vector-primitive bodies for the *Bulk wrappers.
var simd = vecBodies{
	width: 8,
	vecOps: vecOps{
		axpy:  axpyAVX2,
		scale: scaleAVX2,
		dot:   dotAVX2,
		sum:   sumAVX2,
		add:   addAVX2,
		mul:   mulAVX2,
		relu:  reluAVX2,

		sumSquaredDev: sumSquaredDevAVX2,
		affine:        affineBodies{affineAVX2, affineReluAVX2, affineAddAVX2, affineAddReluAVX2}.run,
		gradSums:      gradSumsBodies{gradSumsAVX2, gradSumsStoreAVX2, gradSumsMaskAVX2, gradSumsMaskStoreAVX2}.run,
		combine:       combineAVX2,
	},
}

// winoInputAVX2 is winoInputGeneric for quads·4 tiles (winograd_amd64.s).
//
//go:noescape
func winoInputAVX2(v *float32, vs int, d *float32, ld, quads int)

// winoOutputAVX2 is winoOutputGeneric for quads·4 tiles.
//
//go:noescape
func winoOutputAVX2(y0, y1, m *float32, ms, quads int, bias float32)

// winoOutputGradAVX2 is winoOutputGradGeneric for quads·4 tiles.
//
//go:noescape
func winoOutputGradAVX2(m *float32, ms int, y0, y1 *float32, quads int)

// winoInput4AVX2 is winoInput4Generic for quads·4 tiles
// (winograd4_amd64.s).
//
//go:noescape
func winoInput4AVX2(v *float32, vs int, d *float32, ld, quads int)

// winoOutput4AVX2 is winoOutput4Generic for quads·4 tiles.
//
//go:noescape
func winoOutput4AVX2(y *float32, width int, m *float32, ms, quads int, bias float32)

// winoOutputGrad4AVX2 is winoOutputGrad4Generic for quads·4 tiles.
//
//go:noescape
func winoOutputGrad4AVX2(m *float32, ms int, y *float32, width, quads int)

// deinterleaveAVX2 is Deinterleave for octets·8 pairs.
//
//go:noescape
func deinterleaveAVX2(even, odd, src *float32, octets int)

// interleaveAVX2 is Interleave for octets·8 pairs.
//
//go:noescape
func interleaveAVX2(dst, even, odd *float32, octets int)
