package asm

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
		for r := 0; r < rows; r++ {
			src := g.a[(i0+ir+r)*g.lda+p0 : (i0+ir+r)*g.lda+p0+kcur]
			for p, v := range src {
				panel[p*mr+r] = g.alpha * v
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
		// Row by row, so B is read sequentially and the prefetchers keep up.
		for p := 0; p < kcur; p++ {
			src := g.b[(p0+p)*g.ldb+j0 : (p0+p)*g.ldb+j0+ncur]
			jr := 0
			for ; jr+nr <= ncur; jr += nr {
				copyRow(dst[jr*kcur+p*nr:jr*kcur+p*nr+nr], src[jr:jr+nr])
			}
			if jr < ncur {
				out := dst[jr*kcur+p*nr : jr*kcur+p*nr+nr]
				clear(out[copy(out, src[jr:]):])
			}
		}
		return
	}
	// op(B) column j is B row j: gather it into a panel column.
	for jr := 0; jr < ncur; jr += nr {
		panel := dst[jr*kcur : (jr+nr)*kcur]
		cols := min(nr, ncur-jr)
		for c := 0; c < cols; c++ {
			src := g.b[(j0+jr+c)*g.ldb+p0 : (j0+jr+c)*g.ldb+p0+kcur]
			for p, v := range src {
				panel[p*nr+c] = v
			}
		}
		for c := cols; c < nr; c++ {
			for p := 0; p < kcur; p++ {
				panel[p*nr+c] = 0
			}
		}
	}
}

// copyRow copies one panel row. The fixed sizes of the kernels' nr compile
// to inline moves rather than a memmove call, which matters because packing
// copies every element of B once per call and rows are short.
func copyRow(dst, src []float32) {
	switch len(dst) {
	case 4:
		*(*[4]float32)(dst) = *(*[4]float32)(src)
	case 16:
		*(*[16]float32)(dst) = *(*[16]float32)(src)
	case 24:
		*(*[24]float32)(dst) = *(*[24]float32)(src)
	case 32:
		*(*[32]float32)(dst) = *(*[32]float32)(src)
	case 48:
		*(*[48]float32)(dst) = *(*[48]float32)(src)
	default:
		copy(dst, src)
	}
}
