package main

// Shifted-window GEMM kernels (SgemmShifted and SgemmShiftedGrad of package
// asm), the direct convolution behind nn's grouped convolution. Row p of B
// is not stored: it is the window b[off[p] : off[p]+n] of one buffer (an
// input plane shifted by one kernel tap), so the im2col copy and the
// packing of B disappear; only the small A (the weights) is packed.
//
// sgemmShifted4x24AVX2: the 4×24 C tile lives in 12 registers over the k
// loop, as in the GEMM kernel; each k step loads off[p], the three vectors
// of the window at b + off[p], broadcasts four packed A values and issues
// twelve FMAs.
//
// sgemmShiftedGrad4x3AVX2: C[i][p] += Σ_j G[i][j]·b[off[p]+j] for a 4×3
// tile of C. The twelve sums are vectors of eight partial sums over j;
// each j step loads three windows and four G rows and issues twelve FMAs.
// At the end each vector is summed across its lanes (high half onto low
// half, then two horizontal adds) and added to C, in a fixed order.

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// shiftedKernel emits the shifted-window GEMM micro-kernel for the tile
// s.mr × (s.nrVec·s.lanes).
func shiftedKernel(s gemmShape) {
	nr := s.nrVec * s.lanes
	name := fmt.Sprintf("sgemmShifted%dx%d%s", s.mr, nr, s.isa)
	TEXT(name, NOSPLIT, "func(kc int, a, b *float32, off *int, c *float32, ldc int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets the %d×%d tile at c to A·B from a packed kc×%d A panel, where", name, s.mr, nr, s.mr),
		fmt.Sprintf("row p of B is the %d floats at b + off[p]; kc must be positive.", nr))
	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	off := Load(Param("off"), GP64())
	acc, bv, t := tile(s)
	step := func(u int) {
		Comment(fmt.Sprintf("k step +%d: acc[i][j] += A[p][i] * b[off[p] + j]", u))
		o := GP64()
		MOVQ(Mem{Base: off, Disp: 8 * u}, o)
		fmaStep(s, acc, bv, t, func(j int) Mem { return Mem{Base: b, Index: o, Scale: 4, Disp: 4 * s.lanes * j} },
			func(i int) Mem { return Mem{Base: a, Disp: 4 * (u*s.mr + i)} })
	}
	// Unrolled twice, with a one-step loop for an odd kc.
	n2 := GP64()
	MOVQ(kc, n2)
	SHRQ(Imm(1), n2)
	JE(LabelRef("tail"))
	Label("loop2")
	step(0)
	step(1)
	ADDQ(U32(8*s.mr), a)
	ADDQ(U32(16), off)
	DECQ(n2)
	JNE(LabelRef("loop2"))
	Label("tail")
	ANDQ(Imm(1), kc)
	JE(LabelRef("store"))
	step(0)
	Label("store")
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(Imm(2), ldc)
	Comment("C[i][:] = acc[i]")
	storeTile(acc, c, ldc, s.lanes, false)
	VZEROUPPER()
	RET()
}

// shiftedGradKernel emits the 4×3 tile of SgemmShiftedGrad in YMM
// registers: twelve sums, three windows and one G row fill the sixteen.
func shiftedGradKernel() {
	const mr, nk = 4, 3
	name := fmt.Sprintf("sgemmShiftedGrad%dx%dAVX2", mr, nk)
	TEXT(name, NOSPLIT, "func(octets int, gy *float32, ldg int, b *float32, off *int, c *float32, ldc int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s adds to the %d×%d tile at c the sums over j < 8·octets of gy[i*ldg+j]·b[off[p]+j];", name, mr, nk),
		"octets must be positive.")
	octets := Load(Param("octets"), GP64())
	g := Load(Param("gy"), GP64())
	ldg := Load(Param("ldg"), GP64())
	b := Load(Param("b"), GP64())
	off := Load(Param("off"), GP64())
	SHLQ(Imm(2), ldg)
	Comment("rows[i] = &g[i*ldg], wins[p] = &b[off[p]]")
	rows := make([]reg.GPVirtual, mr)
	for i := range rows {
		rows[i] = GP64()
		if i == 0 {
			MOVQ(g, rows[i])
		} else {
			LEAQ(Mem{Base: rows[i-1], Index: ldg, Scale: 1}, rows[i])
		}
	}
	wins := make([]reg.GPVirtual, nk)
	for p := range wins {
		wins[p] = GP64()
		MOVQ(Mem{Base: off, Disp: 8 * p}, wins[p])
		LEAQ(Mem{Base: b, Index: wins[p], Scale: 4}, wins[p])
	}
	acc := make([][]reg.VecVirtual, mr)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, nk)
		for p := range acc[i] {
			acc[i][p] = YMM()
			VXORPS(acc[i][p], acc[i][p], acc[i][p])
		}
	}
	j := GP64()
	XORQ(j, j)
	SHLQ(Imm(5), octets)
	wv := make([]reg.VecVirtual, nk)
	for p := range wv {
		wv[p] = YMM()
	}
	gv := YMM()
	Label("loop")
	Comment("acc[i][p] += g[i][j:j+8] * b[off[p]+j : off[p]+j+8]")
	for p := range wv {
		VMOVUPS(Mem{Base: wins[p], Index: j, Scale: 1}, wv[p])
	}
	for i := range acc {
		VMOVUPS(Mem{Base: rows[i], Index: j, Scale: 1}, gv)
		for p := range wv {
			VFMADD231PS(wv[p], gv, acc[i][p])
		}
	}
	ADDQ(Imm(32), j)
	CMPQ(j, octets)
	JNE(LabelRef("loop"))

	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(Imm(2), ldc)
	Comment("c[i*ldc+p] += the eight lanes of acc[i][p], summed as ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7))")
	for i := range acc {
		for p, v := range acc[i] {
			h := XMM()
			VEXTRACTF128(Imm(1), v, h)
			VADDPS(h, v.AsX(), h)
			VHADDPS(h, h, h)
			VHADDPS(h, h, h)
			m := Mem{Base: c, Disp: 4 * p}
			VADDSS(m, h, h)
			VMOVSS(h, m)
		}
		if i+1 < mr {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}
