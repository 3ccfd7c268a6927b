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
		packB: packB24AVX2, transpose4: transpose4x8AVX2, transpose8: transpose8x8AVX2},
	vec:    bulkOps,
	usable: func() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA },
}

// avx512Impl differs from avx2Impl only in its GEMM kernel: the vector
// primitives are memory-bound, so wider registers would not speed them up.
var avx512Impl = func() impl {
	im := avx2Impl
	im.name = "avx512"
	im.gemm = gemmKernel{name: "sgemmKernel8x48AVX512", mr: 8, nr: 48, micro: sgemmKernel8x48AVX512,
		packB: packB48AVX512, transpose4: transpose4x8AVX2, transpose8: transpose8x8AVX2}
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
		affine:        affineVariantsAVX2,
		gradSums:      gradSumsVariantsAVX2,
		combine:       combineAVX2,
	},
}

// affineVariantsAVX2 runs the generated loop for the variant of Affine
// asked for, so that no loop tests r or relu per vector.
func affineVariantsAVX2(dst, x, r []float32, a, b float32, relu bool) {
	switch {
	case r == nil && !relu:
		affineAVX2(dst, x, a, b)
	case r == nil:
		affineReluAVX2(dst, x, a, b)
	case !relu:
		affineAddAVX2(dst, x, r, a, b)
	default:
		affineAddReluAVX2(dst, x, r, a, b)
	}
}

// gradSumsVariantsAVX2 does the same for GradSums.
func gradSumsVariantsAVX2(dst, g, y, x []float32, m float32) (sg, sgx float32) {
	switch {
	case y == nil && dst == nil:
		return gradSumsAVX2(g, x, m)
	case y == nil:
		return gradSumsStoreAVX2(dst, g, x, m)
	case dst == nil:
		return gradSumsMaskAVX2(g, y, x, m)
	default:
		return gradSumsMaskStoreAVX2(dst, g, y, x, m)
	}
}
