package asm

import (
	"fmt"
	"unsafe"
)

// The transforms of Winograd F(2×2, 3×3) convolution over one row of tiles
// (Lavin & Gray, 2016), for package nn. Tile t of a row covers columns 2t
// to 2t+3 of four input rows and writes columns 2t and 2t+1 of two output
// rows. The 16 transform-domain values ξ = 4r + j of a tile are stored
// ξ·stride floats apart, the tiles of a row side by side.

// convKernels are the convolution kernels of one implementation: the
// Winograd transforms, each for whole groups of width tiles (the exported
// functions finish the tail with the generic kernels), Deinterleave and
// Interleave, and the shifted-window GEMMs.
type convKernels struct {
	width int
	// input is WinogradInput for one row of groups·width tiles.
	input func(v *float32, vs int, d *float32, ld, groups int)
	// output is WinogradOutput for groups·width tiles, both rows whole.
	output func(y0, y1, m *float32, ms, groups int, bias float32)
	// outputGrad is WinogradOutputGrad for groups·width tiles, both rows
	// whole.
	outputGrad func(m *float32, ms int, y0, y1 *float32, groups int)
	// input4 is WinogradInput4 for one row of groups·width tiles, output4
	// WinogradOutputRows4 for one tile row of groups·width tiles and
	// outputGrad4 WinogradOutputGrad4 for groups·width tiles, their four
	// rows whole (winograd4.go).
	input4      func(v *float32, vs int, d *float32, ld, groups int)
	output4     func(y *float32, width int, m *float32, ms, groups int, bias float32)
	outputGrad4 func(m *float32, ms int, y *float32, width, groups int)
	// deinterleave is Deinterleave and interleave Interleave, for
	// octets·8 pairs; nil in the generic implementation.
	deinterleave func(even, odd, src *float32, octets int)
	interleave   func(dst, even, odd *float32, octets int)
	// shifted are the kernels of SgemmShifted and SgemmShiftedGrad.
	shifted shiftedKernels
	// copyRows is CopyRows for positive rows and cols; nil in the generic
	// implementation.
	copyRows func(dst *float32, ldd int, src *float32, lds, cols, rows int)
}

var genericConv = convKernels{width: 1, input: winoInputGeneric, output: winoOutputGeneric, outputGrad: winoOutputGradGeneric,
	input4: winoInput4Generic, output4: winoOutput4Generic, outputGrad4: winoOutputGrad4Generic, shifted: genericShifted}

// Interleave is the inverse of Deinterleave: it sets the even elements of
// dst from even and the odd ones from odd, as col2im of a stride-2
// convolution needs once per input row. Interleave is:
//
//	for i := range dst {
//		if i%2 == 0 {
//			dst[i] = even[i/2]
//		} else {
//			dst[i] = odd[i/2]
//		}
//	}
//
// even must hold ⌈len(dst)/2⌉ values and odd ⌊len(dst)/2⌋.
func Interleave(dst, even, odd []float32) {
	checkHalves("Interleave", len(dst), len(even), len(odd))
	done := 0
	if k := active.conv.interleave; k != nil && len(odd) >= 8 {
		k(&dst[0], &even[0], &odd[0], len(odd)/8)
		done = len(odd) / 8 * 8
	}
	for i := done; i < len(odd); i++ {
		dst[2*i], dst[2*i+1] = even[i], odd[i]
	}
	if len(even) > len(odd) {
		dst[len(dst)-1] = even[len(odd)]
	}
}

// checkHalves panics unless even and odd have the lengths of the even and
// odd halves of n values.
func checkHalves(op string, n, even, odd int) {
	if even != (n+1)/2 || odd != n/2 {
		panic(fmt.Sprintf("asm: %s: %d values and halves of %d (even) and %d (odd), want %d and %d", op, n, even, odd, (n+1)/2, n/2))
	}
}

// CopyRows copies rows rows of cols values, lds floats apart in src, to
// rows ldd floats apart in dst, and leaves the rest of dst as it is:
// Winograd's input transform copies the image rows it reads between
// padding columns this way, many short rows per call. CopyRows is:
//
//	for r := range rows {
//		copy(dst[r*ldd:r*ldd+cols], src[r*lds:r*lds+cols])
//	}
func CopyRows(dst []float32, ldd int, src []float32, lds, cols, rows int) {
	if rows <= 0 || cols <= 0 {
		return
	}
	if ldd < cols || lds < cols || len(dst) < (rows-1)*ldd+cols || len(src) < (rows-1)*lds+cols {
		panic(fmt.Sprintf("asm: CopyRows: %d rows of %d values from %d (stride %d) to %d (stride %d): strides below the rows or too few values",
			rows, cols, len(src), lds, len(dst), ldd))
	}
	if k := active.conv.copyRows; k != nil {
		k(&dst[0], ldd, &src[0], lds, cols, rows)
		return
	}
	for r := range rows {
		copy(dst[r*ldd:r*ldd+cols], src[r*lds:r*lds+cols])
	}
}

// Deinterleave splits src into its even and odd elements, which im2col of
// a stride-2 convolution needs once per input row. Deinterleave is:
//
//	for i, v := range src {
//		if i%2 == 0 {
//			even[i/2] = v
//		} else {
//			odd[i/2] = v
//		}
//	}
//
// even must hold ⌈len(src)/2⌉ values and odd ⌊len(src)/2⌋.
func Deinterleave(even, odd, src []float32) {
	checkHalves("Deinterleave", len(src), len(even), len(odd))
	done := 0
	if k := active.conv.deinterleave; k != nil && len(odd) >= 8 {
		k(&even[0], &odd[0], &src[0], len(odd)/8)
		done = len(odd) / 8 * 8
	}
	for i := done; i < len(odd); i++ {
		even[i], odd[i] = src[2*i], src[2*i+1]
	}
	if len(even) > len(odd) {
		even[len(odd)] = src[len(src)-1]
	}
}

// WinogradInput writes V = Bᵀ d B for rows×tiles tiles of the image rows
// d (row stride ld, padding included), Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0;
// 0 1 0 −1], as the columns first and then the rows: tile t of tile row q
// covers columns 2t to 2t+3 of rows 2q to 2q+3 and goes to column
// q·tiles + t of V. WinogradInput is:
//
//	for q := range rows {
//		for t := range tiles {
//			var f [4][4]float32 // f[i] = row i of d B
//			for i := range 4 {
//				c := d[(2*q+i)*ld+2*t:][:4]
//				f[i] = [4]float32{c[0] - c[2], c[1] + c[2], c[2] - c[1], c[1] - c[3]}
//			}
//			k := q*tiles + t
//			for j := range 4 {
//				v[j*vs+k] = f[0][j] - f[2][j]
//				v[(4+j)*vs+k] = f[1][j] + f[2][j]
//				v[(8+j)*vs+k] = f[2][j] - f[1][j]
//				v[(12+j)*vs+k] = f[1][j] - f[3][j]
//			}
//		}
//	}
//
// ld must be at least 2·tiles+2 and vs at least rows·tiles.
func WinogradInput(v []float32, vs int, d []float32, ld, tiles, rows int) {
	winogradInput("WinogradInput", 2, active.conv.input, winoInputGeneric, v, vs, d, ld, tiles, rows)
}

// winogradInput is WinogradInput (m = 2) and WinogradInput4 (m = 4), as
// op states them, with kernel the active kernel for whole groups of tiles
// and generic the generic one for the rest.
func winogradInput(op string, m int, kernel, generic func(v *float32, vs int, d *float32, ld, n int),
	v []float32, vs int, d []float32, ld, tiles, rows int) {
	if tiles <= 0 || rows <= 0 {
		return
	}
	if need := (m*rows+1)*ld + m*tiles + 2; ld < m*tiles+2 || len(d) < need {
		panic(fmt.Sprintf("asm: %s: %d values in rows of stride %d for %d×%d tiles, need stride ≥ %d and %d values",
			op, len(d), ld, rows, tiles, m*tiles+2, need))
	}
	checkTransform(op, v, vs, rows*tiles, (m+2)*(m+2))
	g := tiles / active.conv.width
	for q := range rows {
		v, d := v[q*tiles:], d[m*q*ld:]
		if g > 0 {
			kernel(&v[0], vs, &d[0], ld, g)
		}
		if t := g * active.conv.width; t < tiles {
			generic(&v[t], vs, &d[m*t], ld, tiles-t)
		}
	}
}

// WinogradOutput writes Y = Aᵀ M A + bias, Aᵀ = [1 1 1 0; 0 1 −1 −1], for
// tiles tiles of m (16 rows ms floats apart) into the output rows y0 and
// y1, as the rows first and then the columns, clipped to the rows'
// lengths; a nil y1 drops the second row. WinogradOutput is:
//
//	for t := range tiles {
//		var r [2][4]float32 // Aᵀ M
//		for j := range 4 {
//			m0, m1, m2, m3 := m[j*ms+t], m[(4+j)*ms+t], m[(8+j)*ms+t], m[(12+j)*ms+t]
//			r[0][j], r[1][j] = m0+m1+m2, m1-m2-m3
//		}
//		for i, y := range [][]float32{y0, y1} {
//			y[2*t] = r[i][0] + r[i][1] + r[i][2] + bias   // where 2t < len(y)
//			y[2*t+1] = r[i][1] - r[i][2] - r[i][3] + bias // where 2t+1 < len(y)
//		}
//	}
//
// y0 (and y1 unless nil) must hold at least 2·tiles−1 values.
func WinogradOutput(y0, y1, m []float32, ms, tiles int, bias float32) {
	if tiles <= 0 {
		return
	}
	outputRow(y0, y1, m, ms, tiles, checkOutputRows("WinogradOutput", y0, y1, m, ms, tiles), bias)
}

// WinogradOutputRows is WinogradOutput for rows tile rows of one output
// plane, in a single call: tile row i takes the tiles m[i·tiles:] and
// writes rows 2i and 2i+1 of y, rows of width values (2·tiles−1 ≤ width
// ≤ 2·tiles) one after the other. y holds the 2·rows rows, or one less
// when the plane ends with a single row, which the last tile row then
// writes alone. WinogradOutputRows is:
//
//	for i := range rows {
//		y0 := y[2*i*width : (2*i+1)*width]
//		y1 := y[(2*i+1)*width : (2*i+2)*width] // nil past the end of y
//		WinogradOutput(y0, y1, m[i*tiles:], ms, tiles, bias)
//	}
func WinogradOutputRows(y []float32, width int, m []float32, ms, tiles, rows int, bias float32) {
	if tiles <= 0 || rows <= 0 {
		return
	}
	if width < 2*tiles-1 || width > 2*tiles || len(y) != 2*rows*width && len(y) != (2*rows-1)*width {
		panic(fmt.Sprintf("asm: WinogradOutputRows: %d values for %d tile rows of %d tiles in rows of %d, need rows of %d or %d values, %d or %d of them",
			len(y), rows, tiles, width, 2*tiles-1, 2*tiles, 2*rows, 2*rows-1))
	}
	checkTransform("WinogradOutputRows", m, ms, rows*tiles, 16)
	for i := range rows {
		y0, y1 := y[2*i*width:(2*i+1)*width], []float32(nil)
		g := 0
		if (2*i+2)*width <= len(y) {
			y1 = y[(2*i+1)*width : (2*i+2)*width]
			g = min(tiles, width/2) / active.conv.width
		}
		outputRow(y0, y1, m[i*tiles:], ms, tiles, g, bias)
	}
}

// outputRow is WinogradOutput once checked, with g the number of groups
// of the active kernel inside both rows.
func outputRow(y0, y1, m []float32, ms, tiles, g int, bias float32) {
	k := active.conv
	if g > 0 {
		k.output(&y0[0], &y1[0], &m[0], ms, g, bias)
	}
	for t := g * k.width; t < tiles; t++ {
		var r [4]float32
		winoOutputTile(&r, m[t:], ms, bias)
		for i, y := range [][]float32{y0, y1} {
			if y == nil {
				continue
			}
			y[2*t] = r[2*i]
			if 2*t+1 < len(y) {
				y[2*t+1] = r[2*i+1]
			}
		}
	}
}

// WinogradOutputGrad writes dM = A dY Aᵀ, the adjoint of WinogradOutput
// (without the bias), for tiles tiles of the gradient rows y0 and y1 into
// m (16 rows ms floats apart), as the columns first and then the rows;
// values past the rows' lengths, and a nil y1, read as zero.
// WinogradOutputGrad is:
//
//	for t := range tiles {
//		var e [2][4]float32 // dY Aᵀ
//		for i, y := range [][]float32{y0, y1} {
//			a, c := y[2*t], y[2*t+1] // or 0 outside y
//			e[i] = [4]float32{a, a + c, a - c, -c}
//		}
//		for j := range 4 {
//			m[j*ms+t], m[(4+j)*ms+t] = e[0][j], e[0][j]+e[1][j]
//			m[(8+j)*ms+t], m[(12+j)*ms+t] = e[0][j]-e[1][j], -e[1][j]
//		}
//	}
//
// y0 (and y1 unless nil) must hold at least 2·tiles−1 values.
func WinogradOutputGrad(m []float32, ms int, y0, y1 []float32, tiles int) {
	if tiles <= 0 {
		return
	}
	g := checkOutputRows("WinogradOutputGrad", y0, y1, m, ms, tiles)
	k := active.conv
	if g > 0 {
		k.outputGrad(&m[0], ms, &y0[0], &y1[0], g)
	}
	for t := g * k.width; t < tiles; t++ {
		var d [4]float32
		for i, y := range [][]float32{y0, y1} {
			if 2*t < len(y) {
				d[2*i] = y[2*t]
			}
			if 2*t+1 < len(y) {
				d[2*i+1] = y[2*t+1]
			}
		}
		winoOutputGradTile(m[t:], ms, &d)
	}
}

// checkOutputRows panics unless the output rows y0, y1 and the transform
// values m (stride ms) fit tiles tiles, as op states them, and returns
// the number of groups of the active kernels that fall wholly inside
// both rows (none without a second row).
func checkOutputRows(op string, y0, y1, m []float32, ms, tiles int) (groups int) {
	if len(y0) < 2*tiles-1 || (y1 != nil && len(y1) != len(y0)) {
		panic(fmt.Sprintf("asm: %s: rows of %d and %d values for %d tiles, need two equal rows of at least %d (or a nil second)",
			op, len(y0), len(y1), tiles, 2*tiles-1))
	}
	checkTransform(op, m, ms, tiles, 16)
	if y1 == nil {
		return 0
	}
	return min(tiles, len(y0)/2) / active.conv.width
}

// checkTransform panics unless m holds tiles tiles of the xis rows ms
// floats apart of the transform domain (16 for F(2×2, 3×3), 36 for
// F(4×4, 3×3)), as op states them.
func checkTransform(op string, m []float32, ms, tiles, xis int) {
	if ms < tiles || len(m) < (xis-1)*ms+tiles {
		panic(fmt.Sprintf("asm: %s: %d values with stride %d for %d tiles, need stride ≥ tiles and %d values", op, len(m), ms, tiles, (xis-1)*ms+tiles))
	}
}

// winoOutputGradTile writes dM = A dY Aᵀ of the 2×2 tile d (row by row) to
// m[ξ·ms].
func winoOutputGradTile(m []float32, ms int, d *[4]float32) {
	var e [8]float32
	for i := range 2 {
		a, c := d[2*i], d[2*i+1]
		e[4*i], e[4*i+1], e[4*i+2], e[4*i+3] = a, a+c, a-c, -c
	}
	for j := range 4 {
		a, c := e[j], e[4+j]
		m[j*ms], m[(4+j)*ms], m[(8+j)*ms], m[(12+j)*ms] = a, a+c, a-c, -c
	}
}

// winoOutputGradGeneric is the WinogradOutputGrad contract in plain Go for
// whole rows of 2·tiles values.
func winoOutputGradGeneric(m *float32, ms int, y0, y1 *float32, tiles int) {
	mm := unsafe.Slice(m, 15*ms+tiles)
	r0, r1 := unsafe.Slice(y0, 2*tiles), unsafe.Slice(y1, 2*tiles)
	for t := range tiles {
		winoOutputGradTile(mm[t:], ms, &[4]float32{r0[2*t], r0[2*t+1], r1[2*t], r1[2*t+1]})
	}
}

// winoOutputTile sets r to the 2×2 output tile, row by row, of the values
// m[ξ·ms], plus bias.
func winoOutputTile(r *[4]float32, m []float32, ms int, bias float32) {
	var a [8]float32
	for j := range 4 {
		m0, m1, m2, m3 := m[j*ms], m[(4+j)*ms], m[(8+j)*ms], m[(12+j)*ms]
		a[j], a[4+j] = m0+m1+m2, m1-m2-m3
	}
	for i := range 2 {
		r[2*i] = a[4*i] + a[4*i+1] + a[4*i+2] + bias
		r[2*i+1] = a[4*i+1] - a[4*i+2] - a[4*i+3] + bias
	}
}

// winoInputGeneric is the WinogradInput contract in plain Go for one row
// of tiles, one tile at a time.
func winoInputGeneric(v *float32, vs int, d *float32, ld, tiles int) {
	vv := unsafe.Slice(v, 15*vs+tiles)
	dd := unsafe.Slice(d, 3*ld+2*tiles+2)
	for t := range tiles {
		var f [4][4]float32
		for i := range 4 {
			c := dd[i*ld+2*t : i*ld+2*t+4 : i*ld+2*t+4]
			f[i] = [4]float32{c[0] - c[2], c[1] + c[2], c[2] - c[1], c[1] - c[3]}
		}
		for j := range 4 {
			vv[j*vs+t] = f[0][j] - f[2][j]
			vv[(4+j)*vs+t] = f[1][j] + f[2][j]
			vv[(8+j)*vs+t] = f[2][j] - f[1][j]
			vv[(12+j)*vs+t] = f[1][j] - f[3][j]
		}
	}
}

// winoOutputGeneric is the WinogradOutput contract in plain Go for whole
// rows of 2·tiles values.
func winoOutputGeneric(y0, y1, m *float32, ms, tiles int, bias float32) {
	mm := unsafe.Slice(m, 15*ms+tiles)
	r0, r1 := unsafe.Slice(y0, 2*tiles), unsafe.Slice(y1, 2*tiles)
	for t := range tiles {
		var r [4]float32
		winoOutputTile(&r, mm[t:], ms, bias)
		r0[2*t], r0[2*t+1], r1[2*t], r1[2*t+1] = r[0], r[1], r[2], r[3]
	}
}
