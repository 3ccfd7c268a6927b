//go:build !purego

package asm

import "golang.org/x/sys/cpu"

//go:generate sh -c "cd _gen && go run . -pkg asm -out ../kernels_amd64.s -stubs ../kernels_amd64_stubs.go"

var archImpls = []*impl{&avx2Impl, &avx512Impl}

// avx2Impl needs FMA as well: every Zen and every Intel core since Haswell
// has both.
var avx2Impl = impl{
	name:   "avx2",
	gemm:   gemmKernel{name: "sgemmKernel4x24AVX2", mr: 4, nr: 24, micro: sgemmKernel4x24AVX2, packB: packB24AVX2},
	axpy:   axpyBulk,
	scale:  scaleBulk,
	dot:    dotBulk,
	sum:    sumBulk,
	add:    addBulk,
	mul:    mulBulk,
	relu:   reluBulk,
	usable: func() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA },
}

// avx512Impl differs from avx2Impl only in its GEMM kernel: the vector
// primitives are memory-bound, so wider registers would not speed them up.
var avx512Impl = func() impl {
	im := avx2Impl
	im.name = "avx512"
	im.gemm = gemmKernel{name: "sgemmKernel8x48AVX512", mr: 8, nr: 48, micro: sgemmKernel8x48AVX512, packB: packB48AVX512}
	im.usable = func() bool { return avx2Impl.usable() && cpu.X86.HasAVX512F }
	return im
}()

// The *Bulk functions run the AVX2 loop over whole vectors of eight and
// finish the tail with the generic loop.

func axpyBulk(alpha float32, x, y []float32) {
	n := len(x) &^ 7
	axpyAVX2(alpha, x[:n], y[:n])
	axpyGeneric(alpha, x[n:], y[n:])
}

func scaleBulk(alpha float32, x []float32) {
	n := len(x) &^ 7
	scaleAVX2(alpha, x[:n])
	scaleGeneric(alpha, x[n:])
}

func dotBulk(x, y []float32) float32 {
	n := len(x) &^ 7
	return dotAVX2(x[:n], y[:n]) + dotGeneric(x[n:], y[n:])
}

func sumBulk(x []float32) float32 {
	n := len(x) &^ 7
	return sumAVX2(x[:n]) + sumGeneric(x[n:])
}

func addBulk(dst, x, y []float32) {
	n := len(dst) &^ 7
	addAVX2(dst[:n], x[:n], y[:n])
	addGeneric(dst[n:], x[n:], y[n:])
}

func mulBulk(dst, x, y []float32) {
	n := len(dst) &^ 7
	mulAVX2(dst[:n], x[:n], y[:n])
	mulGeneric(dst[n:], x[n:], y[n:])
}

func reluBulk(dst, x []float32) {
	n := len(dst) &^ 7
	reluAVX2(dst[:n], x[:n])
	reluGeneric(dst[n:], x[n:])
}
