package asm

import (
	"fmt"
	"slices"
	"sync"
	"unsafe"
)

// Shifted-window GEMMs: products whose B (or, for the gradient, Bᵀ) has
// rows that are windows of one buffer, b[off[p] : off[p]+n]. A direct
// convolution is one: with the input planes laid out with their padding
// (see package nn), row (c, i, j) of the im2col matrix is the plane of c
// shifted by the tap (i, j), so the product reads the input in place,
// without building or packing the columns.

// shiftedKernels are the shifted-window kernels of one implementation.
type shiftedKernels struct {
	mr, nr int // the C tile of micro
	// micro sets the mr×nr tile at c (row stride ldc) to A·B from a packed
	// A panel (kc groups of mr values, one column of A each), where row p
	// of B is the nr floats at b + off[p]; kc > 0.
	micro func(kc int, a, b *float32, off *int, c *float32, ldc int)
	// gmr×gnk is the C tile of grad, which sums j over whole groups of
	// lanes values.
	gmr, gnk, lanes int
	// grad adds to the gmr×gnk tile at c (row stride ldc) the sums over
	// j < groups·lanes of g[i*ldg+j]·b[off[p]+j]; groups > 0.
	grad func(groups int, g *float32, ldg int, b *float32, off *int, c *float32, ldc int)
}

var genericShifted = shiftedKernels{mr: 4, nr: 4, micro: sgemmShifted4x4Generic, gmr: 4, gnk: 3, lanes: 1, grad: sgemmShiftedGrad4x3Generic}

var shiftedPool = sync.Pool{New: func() any { return new([]float32) }}

// SgemmShifted computes C (m×n) = A (m×k) · B (k×n), k = len(off), where
// row p of B is the window b[off[p] : off[p]+n]. SgemmShifted is:
//
//	for i := range m {
//		for j := range n {
//			var s float32
//			for p := range off {
//				s += a[i*lda+p] * b[off[p]+j]
//			}
//			c[i*ldc+j] = s
//		}
//	}
//
// C is not read. It runs on the calling goroutine; each element is
// computed by the same operations whatever the other arguments' ranges
// (m, n and the position of the element in them set which kernel computes
// it, nothing else), so callers may split a product across goroutines.
func SgemmShifted(m, n int, a []float32, lda int, b []float32, off []int, c []float32, ldc int) {
	k := len(off)
	checkShifted("SgemmShifted", m, n, k, len(a), lda, len(b), off, len(c), ldc, n)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(m, n, 0, c, ldc)
		return
	}
	ks := active.conv.shifted
	mr, nr := ks.mr, ks.nr
	blocks := (m + mr - 1) / mr
	pp := shiftedPool.Get().(*[]float32)
	defer shiftedPool.Put(pp)
	*pp = grow(*pp, blocks*mr*k+mr*nr)
	packed, tile := (*pp)[:blocks*mr*k], (*pp)[blocks*mr*k:]
	tr := active.gemm.transposer(mr)
	for q := range blocks {
		panel := packed[q*mr*k : (q+1)*mr*k]
		done := 0 // columns of A already packed
		if tr != nil && k >= 8 && (q+1)*mr <= m {
			done = k / 8 * 8
			tr(&panel[0], &a[q*mr*lda], k/8, lda, mr)
		}
		for r := range mr {
			if i := q*mr + r; i < m {
				row := a[i*lda : i*lda+k]
				for p := done; p < k; p++ {
					panel[p*mr+r] = row[p]
				}
			} else {
				for p := range k {
					panel[p*mr+r] = 0
				}
			}
		}
	}
	full := n / nr * nr
	for j := 0; j < full; j += nr {
		for q := range blocks {
			rows := min(mr, m-q*mr)
			ci := q*mr*ldc + j
			if rows == mr {
				ks.micro(k, &packed[q*mr*k], &b[j], &off[0], &c[ci], ldc)
				continue
			}
			ks.micro(k, &packed[q*mr*k], &b[j], &off[0], &tile[0], nr)
			for r := range rows {
				copy(c[ci+r*ldc:ci+r*ldc+nr], tile[r*nr:])
			}
		}
	}
	for i := range m {
		for j := full; j < n; j++ {
			var s float32
			for p, o := range off {
				s += a[i*lda+p] * b[o+j]
			}
			c[i*ldc+j] = s
		}
	}
}

// SgemmShiftedGrad adds to C (m×k), k = len(off), the product G (m×n) ·
// Bᵀ, where row p of B is the window b[off[p] : off[p]+n]: the weight
// gradient of the product of SgemmShifted. SgemmShiftedGrad is:
//
//	for i := range m {
//		for p := range off {
//			var s float32
//			for j := range n {
//				s += g[i*ldg+j] * b[off[p]+j]
//			}
//			c[i*ldc+p] += s
//		}
//	}
//
// with the sum over j taken in an order fixed by n and the kernel. It
// runs on the calling goroutine.
func SgemmShiftedGrad(m, n int, g []float32, ldg int, b []float32, off []int, c []float32, ldc int) {
	k := len(off)
	checkShifted("SgemmShiftedGrad", m, k, n, len(g), ldg, len(b), off, len(c), ldc, n)
	if m == 0 || k == 0 || n == 0 {
		return
	}
	ks := active.conv.shifted
	mr, nk := ks.gmr, ks.gnk
	groups := n / ks.lanes
	done := groups * ks.lanes
	for i := 0; i < m; i += mr {
		for p := 0; p < k; p += nk {
			if groups > 0 && i+mr <= m && p+nk <= k {
				ks.grad(groups, &g[i*ldg], ldg, &b[0], &off[p], &c[i*ldc+p], ldc)
				shiftedGradTail(min(i+mr, m), min(p+nk, k), n, done, i, p, g, ldg, b, off, c, ldc)
				continue
			}
			shiftedGradTail(min(i+mr, m), min(p+nk, k), n, 0, i, p, g, ldg, b, off, c, ldc)
		}
	}
}

// shiftedGradTail is SgemmShiftedGrad in plain Go for rows [i0, i1),
// offsets [p0, p1) and j in [j0, n).
func shiftedGradTail(i1, p1, n, j0, i0, p0 int, g []float32, ldg int, b []float32, off []int, c []float32, ldc int) {
	if j0 == n {
		return
	}
	for i := i0; i < i1; i++ {
		row := g[i*ldg+j0 : i*ldg+n]
		for p := p0; p < p1; p++ {
			win := b[off[p]+j0 : off[p]+n]
			var s float32
			for j, v := range row {
				s += v * win[j]
			}
			c[i*ldc+p] += s
		}
	}
}

// checkShifted panics unless A (m×k, lda), the windows of n floats at the
// offsets into b, and C (m×cols, ldc) fit their slices.
func checkShifted(op string, m, cols, k, la, lda, lb int, off []int, lc, ldc, n int) {
	if m < 0 || cols < 0 || k < 0 {
		panic(fmt.Sprintf("asm: %s: negative size m=%d, %d columns, depth %d", op, m, cols, k))
	}
	if m == 0 || cols == 0 {
		return
	}
	if k > 0 && (lda < k || la < (m-1)*lda+k) {
		panic(fmt.Sprintf("asm: %s: %d values with stride %d for %d×%d, need stride ≥ %d and %d values", op, la, lda, m, k, k, (m-1)*lda+k))
	}
	if ldc < cols || lc < (m-1)*ldc+cols {
		panic(fmt.Sprintf("asm: %s: C has %d values with stride %d for %d×%d, need stride ≥ %d and %d values", op, lc, ldc, m, cols, cols, (m-1)*ldc+cols))
	}
	if len(off) > 0 && (slices.Min(off) < 0 || slices.Max(off)+n > lb) {
		panic(fmt.Sprintf("asm: %s: windows of %d floats at offsets %d..%d in %d values", op, n, slices.Min(off), slices.Max(off), lb))
	}
}

// sgemmShifted4x4Generic is the micro contract in plain Go: it copies the
// windows' four floats of up to 64 k steps at a time into a packed B
// panel and runs the generic GEMM kernel on it, adding the later steps.
func sgemmShifted4x4Generic(kc int, a, b *float32, off *int, c *float32, ldc int) {
	const steps = 64
	var panel [4 * steps]float32
	as, offs := unsafe.Slice(a, 4*kc), unsafe.Slice(off, kc)
	bs := unsafe.Slice(b, slices.Max(offs)+4)
	for p0 := 0; p0 < kc; p0 += steps {
		n := min(steps, kc-p0)
		for p, o := range offs[p0 : p0+n] {
			copy(panel[4*p:4*p+4], bs[o:o+4])
		}
		sgemmKernel4x4Generic(n, &as[4*p0], &panel[0], c, ldc, p0 > 0)
	}
}

// sgemmShiftedGrad4x3Generic is the grad contract in plain Go for lanes
// = 1: twelve sums over j in order.
func sgemmShiftedGrad4x3Generic(n int, g *float32, ldg int, b *float32, off *int, c *float32, ldc int) {
	offs := unsafe.Slice(off, 3)
	bs := unsafe.Slice(b, max(offs[0], offs[1], offs[2])+n)
	gs := unsafe.Slice(g, 3*ldg+n)
	w0, w1, w2 := bs[offs[0]:offs[0]+n], bs[offs[1]:offs[1]+n], bs[offs[2]:offs[2]+n]
	cs := unsafe.Slice(c, 3*ldc+3)
	for i := range 4 {
		row := gs[i*ldg : i*ldg+n]
		var s0, s1, s2 float32
		for j, v := range row {
			s0 += v * w0[j]
			s1 += v * w1[j]
			s2 += v * w2[j]
		}
		cs[i*ldc] += s0
		cs[i*ldc+1] += s1
		cs[i*ldc+2] += s2
	}
}
