package asm

import "unsafe"

// genericImpl is the portable implementation: the reference that tests
// compare every other one with, and the fallback everywhere.
var genericImpl = impl{
	name: "generic",
	gemm: gemmKernel{name: "sgemmKernel4x4Generic", mr: 4, nr: 4, micro: sgemmKernel4x4Generic,
		packB: packBGeneric(4), transpose4: transposeGeneric(4), transpose8: transposeGeneric(8)},
	vec: vecOps{
		axpy:  axpyGeneric,
		scale: scaleGeneric,
		dot:   dotGeneric,
		sum:   sumGeneric,
		add:   addGeneric,
		mul:   mulGeneric,
		relu:  reluGeneric,

		sumSquaredDev: sumSquaredDevGeneric,
		affine:        affineGeneric,
		gradSums:      gradSumsGeneric,
		combine:       combineGeneric,
	},
	conv:   genericConv,
	usable: always,
}

// sgemmKernel4x4Generic is the micro-kernel contract in plain Go, with the
// 16 sums in locals so the compiler keeps them in registers.
func sgemmKernel4x4Generic(kc int, a, b, c *float32, ldc int, accumulate bool) {
	as := unsafe.Slice(a, 4*kc)
	bs := unsafe.Slice(b, 4*kc)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < kc; p++ {
		av := as[4*p : 4*p+4 : 4*p+4]
		bv := bs[4*p : 4*p+4 : 4*p+4]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	sums := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	for r := range sums {
		row := cs[r*ldc : r*ldc+4 : r*ldc+4]
		if accumulate {
			for j := range row {
				row[j] += sums[r][j]
			}
		} else {
			copy(row, sums[r][:])
		}
	}
}
