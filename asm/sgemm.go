package asm

import (
	"fmt"
	"sync"

	"github.com/glmc/glmc/internal/par"
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
	// dot, where not nil, sets the dotMR×dotNR tile at c (row stride ldc)
	// to the dot products of dotMR rows of A (lda apart) with dotNR rows
	// of B (ldb apart), k values each, or adds them when accumulate is
	// set. Products with A and op(B) = Bᵀ stored row-major, whose
	// operands both run along k in memory (a convolution's weight
	// gradient), use it on the rows as they are instead of transposing
	// both into packed panels.
	dot          func(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, accumulate bool)
	dotMR, dotNR int
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
	// dotFloats bounds the floats of B that one k block of runDot reads
	// (every dotMR rows of A meet all of them, so they should stay in
	// cache): half of L2. dotMinK is the least depth of such a block, 256,
	// which keeps the tile's set-up and reduction a small share of it.
	dotFloats, dotMinK int
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
	return blockSizes{kc: kc, mc: mc, nc: nc, ncShort: ncShort, dotFloats: l2 / 2 / 4, dotMinK: 256}
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
	mr, nr := g.kern.mr, g.kern.nr
	if g.useDot(n) {
		mr, nr = g.kern.dotMR, g.kern.dotNR
		g.dotKC = dotKC(g.bs, n, k)
	}
	parts := splitOutput(m, n, mr, nr, threads, 2*m*n*k >= parallelFlops)
	if parts == nil {
		g.runPart(span{0, m, 0, n})
		return
	}
	runParts(g, parts)
}

// runParts computes the blocks of parts at once, one per goroutine of
// par.For (the caller's included). It takes g by value, so that only the
// products split across goroutines move their gemm to the heap: the many
// small serial ones of a layer allocate nothing.
func runParts(g gemm, parts []span) {
	par.For(len(parts), len(parts), func(i int) { g.runPart(parts[i]) })
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

// splitOutput divides the m×n output among up to t goroutines, or returns
// nil when one goroutine computes all of it. It splits the wider dimension
// in whole tiles, so every element is computed by the same sequence of
// operations whatever t is.
func splitOutput(m, n, mr, nr, t int, big bool) []span {
	tilesM, tilesN := (m+mr-1)/mr, (n+nr-1)/nr
	if !big || t <= 1 || max(tilesM, tilesN) < 2 {
		return nil
	}
	var parts []span
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
	dotKC          int  // depth of runDot's k blocks; 0 for the packed panels
}

// runPart computes the output block s on the dot-product tiles or the
// packed panels, whichever sgemm chose.
func (g *gemm) runPart(s span) {
	if g.dotKC > 0 {
		g.runDot(s)
		return
	}
	g.run(s)
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
			g.storeEdge(tile, nr, ci, rows, cols, accumulate)
		}
	}
}

// useDot reports whether the product, n columns wide, runs on the
// dot-product tiles: where the kernel has them, for C = A·Bᵀ with alpha 1
// and at least dotMinK deep, unless the outer-product tiles cover n with
// less than 1/16 more padding (measured on convolutions' weight gradients:
// the dot-product tiles gain 3.3 against 5.0 ms on 32 columns, where
// 24-wide panels pad a third, and 3.3 against 3.6 on 64, and lose 6.8
// against 6.2 on 144, a multiple of 24 whose transposes cost less than the
// dot products' reading of B from L2). A tile's set-up and final sums need
// long rows; shorter products, as the linear layers' (k of 16 to 128
// features), keep the packed panels and their rounding.
func (g *gemm) useDot(n int) bool {
	if g.kern.dot == nil || !g.transB || g.transA || g.alpha != 1 || g.k < g.bs.dotMinK {
		return false
	}
	roundUp := func(v, m int) int { return (v + m - 1) / m * m }
	return 16*roundUp(n, g.kern.nr) > 17*roundUp(n, g.kern.dotNR)
}

// dotKC returns the depth of the k blocks of runDot for a product with n
// columns and depth k: as few blocks as keep the rows of B that one block
// reads within bs.dotFloats, all about as deep. It depends on the whole
// product's shape, not on a goroutine's share, so that every sum has the
// same order whatever the thread count.
func dotKC(bs blockSizes, n, k int) int {
	most := max(bs.dotMinK, bs.dotFloats/n/8*8)
	blocks := (k + most - 1) / most
	return ((k+blocks-1)/blocks + 7) / 8 * 8
}

// runDot computes the output block s of C = A·Bᵀ (A and B row-major, alpha
// 1) with the dot-product tiles: for each k block, each dotMR rows of A
// meet every dotNR rows of B. Where fewer rows than a tile's are left,
// they are copied once into zero-padded rows, and their tiles are computed
// whole and clipped into C.
func (g *gemm) runDot(s span) {
	mr, nr := g.kern.dotMR, g.kern.dotNR
	buf := bufferPool.Get().(*buffers)
	defer bufferPool.Put(buf)
	buf.tile = grow(buf.tile, mr*nr)
	buf.a = padRows(buf.a, g.a, g.lda, s.i0+(s.i1-s.i0)/mr*mr, s.i1, mr, g.k)
	buf.b = padRows(buf.b, g.b, g.ldb, s.j0+(s.j1-s.j0)/nr*nr, s.j1, nr, g.k)
	for pc := 0; pc < g.k; pc += g.dotKC {
		kcur := min(g.dotKC, g.k-pc)
		accumulate := pc > 0 || !g.overwrite
		for i := s.i0; i < s.i1; i += mr {
			rows := min(mr, s.i1-i)
			a, lda := g.a[i*g.lda+pc:], g.lda
			if rows < mr {
				a, lda = buf.a[pc:], g.k
			}
			for j := s.j0; j < s.j1; j += nr {
				cols := min(nr, s.j1-j)
				b, ldb := g.b[j*g.ldb+pc:], g.ldb
				if cols < nr {
					b, ldb = buf.b[pc:], g.k
				}
				ci := i*g.ldc + j
				if rows == mr && cols == nr {
					g.kern.dot(kcur, &a[0], lda, &b[0], ldb, &g.c[ci], g.ldc, accumulate)
					continue
				}
				g.kern.dot(kcur, &a[0], lda, &b[0], ldb, &buf.tile[0], nr, false)
				g.storeEdge(buf.tile, nr, ci, rows, cols, accumulate)
			}
		}
	}
}

// padRows returns, in dst grown to want rows of k values, the rows [r0,
// r1) of x (ld apart) followed by zero rows, or dst unchanged when there
// are no rows.
func padRows(dst, x []float32, ld, r0, r1, want, k int) []float32 {
	if r0 == r1 {
		return dst
	}
	dst = grow(dst, want*k)
	for r := range want {
		row := dst[r*k : (r+1)*k]
		if r0+r < r1 {
			copy(row, x[(r0+r)*ld:])
		} else {
			clear(row)
		}
	}
	return dst
}

// storeEdge writes the valid rows×cols corner of a full tile (row stride
// nr) computed into scratch, adding it to C when accumulate is set.
func (g *gemm) storeEdge(tile []float32, nr, ci, rows, cols int, accumulate bool) {
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
