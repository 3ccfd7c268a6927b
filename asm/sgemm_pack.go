package asm

import "unsafe"

// packA copies the mcur×kcur block of alpha·op(A) at (i0, p0) into dst as
// panels of mr rows: element (r, p) of panel q lands at
// dst[q*mr*kcur + p*mr + r]. Rows past mcur are zero, so edge tiles can use
// the full-size kernel. Folding alpha in here costs nothing extra.
func (g *gemm) packA(dst []float32, i0, mcur, p0, kcur int) {
	mr := g.kern.mr
	for ir := 0; ir < mcur; ir += mr {
		panel := dst[ir*kcur : (ir+mr)*kcur]
		rows := min(mr, mcur-ir)
		if g.transA {
			// op(A) row i is A column i: the mr values of one p are contiguous.
			for p := 0; p < kcur; p++ {
				src := g.a[(p0+p)*g.lda+i0+ir:]
				out := panel[p*mr : p*mr+mr]
				for r := 0; r < rows; r++ {
					out[r] = g.alpha * src[r]
				}
				clear(out[rows:])
			}
			continue
		}
		done := 0 // columns p already packed
		if tr := g.kern.transposer(mr); rows == mr && tr != nil && kcur >= 8 {
			// Whole 8-column blocks of the mr rows, transposed in registers.
			blocks := kcur / 8
			done = 8 * blocks
			tr(&panel[0], &g.a[(i0+ir)*g.lda+p0], blocks, g.lda, mr)
			if g.alpha != 1 {
				Scale(g.alpha, panel[:done*mr])
			}
		}
		for r := 0; r < rows; r++ {
			src := g.a[(i0+ir+r)*g.lda+p0 : (i0+ir+r)*g.lda+p0+kcur]
			for p := done; p < kcur; p++ {
				panel[p*mr+r] = g.alpha * src[p]
			}
		}
		for r := rows; r < mr; r++ {
			for p := 0; p < kcur; p++ {
				panel[p*mr+r] = 0
			}
		}
	}
}

// packB copies the kcur×ncur block of op(B) at (p0, j0) into dst as panels
// of nr columns: element (p, c) of panel q lands at dst[q*nr*kcur + p*nr + c],
// zero-padded past ncur.
func (g *gemm) packB(dst []float32, p0, kcur, j0, ncur int) {
	nr := g.kern.nr
	if !g.transB {
		full := ncur / nr
		if full > 0 && kcur > 0 {
			g.kern.packB(&dst[0], &g.b[p0*g.ldb+j0], kcur, full, g.ldb, kcur*nr)
		}
		if jr := full * nr; jr < ncur {
			for p := 0; p < kcur; p++ {
				out := dst[jr*kcur+p*nr : jr*kcur+p*nr+nr]
				clear(out[copy(out, g.b[(p0+p)*g.ldb+j0+jr:(p0+p)*g.ldb+j0+ncur]):])
			}
		}
		return
	}
	// op(B) column j is B row j: each panel is a transpose of nr rows of B.
	w := 8
	if nr%8 != 0 {
		w = 4
	}
	tr := g.kern.transposer(w)
	for jr := 0; jr < ncur; jr += nr {
		panel := dst[jr*kcur : (jr+nr)*kcur]
		cols := min(nr, ncur-jr)
		done := 0 // rows p already packed
		if tr != nil && kcur >= 8 && cols%w == 0 {
			// Whole groups of w columns, also in a narrow last panel (B
			// with fewer than nr columns, as the weight gradient of a
			// convolution with few channels has).
			done = kcur / 8 * 8
			for c := 0; c < cols; c += w {
				tr(&panel[c], &g.b[(j0+jr+c)*g.ldb+p0], kcur/8, g.ldb, nr)
			}
		}
		for c := 0; c < cols; c++ {
			src := g.b[(j0+jr+c)*g.ldb+p0 : (j0+jr+c)*g.ldb+p0+kcur]
			for p := done; p < kcur; p++ {
				panel[p*nr+c] = src[p]
			}
		}
		for c := cols; c < nr; c++ {
			for p := 0; p < kcur; p++ {
				panel[p*nr+c] = 0
			}
		}
	}
}

// packBGeneric is packB's contract in plain Go: row p of panel q goes to
// dst[q*panelStride + p*nr:][:nr], reading B row by row so that it is read
// sequentially.
func packBGeneric(nr int) func(dst, src *float32, rows, panels, ldb, panelStride int) {
	return func(dst, src *float32, rows, panels, ldb, panelStride int) {
		d := unsafe.Slice(dst, (panels-1)*panelStride+rows*nr)
		s := unsafe.Slice(src, (rows-1)*ldb+panels*nr)
		for p := 0; p < rows; p++ {
			for q := 0; q < panels; q++ {
				copy(d[q*panelStride+p*nr:q*panelStride+p*nr+nr], s[p*ldb+q*nr:p*ldb+q*nr+nr])
			}
		}
	}
}

// transposeGeneric is the transpose contract in plain Go, for r×8 blocks:
// dst[(8b+j)*ldd + i] = src[i*lds + 8b + j].
func transposeGeneric(r int) func(dst, src *float32, blocks, lds, ldd int) {
	return func(dst, src *float32, blocks, lds, ldd int) {
		s := unsafe.Slice(src, (r-1)*lds+8*blocks)
		d := unsafe.Slice(dst, (8*blocks-1)*ldd+r)
		for b := 0; b < blocks; b++ {
			for i := 0; i < r; i++ {
				for j := 0; j < 8; j++ {
					d[(8*b+j)*ldd+i] = s[i*lds+8*b+j]
				}
			}
		}
	}
}
