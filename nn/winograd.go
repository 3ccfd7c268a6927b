package nn

import "github.com/glmc/glmc/asm"

// Winograd F(m×m, 3×3) for 3×3 stride-1 convolutions (Lavin & Gray,
// 2016), with output tiles of m = 2 or 4. Each m×m output tile y of one
// channel pair is
//
//	y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A
//
// for the 3×3 kernel g and the α×α input tile d around it, α = m+2. For
// m = 2,
//
//	Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]
//	G  = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 −1 −1]
//
// whose coefficients 0, ±½ and ±1 add no rounding beyond that of the sums
// they reorder; for m = 4, the points 0, ±½, ±2 and ∞ give Bᵀ and Aᵀ of
// asm.WinogradInput4 and asm.WinogradOutputRows4 and
//
//	G = [1 0 0; −8/15 −4/15 −2/15; −8/15 4/15 −2/15;
//	     1/30 1/15 2/15; 1/30 −1/15 2/15; 0 0 1]
//
// whose larger coefficients round more: F(4×4, 3×3)'s error against
// float64 is about 8 times F(2×2, 3×3)'s (see the tests).
//
// Summed over input channels, the α² positions ξ of the transform domain
// are α² independent matrix products M[ξ] (OC, tiles) = U[ξ] (OC, C) ×
// V[ξ] (C, tiles): α²·OC·C multiply-adds per tile of m² outputs instead of
// 9·m²·OC·C, 4 per output for m = 2 and 2.25 for m = 4, for a few
// additions per value in the transforms.
//
// Tiles are numbered across the whole batch (image, tile row, tile column)
// and processed in blocks of a size fixed by the shape, never by the
// thread count: the transformed block and its products stay in cache, and
// every value is summed in the same order whatever GOMAXPROCS is.

// winoTile is one algorithm F(m×m, 3×3): its sizes and transforms.
type winoTile struct {
	m   int // output tile side
	xis int // values ξ of the transform domain per tile, (m+2)²
	// kernel writes U = G g Gᵀ of the kernel g to u[ξ·plane+k], and
	// kernelGrad dw = Gᵀ dU G of du[ξ·plane+k] to dw (kernel2 and kernel4,
	// kernelGrad2 and kernelGrad4).
	kernel     func(g *[9]float32, u []float32, plane, k int)
	kernelGrad func(du []float32, plane, k int, dw *[9]float32)
	// input is asm.WinogradInput for m = 2, asm.WinogradInput4 for m = 4;
	// output likewise asm.WinogradOutputRows or WinogradOutputRows4, and
	// outputGrad asm.WinogradOutputGrad or WinogradOutputGrad4 for one
	// tile row (of one to m rows of y).
	input      func(v []float32, vs int, d []float32, ld, tiles, rows int)
	output     func(y []float32, width int, m []float32, ms, tiles, rows int, bias float32)
	outputGrad func(m []float32, ms int, y []float32, width, tiles int)
}

var (
	winoTile2 = &winoTile{m: 2, xis: 16, input: asm.WinogradInput, output: asm.WinogradOutputRows,
		outputGrad: func(m []float32, ms int, y []float32, width, tiles int) {
			y0, y1 := y[:width], []float32(nil)
			if len(y) > width {
				y1 = y[width:]
			}
			asm.WinogradOutputGrad(m, ms, y0, y1, tiles)
		},
		kernel: kernel2, kernelGrad: kernelGrad2}
	winoTile4 = &winoTile{m: 4, xis: 36, input: asm.WinogradInput4, output: asm.WinogradOutputRows4,
		outputGrad: asm.WinogradOutputGrad4, kernel: kernel4, kernelGrad: kernelGrad4}
)

// wino is the geometry of the Winograd tiling of a convolution. Blocks
// are whole rows of tiles, so the transforms walk image rows.
type wino struct {
	*winoTile
	s         convShape
	th, tw    int // tile rows and columns per image: ⌈OH/m⌉, ⌈OW/m⌉
	rows      int // tile rows in the batch: N·th
	blockRows int // tile rows per block
	block     int // tiles per block (the last may have fewer): blockRows·tw
	blocks    int // ⌈rows/blockRows⌉
	// vs and ms are the strides between the positions ξ of V (ξ, C,
	// block) and M (ξ, OC, block): one cache line more than a plane, so
	// that the streams a transform writes or reads do not all fall in the
	// same cache set (planes of a power-of-two size would).
	vs, ms     int
	vLen, mLen int // floats of one block's V and M
}

// winoCacheFloats bounds the floats of one block's V and M together, 2 MB:
// blocks of fewer tiles made the products too narrow (N = tiles) on wide
// layers, larger ones gained nothing (measured on ResNet-32's layers).
var winoCacheFloats = 1 << 19

// winoMinBlock is the least number of tiles per block, the N of the
// products: every product packs its U[ξ] (OC × C) afresh, which on wide
// layers (C = OC = 256) costs a fifth of the product at 64 tiles and a
// twentieth at 256.
const winoMinBlock = 256

// winoBlockQuantum is what the number of blocks of a layer with more
// than one is rounded up to a multiple of.
const winoBlockQuantum = 4

func newWino(s convShape, t *winoTile) wino {
	wg := wino{winoTile: t, s: s, th: (s.oh + t.m - 1) / t.m, tw: (s.ow + t.m - 1) / t.m}
	wg.rows = s.n * wg.th
	tiles := max(winoMinBlock, winoCacheFloats/(t.xis*(s.c+s.oc)))
	wg.blockRows = max(1, min(wg.rows, tiles/wg.tw))
	if blocks := (wg.rows + wg.blockRows - 1) / wg.blockRows; blocks > 1 {
		// Evenly sized blocks, a multiple of winoBlockQuantum of them,
		// so that 2 or 4 goroutines get equal shares: 5 blocks left one
		// of two threads idle a fifth of the layer's time.
		blocks = min(wg.rows, (blocks+winoBlockQuantum-1)/winoBlockQuantum*winoBlockQuantum)
		wg.blockRows = (wg.rows + blocks - 1) / blocks
	}
	wg.block = wg.blockRows * wg.tw
	wg.blocks = (wg.rows + wg.blockRows - 1) / wg.blockRows
	wg.vs, wg.ms = s.c*wg.block+16, s.oc*wg.block+16
	wg.vLen, wg.mLen = t.xis*wg.vs, t.xis*wg.ms
	return wg
}

// span returns the first tile row of block b, its number of tile rows and
// of tiles.
func (wg wino) span(b int) (r0, rows, cnt int) {
	r0 = b * wg.blockRows
	rows = min(wg.blockRows, wg.rows-r0)
	return r0, rows, rows * wg.tw
}

// winogradOK reports whether Winograd F(m×m, 3×3) computes s: a 3×3
// kernel and stride 1 (any padding below the kernel size).
func winogradOK(s convShape) bool {
	return s.kh == 3 && s.kw == 3 && s.stride == 1 && s.pad < 3
}

// winogradForward is convForward for shapes that pass winogradOK, by
// F(t.m×t.m, 3×3).
//
//	y (N, OC, OH, OW), x (N, C, H, W), w (OC, C, 3, 3), b (OC) or nil
func winogradForward(s convShape, t *winoTile, y, x, w, b []float32) {
	winogradForwardThen(s, t, y, x, w, b, nil)
}

// winogradForwardThen is convForwardThen for shapes that pass winogradOK,
// by F(t.m×t.m, 3×3): the epilogue ep (nil for none) follows the output
// transform of each block, on the runs of rows it wrote in each plane
// (see output), when every run starts at a multiple of asm.VecBlock in its
// plane, so that the epilogue's bits are those of one pass over the
// plane: when blocks hold whole images, or a tile row's m rows are a
// multiple of it. Otherwise the epilogue runs over all of y at the end.
func winogradForwardThen(s convShape, t *winoTile, y, x, w, b []float32, ep *epilogue) {
	wg := newWino(s, t)
	fused := ep
	if wg.blockRows%wg.th != 0 && t.m*s.ow%asm.VecBlock != 0 {
		fused = nil
	}
	u := getScratch(t.xis * s.oc * s.c)
	defer putScratch(u)
	wg.kernels(w, u.buf)
	parallelFor(wg.blocks, func(bl int) {
		r0, rows, cnt := wg.span(bl)
		v, m := getScratch(wg.vLen), getScratch(wg.mLen)
		defer putScratch(v)
		defer putScratch(m)
		wg.inputs(x, r0, rows, v.buf)
		for xi := range t.xis {
			asm.SgemmSerial(false, false, s.oc, cnt, s.c, 1, u.buf[xi*s.oc*s.c:], s.c,
				v.buf[xi*wg.vs:], wg.block, 0, m.buf[xi*wg.ms:], wg.block)
		}
		wg.outputs(m.buf, r0, rows, y, b, fused)
	})
	if ep != nil && fused == nil {
		ep.planes(y, y)
	}
}

// winogradWeightGrad overwrites dw with the weight gradient of s for the
// upstream gradient gy, by F(t.m×t.m, 3×3): dU[ξ] (OC, C) = Σ_tiles dM[ξ]
// · V[ξ]ᵀ with dM = A dY Aᵀ, then dw = Gᵀ dU G. The blocks are divided
// into at most convSlots fixed runs, each summed by one goroutine, and the
// runs are added in order.
//
//	dw (OC, C, 3, 3), gy (N, OC, OH, OW), x (N, C, H, W)
func winogradWeightGrad(s convShape, t *winoTile, dw, gy, x []float32) {
	wg := newWino(s, t)
	slots := min(wg.blocks, convSlots)
	if slots == 0 {
		clear(dw)
		return
	}
	uLen := wg.xis * s.oc * s.c
	partial := make([]*scratch, slots)
	parallelFor(slots, func(sl int) {
		v, m := getScratch(wg.vLen), getScratch(wg.mLen)
		defer putScratch(v)
		defer putScratch(m)
		du := getScratch(uLen)
		partial[sl] = du
		lo, hi := wg.blocks*sl/slots, wg.blocks*(sl+1)/slots
		for bl := lo; bl < hi; bl++ {
			r0, rows, cnt := wg.span(bl)
			wg.inputs(x, r0, rows, v.buf)
			wg.outputGrads(gy, r0, rows, m.buf)
			beta := float32(1)
			if bl == lo {
				beta = 0
			}
			for xi := range wg.xis {
				asm.SgemmSerial(false, true, s.oc, s.c, cnt, 1, m.buf[xi*wg.ms:], wg.block,
					v.buf[xi*wg.vs:], wg.block, beta, du.buf[xi*s.oc*s.c:], s.c)
			}
		}
	})
	sum := partial[0].buf
	for _, p := range partial[1:] {
		asm.Add(sum, sum, p.buf)
		putScratch(p)
	}
	wg.kernelGrads(sum, dw)
	putScratch(partial[0])
}

// winoKernelWork is the number of transform values (kernels times ξ per
// kernel) that kernels and kernelGrads compute per goroutine, some 20 µs
// of work: enough that all but the narrowest layers share theirs among
// the pool's goroutines (par.For), whose serial share was a tenth of a
// width-16 step. (Plane by plane in float32, with asm.Axpy, the F(4×4)
// transforms were 3–7 times faster but rounded U more: F(4×4)'s error rose
// from 5.4e-6 to 7.4e-6 of the largest value, and under the generic
// kernels the width-4 golden model's gradients below its layer3.0 moved by
// 1e-3, past their tolerance, while every convolution still matched GEMM
// to 1e-6: a near-tie.)
const winoKernelWork = 1 << 12

// chunked runs fn (kernelsIn or kernelGradsIn) over the OC·C kernels of
// wg, inline for few of them and else by chunks on parallel goroutines.
// Its receiver is a pointer because the goroutines' closure would move a
// copy of a wino to the heap on every call, even one that runs inline.
func (wg *wino) chunked(fn func(wg *wino, src, dst []float32, lo, hi int), src, dst []float32) {
	n := wg.s.oc * wg.s.c
	chunks := (n*wg.xis + winoKernelWork - 1) / winoKernelWork
	if chunks <= 1 {
		fn(wg, src, dst, 0, n)
		return
	}
	parallelFor(chunks, func(i int) { fn(wg, src, dst, n*i/chunks, n*(i+1)/chunks) })
}

// kernels writes U = G g Gᵀ of every kernel g of w (OC, C, 3, 3) into
// u (ξ, OC, C).
func (wg *wino) kernels(w, u []float32) { wg.chunked((*wino).kernelsIn, w, u) }

// kernelsIn is kernels for the kernels [lo, hi) of the OC·C.
func (wg *wino) kernelsIn(w, u []float32, lo, hi int) {
	plane := wg.s.oc * wg.s.c
	for k := lo; k < hi; k++ {
		wg.kernel((*[9]float32)(w[k*9:]), u, plane, k)
	}
}

// g2 and g4 return G c for one column c of a kernel (or row of G g) for
// F(2×2, 3×3) and F(4×4, 3×3); gt2 and gt4 return Gᵀ c for one column c
// of dU (or row of Gᵀ dU). F(2×2)'s run in float32, whose G of ±½ and 1
// adds little rounding, F(4×4)'s in float64, rounded once at the end.
func g2(c0, c1, c2 float32) (float32, float32, float32, float32) {
	return c0, (c0 + c1 + c2) / 2, (c0 - c1 + c2) / 2, c2
}

// The fifteenths and thirtieths of g4 and gt4, as float64 constants:
// multiplying by them costs a cycle where dividing cost a dozen, and
// their float64 rounding is far below the float32 one of the results.
const (
	r15 = 1.0 / 15
	r30 = 1.0 / 30
)

func g4(c0, c1, c2 float64) (float64, float64, float64, float64, float64, float64) {
	e := c0*r30 + c2*(2*r15)
	return c0, -(c0*8 + c1*4 + c2*2) * r15, -(c0*8 - c1*4 + c2*2) * r15, e + c1*r15, e - c1*r15, c2
}

func gt2(c0, c1, c2, c3 float32) (float32, float32, float32) {
	return c0 + (c1+c2)/2, (c1 - c2) / 2, (c1+c2)/2 + c3
}

func gt4(c0, c1, c2, c3, c4, c5 float64) (float64, float64, float64) {
	s, t := c1+c2, c3+c4
	return c0 - s*(8*r15) + t*r30, (c3-c4)*r15 - (c1-c2)*(4*r15), (t-s)*(2*r15) + c5
}

// kernel2 is winoTile2's kernel.
func kernel2(g *[9]float32, u []float32, plane, k int) {
	var t [4][3]float32 // G g
	for j := range 3 {
		t[0][j], t[1][j], t[2][j], t[3][j] = g2(g[j], g[3+j], g[6+j])
	}
	for i, r := range t {
		u[4*i*plane+k], u[(4*i+1)*plane+k], u[(4*i+2)*plane+k], u[(4*i+3)*plane+k] = g2(r[0], r[1], r[2])
	}
}

// kernel4 is winoTile4's kernel.
func kernel4(g *[9]float32, u []float32, plane, k int) {
	var t [6][3]float64 // G g
	for j := range 3 {
		t[0][j], t[1][j], t[2][j], t[3][j], t[4][j], t[5][j] = g4(float64(g[j]), float64(g[3+j]), float64(g[6+j]))
	}
	for i, r := range t {
		u0, u1, u2, u3, u4, u5 := g4(r[0], r[1], r[2])
		u[6*i*plane+k], u[(6*i+1)*plane+k], u[(6*i+2)*plane+k] = float32(u0), float32(u1), float32(u2)
		u[(6*i+3)*plane+k], u[(6*i+4)*plane+k], u[(6*i+5)*plane+k] = float32(u3), float32(u4), float32(u5)
	}
}

// kernelGrad2 is winoTile2's kernelGrad.
func kernelGrad2(du []float32, plane, k int, dw *[9]float32) {
	var t [3][4]float32 // Gᵀ dU
	for j := range 4 {
		t[0][j], t[1][j], t[2][j] = gt2(du[j*plane+k], du[(4+j)*plane+k], du[(8+j)*plane+k], du[(12+j)*plane+k])
	}
	for i, r := range t {
		dw[3*i], dw[3*i+1], dw[3*i+2] = gt2(r[0], r[1], r[2], r[3])
	}
}

// kernelGrad4 is winoTile4's kernelGrad.
func kernelGrad4(du []float32, plane, k int, dw *[9]float32) {
	var t [3][6]float64 // Gᵀ dU
	for j := range 6 {
		at := func(i int) float64 { return float64(du[(6*i+j)*plane+k]) }
		t[0][j], t[1][j], t[2][j] = gt4(at(0), at(1), at(2), at(3), at(4), at(5))
	}
	for i, r := range t {
		a, b, c := gt4(r[0], r[1], r[2], r[3], r[4], r[5])
		dw[3*i], dw[3*i+1], dw[3*i+2] = float32(a), float32(b), float32(c)
	}
}

// kernelGrads writes dw = Gᵀ dU G (OC, C, 3, 3) for du (ξ, OC, C), the
// adjoint of kernels.
func (wg *wino) kernelGrads(du, dw []float32) { wg.chunked((*wino).kernelGradsIn, du, dw) }

// kernelGradsIn is kernelGrads for the kernels [lo, hi) of the OC·C.
func (wg *wino) kernelGradsIn(du, dw []float32, lo, hi int) {
	plane := wg.s.oc * wg.s.c
	for k := lo; k < hi; k++ {
		wg.kernelGrad(du, plane, k, (*[9]float32)(dw[k*9:]))
	}
}

// inputs writes V = Bᵀ d B of the tiles of tile rows [r0, r0+rows) of x
// (N, C, H, W) for every channel into v (ξ, C, block), from a copy of the
// image rows that the block's tile rows of one image cover, with their
// padding (zeros). The padding columns are cleared once: the image's rows
// are then copied over their middle, all in one asm.CopyRows.
func (wg wino) inputs(x []float32, r0, rows int, v []float32) {
	s, m := wg.s, wg.m
	hw, wp := s.h*s.w, m*wg.tw+2 // wp: a padded row, wide enough for every tile
	lo := min(s.pad, wp)         // the image's columns are [lo, lo+cols) of a row
	cols := min(s.w, wp-lo)
	buf := getScratch((m*wg.blockRows + 2) * wp)
	defer putScratch(buf)
	clear(buf.buf)
	for c := range s.c {
		for r := r0; r < r0+rows; {
			n, ty := r/wg.th, r%wg.th
			nt := min(wg.th-ty, r0+rows-r) // tile rows of image n in the block
			plane := x[(n*s.c+c)*hw : (n*s.c+c+1)*hw]
			d := buf.buf[:(m*nt+2)*wp]
			// Row i of d is image row y0 + i; those in [ylo, yhi) exist.
			y0 := m*ty - s.pad
			ylo, yhi := max(y0, 0), min(y0+m*nt+2, s.h)
			for i := range m*nt + 2 {
				if y := y0 + i; y < ylo || y >= yhi {
					clear(d[i*wp+lo : i*wp+lo+cols])
				}
			}
			asm.CopyRows(d[(ylo-y0)*wp+lo:], wp, plane[ylo*s.w:], s.w, cols, yhi-ylo)
			wg.input(v[c*wg.block+(r-r0)*wg.tw:], wg.vs, d, wp, wg.tw, nt)
			r += nt
		}
	}
}

// outputs writes Y = Aᵀ M A (+ b) of the tiles of tile rows [r0, r0+rows)
// from m (ξ, OC, block) into y (N, OC, OH, OW), clipped at the map's
// edges, and applies the epilogue ep (nil for none) in place. Both run
// once per channel and image on the block's tile rows of that plane, a
// run of rows that follow each other in y (most of a plane, or several
// planes' worth of tiles for small maps), in two calls rather than a
// few per tile row.
func (wg wino) outputs(m []float32, r0, rows int, y, b []float32, ep *epilogue) {
	s := wg.s
	p := s.pixels()
	for o := range s.oc {
		var bias float32
		if b != nil {
			bias = b[o]
		}
		for r := r0; r < r0+rows; {
			n, ty := r/wg.th, r%wg.th
			nt := min(wg.th-ty, r0+rows-r) // tile rows of image n in the block
			plane := (n*s.oc + o) * p
			lo, hi := plane+wg.m*ty*s.ow, min(plane+wg.m*(ty+nt)*s.ow, plane+p)
			wg.output(y[lo:hi], s.ow, m[o*wg.block+(r-r0)*wg.tw:], wg.ms, wg.tw, nt, bias)
			if ep != nil {
				ep.apply(y, y, lo, hi)
			}
			r += nt
		}
	}
}

// outputGrads writes dM = A dY Aᵀ of the tiles of tile rows [r0,
// r0+rows) of gy (N, OC, OH, OW) into m (ξ, OC, block), the adjoint of
// outputs; gradients past the map's edges read as zero.
func (wg wino) outputGrads(gy []float32, r0, rows int, m []float32) {
	s := wg.s
	p := s.pixels()
	for o := range s.oc {
		for r := r0; r < r0+rows; r++ {
			n, oy := r/wg.th, wg.m*(r%wg.th)
			plane := gy[(n*s.oc+o)*p : (n*s.oc+o+1)*p]
			wg.outputGrad(m[o*wg.block+(r-r0)*wg.tw:], wg.ms, plane[oy*s.ow:min(oy+wg.m, s.oh)*s.ow], s.ow, wg.tw)
		}
	}
}
