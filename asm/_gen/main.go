// Command _gen writes the amd64 assembly of package asm with avo.
//
// GEMM micro-kernels (one generator, two widths): the mr×nr tile of C lives
// in mr·(nr/lanes) vector registers for the whole k loop. Each k step loads
// one row of the packed B panel (nr floats, nr/lanes vectors), then for each
// of the mr rows broadcasts one packed A value and issues one FMA per B
// vector. After the loop the tile is stored (or added to C), so C is touched
// once per call and never read when the caller asks for overwrite.
//
// Vector primitives: AVX2 loops of four vectors (32 floats) per iteration
// plus single-vector steps; Go wrappers finish the tail past the last full
// vector of eight.
//
// Run `go generate` in package asm; CI regenerates and fails on a diff.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	for _, s := range []gemmShape{
		{mr: 4, nrVec: 3, lanes: 8, isa: "AVX2", vec: YMM},
		{mr: 8, nrVec: 3, lanes: 16, isa: "AVX512", vec: ZMM},
	} {
		gemmKernel(s)
		packB(s)
	}
	shiftedKernel(gemmShape{mr: 4, nrVec: 3, lanes: 8, isa: "AVX2", vec: YMM})
	shiftedGradKernel()
	tailMask = GLOBL("tailMask", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	dotTile()
	copyRows()
	transpose(4)
	transpose(8)
	elementwise("axpyAVX2", "func(alpha float32, x, y []float32)", []string{"x", "y"}, axpy)
	elementwise("scaleAVX2", "func(alpha float32, x []float32)", []string{"x"}, scale)
	elementwise("addAVX2", "func(dst, x, y []float32)", []string{"dst", "x", "y"}, binary(VADDPS))
	elementwise("mulAVX2", "func(dst, x, y []float32)", []string{"dst", "x", "y"}, binary(VMULPS))
	elementwise("reluAVX2", "func(dst, x []float32)", []string{"dst", "x"}, relu)
	reduction("dotAVX2", "func(x, y []float32) float32", []string{"x", "y"}, "x", 1, dot)
	reduction("sumAVX2", "func(x []float32) float32", []string{"x"}, "x", 1, sum)
	// Each variant of Affine (add r, ReLU) and of GradSums (mask by y,
	// store to dst) is a loop of its own, with no per-vector tests.
	for _, v := range []variant{
		{"affineAVX2", false, false, "func(dst, x []float32, a, b float32)", []string{"dst", "x"}},
		{"affineReluAVX2", false, true, "func(dst, x []float32, a, b float32)", []string{"dst", "x"}},
		{"affineAddAVX2", true, false, "func(dst, x, r []float32, a, b float32)", []string{"dst", "x", "r"}},
		{"affineAddReluAVX2", true, true, "func(dst, x, r []float32, a, b float32)", []string{"dst", "x", "r"}},
	} {
		elementwise(v.name, v.sig, v.streams, affine(v.first, v.second))
	}
	for _, v := range []variant{
		{"gradSumsAVX2", false, false, "func(g, x []float32, m float32) (sg, sgx float32)", []string{"g", "x"}},
		{"gradSumsStoreAVX2", false, true, "func(dst, g, x []float32, m float32) (sg, sgx float32)", []string{"g", "x", "dst"}},
		{"gradSumsMaskAVX2", true, false, "func(g, y, x []float32, m float32) (sg, sgx float32)", []string{"g", "y", "x"}},
		{"gradSumsMaskStoreAVX2", true, true, "func(dst, g, y, x []float32, m float32) (sg, sgx float32)", []string{"g", "y", "x", "dst"}},
	} {
		reduction(v.name, v.sig, v.streams, "g", 2, gradSums(v.first, v.second))
	}
	sumSquaredDev()
	elementwise("combineAVX2", "func(dst, x, y []float32, a, b, c float32)", []string{"dst", "x", "y"}, combine)
	Generate()
}

// variant names one loop of a kernel with two on/off features (first,
// second), its Go signature and the slices it streams through.
type variant struct {
	name          string
	first, second bool
	sig           string
	streams       []string
}

// gemmShape names one micro-kernel: an mr × (nrVec·lanes) tile.
//
// Both tiles use 12 (AVX2, of 16 registers) or 24 (AVX-512, of 32)
// accumulators: enough independent FMAs to cover the FMA latency on two
// pipes, with one B row of nrVec vectors and one broadcast register left.
// Their mr (4, 8) divides the channel counts of ResNets and their nr (24,
// 48) divides 9·16, the im2col depth of a 3×3 convolution.
type gemmShape struct {
	mr, nrVec, lanes int
	isa              string
	vec              func() reg.VecVirtual
}

func gemmKernel(s gemmShape) {
	nr := s.nrVec * s.lanes
	name := fmt.Sprintf("sgemmKernel%dx%d%s", s.mr, nr, s.isa)
	TEXT(name, NOSPLIT, "func(kc int, a, b, c *float32, ldc int, accumulate bool)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets the %d×%d tile at c to A·B (or adds A·B when accumulate is set)", name, s.mr, nr),
		fmt.Sprintf("from a packed kc×%d A panel and a packed kc×%d B panel.", s.mr, nr))

	kc := Load(Param("kc"), GP64())
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())

	acc, bv, t := tile(s)
	// The k loop is unrolled four times (fewer pointer updates and
	// branches per FMA), with a one-step loop for the remainder.
	step := func(u int) {
		Comment(fmt.Sprintf("k step +%d: acc[i][j] += A[p][i] * B[p][j]", u))
		fmaStep(s, acc, bv, t, func(j int) Mem { return Mem{Base: b, Disp: 4 * (u*nr + s.lanes*j)} },
			func(i int) Mem { return Mem{Base: a, Disp: 4 * (u*s.mr + i)} })
	}
	n4 := GP64()
	MOVQ(kc, n4)
	SHRQ(Imm(2), n4)
	JE(LabelRef("tail"))
	Label("loop4")
	for u := 0; u < 4; u++ {
		step(u)
	}
	ADDQ(U32(16*s.mr), a)
	ADDQ(U32(16*nr), b)
	DECQ(n4)
	JNE(LabelRef("loop4"))
	Label("tail")
	ANDQ(Imm(3), kc)
	JE(LabelRef("store"))
	Label("loop1")
	step(0)
	ADDQ(U32(4*s.mr), a)
	ADDQ(U32(4*nr), b)
	DECQ(kc)
	JNE(LabelRef("loop1"))

	Label("store")
	storeOrAdd("C[i][:]", "acc[i]", func(c, ldc reg.Register, add bool) { storeTile(acc, c, ldc, s.lanes, add) })
}

// tile allocates the registers of an s.mr × (s.nrVec·s.lanes) tile: the
// accumulators, zeroed, and those of one k step (a row of B and a
// broadcast value of A).
func tile(s gemmShape) (acc [][]reg.VecVirtual, bv []reg.VecVirtual, t reg.VecVirtual) {
	Comment("acc[i][j] holds C[i][j*lanes : (j+1)*lanes] of the tile.")
	acc = make([][]reg.VecVirtual, s.mr)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, s.nrVec)
		for j := range acc[i] {
			acc[i][j] = s.vec()
			zero(acc[i][j], s.lanes)
		}
	}
	bv = make([]reg.VecVirtual, s.nrVec)
	for j := range bv {
		bv[j] = s.vec()
	}
	return acc, bv, s.vec()
}

// fmaStep emits one k step: load B's row, vector j from bAt(j), then for
// each row i broadcast A's value from aAt(i) and add its products.
func fmaStep(s gemmShape, acc [][]reg.VecVirtual, bv []reg.VecVirtual, t reg.VecVirtual, bAt, aAt func(int) Mem) {
	for j := range bv {
		VMOVUPS(bAt(j), bv[j])
	}
	for i := 0; i < s.mr; i++ {
		VBROADCASTSS(aAt(i), t)
		for j := range bv {
			VFMADD231PS(bv[j], t, acc[i][j])
		}
	}
}

// packB emits the copy of whole nr-wide panels of a row-major B into the
// packed layout: row p of panel q goes to dst[q*panelStride + p*nr:][:nr].
// Packing reads every element of B once per call, so on short, wide
// products it costs as much as a large share of the multiply; whole-vector
// moves here replace a memmove call per panel row.

// storeOrAdd emits the end of a tile kernel: store(c, ldcBytes, add) writes
// the tile to C (at the parameters c and ldc) when accumulate is false and
// adds it when true, then the function returns. The comments name the
// destination and the value.
func storeOrAdd(dst, val string, store func(c, ldcBytes reg.Register, add bool)) {
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(Imm(2), ldc)
	flag := Load(Param("accumulate"), GP8())
	TESTB(flag, flag)
	JE(LabelRef("overwrite"))
	Comment(dst + " += " + val)
	store(c, ldc, true)
	VZEROUPPER()
	RET()
	Label("overwrite")
	Comment(dst + " = " + val)
	store(c, ldc, false)
	VZEROUPPER()
	RET()
}

// dotTile emits sgemmDot4x3AVX2, the tile of a product whose operands
// both run along k in memory (C = A·Bᵀ with A and B row-major): each of
// the 4×3 dot products of 4 rows of A with 3 rows of B sums in eight
// lanes of its own register as the rows are read, vector by vector, and
// the lanes are added at the end. The rows need no packing, so there is
// no transpose, which the outer-product tile would need on both operands.
// A k step loads 4 + 3 vectors for 12 FMAs, as many loads per FMA as the
// outer-product tile's 3 + 4 broadcasts. The last k mod 8 values are read
// with masked loads, which touch nothing past the rows. Each sum is
// ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)) of its lanes l.
func dotTile() {
	const mr, nr = 4, 3
	name := "sgemmDot4x3AVX2"
	TEXT(name, NOSPLIT, "func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, accumulate bool)")
	Pragma("noescape")
	Doc(name+" sets the 4×3 tile at c (row stride ldc) to the dot products of rows i of A (lda apart)",
		"and rows j of B (ldb apart), each of k values, or adds them when accumulate is set.")
	k := Load(Param("k"), GP64())
	rows := func(base, ld string, n int) []reg.GPVirtual {
		p := make([]reg.GPVirtual, n)
		p[0] = Load(Param(base), GP64()).(reg.GPVirtual)
		stride := Load(Param(ld), GP64())
		SHLQ(Imm(2), stride)
		for i := 1; i < n; i++ {
			p[i] = GP64()
			LEAQ(Mem{Base: p[i-1], Index: stride, Scale: 1}, p[i])
		}
		return p
	}
	a, b := rows("a", "lda", mr), rows("b", "ldb", nr)
	Comment("acc[i][j] holds the eight lane sums of row i of A times row j of B.")
	acc := make([][]reg.VecVirtual, mr)
	for i := range acc {
		acc[i] = make([]reg.VecVirtual, nr)
		for j := range acc[i] {
			acc[i][j] = YMM()
			VXORPS(acc[i][j], acc[i][j], acc[i][j])
		}
	}
	off := GP64() // bytes read of every row so far
	XORQ(off, off)
	n := GP64()
	MOVQ(k, n)
	SHRQ(Imm(3), n)
	JE(LabelRef("tail"))
	Label("loop")
	Comment("acc[i][j] += a[i][p:p+8] * b[j][p:p+8]")
	bv := make([]reg.VecVirtual, nr)
	for j := range bv {
		bv[j] = YMM()
		VMOVUPS(Mem{Base: b[j], Index: off, Scale: 1}, bv[j])
	}
	for i := 0; i < mr; i++ {
		t := YMM()
		VMOVUPS(Mem{Base: a[i], Index: off, Scale: 1}, t)
		for j := range bv {
			VFMADD231PS(bv[j], t, acc[i][j])
		}
	}
	ADDQ(Imm(32), off)
	DECQ(n)
	JNE(LabelRef("loop"))

	Label("tail")
	ANDQ(Imm(7), k)
	JE(LabelRef("reduce"))
	Comment("The last k mod 8 values: lanes past them load as zero.")
	m := loadTailMask(k)
	for j := 0; j < nr; j++ {
		t := YMM()
		VMASKMOVPS(Mem{Base: b[j], Index: off, Scale: 1}, m, t)
		for i := 0; i < mr; i++ {
			u := YMM()
			VMASKMOVPS(Mem{Base: a[i], Index: off, Scale: 1}, m, u)
			VFMADD231PS(t, u, acc[i][j])
		}
	}

	Label("reduce")
	Comment("r[i][j] = ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)) of acc[i][j]: pairs, then quads, then the two halves.")
	r := make([]reg.VecVirtual, mr)
	for i := range r {
		h1, h2, h := YMM(), YMM(), YMM()
		VHADDPS(acc[i][1], acc[i][0], h1) // a01 a23 b01 b23 per half
		VHADDPS(acc[i][2], acc[i][2], h2) // c01 c23 c01 c23
		VHADDPS(h2, h1, h)                // a b c c per half
		hi := XMM()
		VEXTRACTF128(Imm(1), h, hi)
		r[i] = XMM()
		VADDPS(hi, h.AsX(), r[i])
	}
	storeOrAdd("C[i][0:3]", "r[i]", func(c, ldc reg.Register, add bool) { dotStore(r, c, ldc, add) })
}

// tailMask is 8 int32 −1 then 8 zeros: tailMask[8−r:][:8] selects the
// first r lanes of a vector, for the masked loads and stores of a last
// partial vector.
var tailMask Mem

// loadTailMask returns the mask of the first rem lanes, rem in [0, 8), in
// a new register; it overwrites rem with 4·rem.
func loadTailMask(rem reg.Register) reg.VecVirtual {
	Comment("mask = tailMask[8-rem:][:8]")
	m, p := YMM(), GP64()
	LEAQ(tailMask.Offset(32), p)
	SHLQ(Imm(2), rem)
	SUBQ(rem, p)
	VMOVUPS(Mem{Base: p}, m)
	return m
}

// copyRows emits copyRowsAVX2, the body of CopyRows: whole vectors of each
// row, then its last cols mod 8 values with masked loads and stores (which
// touch nothing past the row), skipped when there are none.
func copyRows() {
	name := "copyRowsAVX2"
	TEXT(name, NOSPLIT, "func(dst *float32, ldd int, src *float32, lds, cols, rows int)")
	Pragma("noescape")
	Doc(name + " is CopyRows for rows rows of cols values, rows and cols positive.")
	dst := Load(Param("dst"), GP64())
	ldd := Load(Param("ldd"), GP64())
	src := Load(Param("src"), GP64())
	lds := Load(Param("lds"), GP64())
	cols := Load(Param("cols"), GP64())
	rows := Load(Param("rows"), GP64())
	SHLQ(Imm(2), ldd)
	SHLQ(Imm(2), lds)
	vecs, rem := GP64(), GP64()
	MOVQ(cols, vecs)
	SHRQ(Imm(3), vecs)
	MOVQ(cols, rem)
	ANDQ(Imm(7), rem)
	m := loadTailMask(rem)
	Label("row")
	s, d, n := GP64(), GP64(), GP64()
	MOVQ(src, s)
	MOVQ(dst, d)
	MOVQ(vecs, n)
	TESTQ(n, n)
	JE(LabelRef("tail"))
	Label("vec")
	Comment("d[0:8] = s[0:8]")
	v := YMM()
	VMOVUPS(Mem{Base: s}, v)
	VMOVUPS(v, Mem{Base: d})
	ADDQ(Imm(32), s)
	ADDQ(Imm(32), d)
	DECQ(n)
	JNE(LabelRef("vec"))
	Label("tail")
	TESTQ(rem, rem)
	JE(LabelRef("next"))
	Comment("the last cols mod 8 values")
	t := YMM()
	VMASKMOVPS(Mem{Base: s}, m, t)
	VMASKMOVPS(t, m, Mem{Base: d})
	Label("next")
	ADDQ(lds, src)
	ADDQ(ldd, dst)
	DECQ(rows)
	JNE(LabelRef("row"))
	VZEROUPPER()
	RET()
}

// dotStore writes (or adds) elements 0-2 of each r[i] to the row of C at
// c + i·ldcBytes.
func dotStore(r []reg.VecVirtual, c, ldcBytes reg.Register, add bool) {
	row := GP64()
	MOVQ(c, row)
	for i, v := range r {
		if add {
			t := XMM()
			VMOVSD(Mem{Base: row}, t)
			VINSERTPS(Imm(0x20), Mem{Base: row, Disp: 8}, t, t) // element 2 from memory
			VADDPS(t, v, v)
		}
		VMOVSD(v, Mem{Base: row})
		VEXTRACTPS(Imm(2), v, Mem{Base: row, Disp: 8})
		if i+1 < len(r) {
			ADDQ(ldcBytes, row)
		}
	}
}

// packB emits the copy of whole nr-wide panels of a row-major B into the
// packed layout: row p of panel q goes to dst[q*panelStride + p*nr:][:nr].
// Packing reads every element of B once per call, so on short, wide
// products it costs as much as a large share of the multiply; whole-vector
// moves here replace a memmove call per panel row.
func packB(s gemmShape) {
	nr := s.nrVec * s.lanes
	name := fmt.Sprintf("packB%d%s", nr, s.isa)
	TEXT(name, NOSPLIT, "func(dst, src *float32, rows, panels, ldb, panelStride int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s copies rows×(panels·%d) floats of B (row stride ldb) into packed panels", name, nr),
		"panelStride floats apart; rows and panels must be positive.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	rows := Load(Param("rows"), GP64())
	panels := Load(Param("panels"), GP64())
	ldb := Load(Param("ldb"), GP64())
	stride := Load(Param("panelStride"), GP64())
	SHLQ(Imm(2), ldb)
	SHLQ(Imm(2), stride)
	v := make([]reg.VecVirtual, s.nrVec)
	for i := range v {
		v[i] = s.vec()
	}
	Label("row")
	from, to, q := GP64(), GP64(), GP64()
	MOVQ(src, from)
	MOVQ(dst, to)
	MOVQ(panels, q)
	Label("panel")
	Comment("to[0:nr] = from[0:nr]")
	for i := range v {
		VMOVUPS(Mem{Base: from, Disp: 4 * s.lanes * i}, v[i])
	}
	for i := range v {
		VMOVUPS(v[i], Mem{Base: to, Disp: 4 * s.lanes * i})
	}
	ADDQ(Imm(uint64(4*nr)), from)
	ADDQ(stride, to)
	DECQ(q)
	JNE(LabelRef("panel"))
	ADDQ(ldb, src)
	ADDQ(Imm(uint64(4*nr)), dst)
	DECQ(rows)
	JNE(LabelRef("row"))
	VZEROUPPER()
	RET()
}

// transpose emits transposeRx8AVX2: for each of blocks column blocks of an
// r×8 tile of src (rows lds floats apart), write its 8 columns as 8 rows of
// r floats, ldd apart: dst[(8b+j)*ldd + i] = src[i*lds + 8b + j]. Packing
// uses it wherever the packed order crosses the stored order (A stored
// row-major, B stored transposed), which scalar loops do slowly.
func transpose(r int) {
	name := fmt.Sprintf("transpose%dx8AVX2", r)
	TEXT(name, NOSPLIT, "func(dst, src *float32, blocks, lds, ldd int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s writes column j of each %d×8 block of src as row j of dst; blocks must be positive.", name, r))
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	blocks := Load(Param("blocks"), GP64())
	lds := Load(Param("lds"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(Imm(2), lds)
	SHLQ(Imm(2), ldd)
	Label("block")
	Comment("v[i] = src[i*lds : i*lds+8]")
	v := make([]reg.VecVirtual, r)
	row := GP64()
	MOVQ(src, row)
	for i := range v {
		v[i] = YMM()
		VMOVUPS(Mem{Base: row}, v[i])
		if i+1 < r {
			ADDQ(lds, row)
		}
	}
	// Within each 128-bit lane: interleave row pairs, then pick pairs of
	// pairs, giving s[4q+c] = column c (low lane) and c+4 (high lane) of
	// rows 4q..4q+3.
	s := make([]reg.VecVirtual, r)
	for q := 0; q < r/4; q++ {
		lo01, hi01, lo23, hi23 := YMM(), YMM(), YMM(), YMM()
		VUNPCKLPS(v[4*q+1], v[4*q], lo01)
		VUNPCKHPS(v[4*q+1], v[4*q], hi01)
		VUNPCKLPS(v[4*q+3], v[4*q+2], lo23)
		VUNPCKHPS(v[4*q+3], v[4*q+2], hi23)
		for c, pair := range [][2]reg.VecVirtual{{lo01, lo23}, {lo01, lo23}, {hi01, hi23}, {hi01, hi23}} {
			s[4*q+c] = YMM()
			imm := uint64(0x44) // elements 0,1 of each
			if c%2 == 1 {
				imm = 0xEE // elements 2,3 of each
			}
			VSHUFPS(Imm(imm), pair[1], pair[0], s[4*q+c])
		}
	}
	out := GP64()
	MOVQ(dst, out)
	for j := 0; j < 8; j++ {
		c := j % 4
		m := Mem{Base: out}
		if r == 4 {
			Comment(fmt.Sprintf("dst row %d = column %d", j, j))
			if j < 4 {
				VMOVUPS(s[c].AsX(), m)
			} else {
				VEXTRACTF128(Imm(1), s[c], m)
			}
		} else {
			Comment(fmt.Sprintf("dst row %d = column %d: its rows 0-3 and 4-7 from two lanes", j, j))
			t := YMM()
			imm := uint64(0x20) // low lanes of both
			if j >= 4 {
				imm = 0x31 // high lanes of both
			}
			VPERM2F128(Imm(imm), s[4+c], s[c], t)
			VMOVUPS(t, m)
		}
		ADDQ(ldd, out)
	}
	ADDQ(Imm(32), src)
	MOVQ(out, dst)
	DECQ(blocks)
	JNE(LabelRef("block"))
	VZEROUPPER()
	RET()
}

// storeTile writes acc to the rows of C starting at c, ldcBytes apart.
func storeTile(acc [][]reg.VecVirtual, c, ldcBytes reg.Register, lanes int, add bool) {
	row := GP64()
	MOVQ(c, row)
	for i := range acc {
		for j, v := range acc[i] {
			m := Mem{Base: row, Disp: 4 * lanes * j}
			if add {
				VADDPS(m, v, v)
			}
			VMOVUPS(v, m)
		}
		if i+1 < len(acc) {
			ADDQ(ldcBytes, row)
		}
	}
}

// zero clears v: VXORPS for YMM, VPXORD for ZMM (VXORPS on ZMM needs AVX512DQ).
func zero(v reg.VecVirtual, lanes int) {
	if lanes == 16 {
		VPXORD(v, v, v)
		return
	}
	VXORPS(v, v, v)
}

// vecStep processes one YMM vector of every stream at byte offset disp from
// the stream pointers p (in the order the slices were named).
type vecStep func(p []reg.GPVirtual, disp int)

// elementwise emits a loop over the slices named in streams, all as long as
// the first, whose length must be a multiple of 8; setup loads any other
// parameters and returns the per-vector step.
func elementwise(name, sig string, streams []string, setup func() vecStep) {
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name + " is the AVX2 body of the generic loop; len must be a multiple of 8.")
	step := setup()
	n := Load(Param(streams[0]).Len(), GP64())
	p := make([]reg.GPVirtual, len(streams))
	for i, s := range streams {
		p[i] = Load(Param(s).Base(), GP64()).(reg.GPVirtual)
	}
	Label("loop4")
	CMPQ(n, Imm(32))
	JL(LabelRef("loop1"))
	for u := 0; u < 4; u++ {
		step(p, 32*u)
	}
	advance(p, n, 32)
	JMP(LabelRef("loop4"))
	Label("loop1")
	CMPQ(n, Imm(8))
	JL(LabelRef("done"))
	step(p, 0)
	advance(p, n, 8)
	JMP(LabelRef("loop1"))
	Label("done")
	VZEROUPPER()
	RET()
}

// advance moves every stream pointer on by floats elements and counts them off n.
func advance(p []reg.GPVirtual, n reg.Register, floats int) {
	for _, r := range p {
		ADDQ(Imm(uint64(4*floats)), r)
	}
	SUBQ(Imm(uint64(floats)), n)
}

func at(r reg.Register, disp int) Mem { return Mem{Base: r, Disp: disp} }

// broadcast loads the float32 parameter name into all lanes of a YMM.
func broadcast(name string) reg.VecVirtual {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	v := YMM()
	VBROADCASTSS(b.Addr, v)
	return v
}

// axpy: y[i] += alpha*x[i], streams x, y.
func axpy() vecStep {
	alpha := broadcast("alpha")
	return func(p []reg.GPVirtual, d int) {
		t := YMM()
		VMOVUPS(at(p[1], d), t)
		VFMADD231PS(at(p[0], d), alpha, t)
		VMOVUPS(t, at(p[1], d))
	}
}

// scale: x[i] *= alpha, stream x.
func scale() vecStep {
	alpha := broadcast("alpha")
	return func(p []reg.GPVirtual, d int) {
		t := YMM()
		VMULPS(at(p[0], d), alpha, t)
		VMOVUPS(t, at(p[0], d))
	}
}

// binary: dst[i] = x[i] op y[i], streams dst, x, y.
func binary(op func(...Op)) func() vecStep {
	return func() vecStep {
		return func(p []reg.GPVirtual, d int) {
			t := YMM()
			VMOVUPS(at(p[1], d), t)
			op(at(p[2], d), t, t)
			VMOVUPS(t, at(p[0], d))
		}
	}
}

// relu: dst[i] = x[i] where x[i] > 0 or NaN, else +0; streams dst, x.
// The mask is "not (x <= 0)", which is true for NaN, as torch.relu keeps NaN.
func relu() vecStep {
	z := YMM()
	VXORPS(z, z, z)
	return func(p []reg.GPVirtual, d int) {
		t, m := YMM(), YMM()
		VMOVUPS(at(p[1], d), t)
		VCMPPS(Imm(6), z, t, m) // predicate 6: NLE_UQ, m = !(t <= 0)
		VANDPS(t, m, m)
		VMOVUPS(m, at(p[0], d))
	}
}

// accStep adds the contribution of one YMM vector of every stream, at byte
// offset disp from the stream pointers p, to the accumulators acc (one per
// result).
type accStep func(p []reg.GPVirtual, disp int, acc []reg.VecVirtual)

// affine: dst = a·x + b (+ r when add), then max(·, 0) keeping NaN (when
// relu, as relu does); streams dst, x[, r].
func affine(add, relu bool) func() vecStep {
	return func() vecStep {
		a, b := broadcast("a"), broadcast("b")
		z := YMM()
		if relu {
			VXORPS(z, z, z)
		}
		return func(p []reg.GPVirtual, d int) {
			t := YMM()
			VMOVUPS(at(p[1], d), t)
			VFMADD213PS(b, a, t) // t = a*t + b
			if add {
				VADDPS(at(p[2], d), t, t)
			}
			if relu {
				m := YMM()
				VCMPPS(Imm(6), z, t, m) // predicate 6: NLE_UQ, m = !(t <= 0)
				VANDPS(t, m, t)
			}
			VMOVUPS(t, at(p[0], d))
		}
	}
}

// combine: dst = a·x + (b·y + c), streams dst, x, y.
func combine() vecStep {
	a, b, c := broadcast("a"), broadcast("b"), broadcast("c")
	return func(p []reg.GPVirtual, d int) {
		t := YMM()
		VMOVUPS(at(p[2], d), t)
		VFMADD213PS(c, b, t)           // t = b*y + c
		VFMADD231PS(at(p[1], d), a, t) // t += a*x
		VMOVUPS(t, at(p[0], d))
	}
}

// reduction emits a loop over the slices named in streams, all as long as
// the one named lenOf, whose length must be a multiple of 8, that keeps
// four accumulators per result (one per unrolled vector) and returns each
// result combined in a fixed order. setup loads any other parameters and
// returns the per-vector step.
func reduction(name, sig string, streams []string, lenOf string, results int, setup func() accStep) {
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(name + " is the AVX2 body of the generic loop; len must be a multiple of 8.")
	step := setup()
	n := Load(Param(lenOf).Len(), GP64())
	p := make([]reg.GPVirtual, len(streams))
	for i, s := range streams {
		p[i] = Load(Param(s).Base(), GP64()).(reg.GPVirtual)
	}
	acc := make([][]reg.VecVirtual, 4) // acc[u][k]: unrolled vector u, result k
	for u := range acc {
		acc[u] = make([]reg.VecVirtual, results)
		for k := range acc[u] {
			acc[u][k] = YMM()
			VXORPS(acc[u][k], acc[u][k], acc[u][k])
		}
	}
	Label("loop4")
	CMPQ(n, Imm(32))
	JL(LabelRef("loop1"))
	for u := range acc {
		step(p, 32*u, acc[u])
	}
	advance(p, n, 32)
	JMP(LabelRef("loop4"))
	Label("loop1")
	CMPQ(n, Imm(8))
	JL(LabelRef("reduce"))
	step(p, 0, acc[0])
	advance(p, n, 8)
	JMP(LabelRef("loop1"))

	Label("reduce")
	for k := 0; k < results; k++ {
		Comment(fmt.Sprintf("result %d: ((acc0+acc1) + (acc2+acc3)), then lanes (0..3)+(4..7), then pairwise.", k))
		a := []reg.VecVirtual{acc[0][k], acc[1][k], acc[2][k], acc[3][k]}
		VADDPS(a[1], a[0], a[0])
		VADDPS(a[3], a[2], a[2])
		VADDPS(a[2], a[0], a[0])
		lo, hi := a[0].AsX(), XMM()
		VEXTRACTF128(Imm(1), a[0], hi)
		VADDPS(hi, lo, lo)
		t := XMM()
		VMOVHLPS(lo, lo, t)
		VADDPS(t, lo, lo)
		VMOVSHDUP(lo, t)
		VADDSS(t, lo, lo)
		Store(lo, ReturnIndex(k))
	}
	VZEROUPPER()
	RET()
}

// sum: acc += x, stream x.
func sum() accStep {
	return func(p []reg.GPVirtual, d int, acc []reg.VecVirtual) {
		VADDPS(at(p[0], d), acc[0], acc[0])
	}
}

// dot: acc += x·y, streams x, y.
func dot() accStep {
	return func(p []reg.GPVirtual, d int, acc []reg.VecVirtual) {
		t := YMM()
		VMOVUPS(at(p[0], d), t)
		VFMADD231PS(at(p[1], d), t, acc[0])
	}
}

// sumSquaredDev emits sumSquaredDevAVX2, sumSquaredDevGeneric's loop to
// the bit: lane l of one accumulator sums (x[i+l] − m)² unfused, as the
// generic s[l] does, and the lanes combine as reduce8 does: (l, l+4)
// pairs, then (0+1) + (2+3). The batch-norm variance needs those bits:
// the parity tests' few training steps amplify an ulp past tolerance.
func sumSquaredDev() {
	name := "sumSquaredDevAVX2"
	TEXT(name, NOSPLIT, "func(x []float32, m float32) float32")
	Pragma("noescape")
	Doc(name + " is sumSquaredDevGeneric's whole-vector loop, bit for bit; len must be a multiple of 8.")
	m := broadcast("m")
	n := Load(Param("x").Len(), GP64())
	p := Load(Param("x").Base(), GP64())
	acc := YMM()
	VXORPS(acc, acc, acc)
	Label("loop")
	CMPQ(n, Imm(8))
	JL(LabelRef("reduce"))
	t := YMM()
	VMOVUPS(Mem{Base: p}, t)
	VSUBPS(m, t, t)
	VMULPS(t, t, t)
	VADDPS(t, acc, acc)
	ADDQ(Imm(32), p)
	SUBQ(Imm(8), n)
	JMP(LabelRef("loop"))
	Label("reduce")
	Comment("w[k] = s[k] + s[k+4], then (w0+w1) + (w2+w3)")
	lo, hi := acc.AsX(), XMM()
	VEXTRACTF128(Imm(1), acc, hi)
	VADDPS(hi, lo, lo)
	VHADDPS(lo, lo, lo)
	u := XMM()
	VMOVSHDUP(lo, u)
	VADDSS(u, lo, lo)
	Store(lo, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// gradSums: g′ = g, or g where y > 0 as int32 (mask), is stored to dst
// (store); acc[0] += g′, acc[1] += g′·(x − m). Streams g, [y,] x[, dst].
func gradSums(mask, store bool) func() accStep {
	return func() accStep {
		m := broadcast("m")
		z := YMM()
		if mask {
			VPXOR(z, z, z)
		}
		return func(p []reg.GPVirtual, d int, acc []reg.VecVirtual) {
			g, x := p[0], p[1]
			if mask {
				x = p[2]
			}
			v := YMM()
			if mask {
				VMOVUPS(at(p[1], d), v)
				VPCMPGTD(z, v, v) // v = int32(y) > 0: all ones or zero
				VANDPS(at(g, d), v, v)
			} else {
				VMOVUPS(at(g, d), v)
			}
			if store {
				VMOVUPS(v, at(p[len(p)-1], d))
			}
			VADDPS(v, acc[0], acc[0])
			t := YMM()
			VMOVUPS(at(x, d), t)
			VSUBPS(m, t, t)
			VFMADD231PS(v, t, acc[1])
		}
	}
}
