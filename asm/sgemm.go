package asm

import (
	"fmt"
	"sync"

	"github.com/klauspost/cpuid/v2"
)

// gemmKernel is a register-blocked micro-kernel with the BLIS contract: it
// loops over k only, reading packed panels, and never touches C before the
// whole product is summed, so that full and edge tiles round alike.
type gemmKernel struct {
	name   string
	mr, nr int // rows and columns of the C tile held in registers
	// micro sets the mr×nr tile at c (row stride ldc) to A·B, or adds A·B to
	// it when accumulate is set. a holds kc groups of mr values (a column of
	// the A panel each), b kc groups of nr values (a row of the B panel each).
	micro func(kc int, a, b, c *float32, ldc int, accumulate bool)
	// packB copies rows×(panels·nr) floats of a row-major B (row stride
	// ldb) into panels panelStride floats apart: the bulk of packing.
	packB func(dst, src *float32, rows, panels, ldb, panelStride int)
	// transpose4 and transpose8 write each column j of blocks r×8 blocks
	// of src (r = 4 or 8 rows, lds apart) as a row of dst (ldd apart):
	// dst[(8b+j)*ldd + i] = src[i*lds + 8b + j]. Packing uses them where
	// the packed order crosses the stored one.
	transpose4, transpose8 func(dst, src *float32, blocks, lds, ldd int)
}

// transposer returns the transpose for blocks of r rows, or nil.
func (g gemmKernel) transposer(r int) func(dst, src *float32, blocks, lds, ldd int) {
	switch r {
	case 4:
		return g.transpose4
	case 8:
		return g.transpose8
	}
	return nil
}

// blockSizes are the BLIS cache-blocking sizes for the five loops
// jc (nc) / pc (kc) / ic (mc) / jr (nr) / ir (mr).
type blockSizes struct {
	// kc is the depth of a packed panel, chosen so that one kc×nr panel of B
	// fills at most 3/4 of L1 and stays there while ir streams A past it.
	kc int
	// mc is the row count of a packed mc×kc block of A, sized to half of L2
	// so the block is reused from L2 across every jr step.
	mc int
	// nc is the column count of a packed kc×nc block of B, sized to a quarter
	// of L3 (shared by the cores) so it is read from memory once per pc.
	nc int
	// ncShort replaces nc when all of op(A) fits one mc block: the kc×ncShort
	// block of B fills half of L2.
	ncShort int
}

// blocks holds the sizes for the active kernel.
var blocks blockSizes

// blockSizesFor derives the blocking of kernel g from the cache sizes that
// cpuid reports, with common sizes where it reports none (as in some VMs).
func blockSizesFor(g gemmKernel) blockSizes {
	l1, l2, l3 := cpuid.CPU.Cache.L1D, cpuid.CPU.Cache.L2, cpuid.CPU.Cache.L3
	if l1 <= 0 {
		l1 = 32 << 10
	}
	if l2 <= 0 {
		l2 = 512 << 10
	}
	if l3 <= 0 {
		l3 = 8 << 20
	}
	kc := clamp(l1*3/4/(4*g.nr)/16*16, 64, 512)
	mc := clamp(l2/2/(4*kc)/g.mr*g.mr, g.mr, 1<<12/g.mr*g.mr)
	nc := clamp(l3/4/(4*kc)/g.nr*g.nr, g.nr, 1<<13/g.nr*g.nr)
	ncShort := clamp(l2/2/(4*kc)/g.nr*g.nr, g.nr, nc)
	return blockSizes{kc: kc, mc: mc, nc: nc, ncShort: ncShort}
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// parallelFlops is the smallest product (2·m·n·k) worth splitting across
// goroutines; below it the start-up cost outweighs the gain.
const parallelFlops = 1 << 21

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(X) is X or Xᵀ. Sgemm is:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += opA(i, p) * opB(p, j)
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//		}
//	}
//
// with opA(i, p) = a[i*lda+p] (a[p*lda+i] if transA) and opB(p, j) =
// b[p*ldb+j] (b[j*ldb+p] if transB). When beta is 0, C is not read, so it
// may hold NaNs. Sgemm uses up to Threads() goroutines, each owning whole
// output tiles, so the result does not depend on the thread count.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(Threads(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm computed on the calling goroutine only, for callers
// that already run independent products on parallel goroutines (a layer's
// images, say): it saves the start-up of goroutines that would only compete
// for the same cores. Its results are bit-identical to Sgemm's.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemm(1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleRows(m, n, beta, c, ldc)
		return
	}
	if beta != 0 && beta != 1 {
		scaleRows(m, n, beta, c, ldc)
	}
	g := gemm{
		kern: active.gemm, bs: blocks,
		transA: transA, transB: transB, k: k, alpha: alpha,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
		overwrite: beta == 0,
	}
	var partsBuf [8]span
	parts := splitOutput(partsBuf[:0], m, n, g.kern.mr, g.kern.nr, threads, 2*m*n*k >= parallelFlops)
	if len(parts) == 1 {
		g.run(parts[0]) // g stays on the stack: most products are serial
		return
	}
	shared := new(gemm) // a copy for the goroutines, so that g itself never escapes
	*shared = g
	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shared.run(p)
		}()
	}
	wg.Wait()
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("asm: Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	checkMatrix("A", rowsA, colsA, la, lda)
	checkMatrix("B", rowsB, colsB, lb, ldb)
	checkMatrix("C", m, n, lc, ldc)
}

// checkMatrix panics unless a rows×cols matrix with leading dimension ld
// fits in a slice of length l.
func checkMatrix(name string, rows, cols, l, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("asm: Sgemm: ld%s=%d is less than its %d columns", name, ld, cols))
	}
	if rows > 0 && cols > 0 && l < (rows-1)*ld+cols {
		panic(fmt.Sprintf("asm: Sgemm: %s has %d elements, need %d for %d×%d with ld %d", name, l, (rows-1)*ld+cols, rows, cols, ld))
	}
}

// scaleRows sets C = beta·C, writing zeros (not reading C) when beta is 0.
func scaleRows(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			Scale(beta, row)
		}
	}
}

// span is a block of C rows [i0, i1) × columns [j0, j1).
type span struct{ i0, i1, j0, j1 int }

// splitOutput divides the m×n output among up to t goroutines, appending
// the parts to parts (empty; storage the caller keeps off the heap). It
// splits the wider dimension in whole tiles, so every element is computed
// by the same sequence of operations whatever t is.
func splitOutput(parts []span, m, n, mr, nr, t int, big bool) []span {
	tilesM, tilesN := (m+mr-1)/mr, (n+nr-1)/nr
	if !big || t <= 1 || max(tilesM, tilesN) < 2 {
		return append(parts, span{0, m, 0, n})
	}
	if tilesN >= tilesM || tilesN >= t {
		t = min(t, tilesN)
		for p := 0; p < t; p++ {
			j0, j1 := tilesN*p/t*nr, min(tilesN*(p+1)/t*nr, n)
			parts = append(parts, span{0, m, j0, j1})
		}
		return parts
	}
	t = min(t, tilesM)
	for p := 0; p < t; p++ {
		i0, i1 := tilesM*p/t*mr, min(tilesM*(p+1)/t*mr, m)
		parts = append(parts, span{i0, i1, 0, n})
	}
	return parts
}

// gemm is one Sgemm call, shared read-only by the goroutines working on it.
type gemm struct {
	kern           gemmKernel
	bs             blockSizes
	transA, transB bool
	k              int
	alpha          float32
	a, b, c        []float32
	lda, ldb, ldc  int
	overwrite      bool // beta == 0: the first k block stores instead of adding
}

// buffers are one goroutine's packing space.
type buffers struct {
	a, b, tile []float32
}

var bufferPool = sync.Pool{New: func() any { return new(buffers) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// run computes the output block s with the five BLIS loops.
func (g *gemm) run(s span) {
	mr, nr := g.kern.mr, g.kern.nr
	kc, mc, nc := g.bs.kc, g.bs.mc, g.bs.nc
	buf := bufferPool.Get().(*buffers)
	defer bufferPool.Put(buf)
	buf.tile = grow(buf.tile, mr*nr)
	m := s.i1 - s.i0
	// oneA: all of op(A) is one mc block, so pack it once for every pc
	// step instead of once per jc step. Then each packed B block is used
	// by a single pass of the ir loop, so it is sized to stay in L2 between
	// packing and use rather than going through memory; this is what makes
	// short, wide products (convolutions) fast.
	oneA := m <= mc
	mPad := (m + mr - 1) / mr * mr
	if oneA {
		nc = g.bs.ncShort
		buf.a = grow(buf.a, mPad*g.k)
		for pc := 0; pc < g.k; pc += kc {
			g.packA(buf.a[pc*mPad:], s.i0, m, pc, min(kc, g.k-pc))
		}
	} else {
		buf.a = grow(buf.a, mc*kc)
	}
	buf.b = grow(buf.b, kc*(nc+nr))
	for jc := s.j0; jc < s.j1; jc += nc {
		ncur := min(nc, s.j1-jc)
		for pc := 0; pc < g.k; pc += kc {
			kcur := min(kc, g.k-pc)
			accumulate := pc > 0 || !g.overwrite
			g.packB(buf.b, pc, kcur, jc, ncur)
			if oneA {
				g.macro(buf.a[pc*mPad:], buf.b, buf.tile, s.i0, m, jc, ncur, kcur, accumulate)
				continue
			}
			for ic := s.i0; ic < s.i1; ic += mc {
				mcur := min(mc, s.i1-ic)
				g.packA(buf.a, ic, mcur, pc, kcur)
				g.macro(buf.a, buf.b, buf.tile, ic, mcur, jc, ncur, kcur, accumulate)
			}
		}
	}
}

// macro runs the jr and ir loops over the packed mcur×kcur block of A in a
// and kcur×ncur block of B in b, for the C block at (ic, jc). Edge tiles
// are computed whole into tile and then clipped into C.
func (g *gemm) macro(a, b, tile []float32, ic, mcur, jc, ncur, kcur int, accumulate bool) {
	mr, nr := g.kern.mr, g.kern.nr
	for jr := 0; jr < ncur; jr += nr {
		bp := &b[jr*kcur]
		for ir := 0; ir < mcur; ir += mr {
			ap := &a[ir*kcur]
			ci := (ic+ir)*g.ldc + jc + jr
			rows, cols := min(mr, mcur-ir), min(nr, ncur-jr)
			if rows == mr && cols == nr {
				g.kern.micro(kcur, ap, bp, &g.c[ci], g.ldc, accumulate)
				continue
			}
			g.kern.micro(kcur, ap, bp, &tile[0], nr, false)
			g.storeEdge(tile, ci, rows, cols, accumulate)
		}
	}
}

// storeEdge writes the valid rows×cols corner of a full tile computed into
// scratch, adding it to C when accumulate is set.
func (g *gemm) storeEdge(tile []float32, ci, rows, cols int, accumulate bool) {
	nr := g.kern.nr
	for r := 0; r < rows; r++ {
		dst := g.c[ci+r*g.ldc : ci+r*g.ldc+cols]
		src := tile[r*nr : r*nr+cols]
		if accumulate {
			for j, v := range src {
				dst[j] += v
			}
		} else {
			copy(dst, src)
		}
	}
}
