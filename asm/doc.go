// Package asm holds the project's SIMD kernels behind a plain Go API on
// []float32 and ints: single-precision GEMM, the vector primitives that
// element-wise hot loops need, and the convolution kernels of package nn
// (the Winograd F(2×2, 3×3) and F(4×4, 3×3) transforms, the
// (de)interleaving of strided im2col, and the shifted-window GEMMs of
// direct grouped convolution). The Winograd and interleaving kernels of
// amd64 are written by hand in winograd_amd64.s and winograd4_amd64.s, the
// shifted-window kernels by the generator in _gen;
// arm64 has NEON shifted-window kernels and runs the generic versions of
// the others.
//
// Conventions:
//   - Matrices are row-major with an explicit leading dimension (the distance
//     in elements between the starts of two rows), as in CBLAS row-major.
//   - Every kernel has a portable Go version (suffix Generic) that is the
//     reference in tests and the fallback on other architectures. Assembly
//     versions (suffixes AVX2, AVX512, NEON) sit beside it; the build tag
//     purego compiles none of them.
//   - The implementation is chosen once, at start, from the CPU features seen
//     by golang.org/x/sys/cpu. The environment variable GLMC_SIMD (generic,
//     avx2, avx512, neon) forces a lower one, so that every path can be run
//     on one machine. Kernel reports the choice.
//   - Results are deterministic for a given implementation: work is split
//     between goroutines by output elements only, never inside a reduction,
//     so Sgemm gives the same bits for any thread count. Different
//     implementations may round differently.
//   - Shape errors are programmer errors and panic with a message naming the
//     argument, as in gonum's BLAS.
package asm
