package asm

import (
	"fmt"
	"unsafe"
)

// The transforms of Winograd F(4×4, 3×3) over rows of tiles, for package
// nn, with the interpolation points 0, ±½, ±2 and ∞. Tile t of a row
// covers columns 4t to 4t+5 of six input rows and writes columns 4t to
// 4t+3 of four output rows. The 36 transform-domain values ξ = 6r + j of
// a tile are stored ξ·stride floats apart, the tiles of a row side by
// side, as for F(2×2, 3×3).
//
// The points: measured against float64 on float32 sums over 16 to 256
// channels, the usual 0, ±1, ±2 (Lavin & Gray, 2016) round 2.4 times as
// much as 0, ±½, ±2, and no other set of five tried did better than the
// latter by more than 5% (Barabasz et al. 2020 study the choice); being
// symmetric, it keeps the shared sums and differences of the usual one.
// Every coefficient is a sum of signed powers of two times shared terms
// (c4 − 4c2 + ½c3 − 2c1 for Bᵀ's second row), so that a product is exact
// and a fused multiply-add rounds as the separate multiply and add do:
// the SIMD kernels use FMA and still match this code bit for bit (short
// of subnormal values), whatever the compiler fuses.

// winoB4 returns Bᵀ c for one column or row c of six values, with
//
//	Bᵀ = [1 0 −17/4 0 1 0; 0 −2 −4 ½ 1 0; 0 2 −4 −½ 1 0;
//	      0 −½ −¼ 2 1 0; 0 ½ −¼ −2 1 0; 0 1 0 −17/4 0 1]
func winoB4(c0, c1, c2, c3, c4, c5 float32) [6]float32 {
	a, e := c4-c2*4, c4-c2*0.25
	p, q := c3*0.5-c1*2, c3*2-c1*0.5
	return [6]float32{(c0 - c2*4) + e, a + p, a - p, e + q, e - q, (c1 - c3*4) + (c5 - c3*0.25)}
}

// winoA4 returns Aᵀ c for one column or row c of six values, with
//
//	Aᵀ = [1 1 1 1 1 0; 0 ½ −½ 2 −2 0; 0 ¼ ¼ 4 4 0; 0 ⅛ −⅛ 8 −8 1]
func winoA4(c0, c1, c2, c3, c4, c5 float32) [4]float32 {
	s, t := c1+c2, c3+c4
	d, e := c1-c2, c3-c4
	return [4]float32{c0 + s + t, d*0.5 + e*2, s*0.25 + t*4, d*0.125 + e*8 + c5}
}

// WinogradInput4 writes V = Bᵀ d B (see winoB4) of F(4×4, 3×3) for
// rows×tiles tiles of the image rows d (row stride ld, padding included),
// as the rows of each tile first and then its columns: tile t of tile row
// q covers columns 4t to 4t+5 of rows 4q to 4q+5 and goes to column
// q·tiles + t of V. WinogradInput4 is:
//
//	for q := range rows {
//		for t := range tiles {
//			var f [6][6]float32 // f[i] = row i of d B
//			for i := range 6 {
//				c := d[(4*q+i)*ld+4*t:][:6]
//				f[i] = winoB4(c[0], c[1], c[2], c[3], c[4], c[5])
//			}
//			for j := range 6 {
//				col := winoB4(f[0][j], f[1][j], f[2][j], f[3][j], f[4][j], f[5][j])
//				for i := range 6 {
//					v[(6*i+j)*vs+q*tiles+t] = col[i]
//				}
//			}
//		}
//	}
//
// ld must be at least 4·tiles+2 and vs at least rows·tiles.
func WinogradInput4(v []float32, vs int, d []float32, ld, tiles, rows int) {
	winogradInput("WinogradInput4", 4, active.conv.input4, winoInput4Generic, v, vs, d, ld, tiles, rows)
}

// WinogradOutputRows4 writes Y = Aᵀ M A + bias (see winoA4) of F(4×4,
// 3×3) for rows tile rows of tiles tiles of m (36 rows ms floats apart)
// into one output plane y, as the columns of each tile first and then its
// rows: tile row i takes the tiles m[i·tiles:] and writes rows 4i to 4i+3
// of y, rows of width values (4·tiles−3 ≤ width ≤ 4·tiles) one after the
// other, clipped to width and to the end of y, which holds 4·rows rows or
// up to three fewer. WinogradOutputRows4 is:
//
//	for i := range rows {
//		for t := range tiles {
//			var r [4][6]float32 // Aᵀ M
//			for j := range 6 {
//				c := func(a int) float32 { return m[(6*a+j)*ms+i*tiles+t] }
//				col := winoA4(c(0), c(1), c(2), c(3), c(4), c(5))
//				for a := range 4 {
//					r[a][j] = col[a]
//				}
//			}
//			for a := range 4 {
//				row := winoA4(r[a][0], r[a][1], r[a][2], r[a][3], r[a][4], r[a][5])
//				for b := range 4 {
//					y[(4*i+a)*width+4*t+b] = row[b] + bias // where 4t+b < width and it is inside y
//				}
//			}
//		}
//	}
func WinogradOutputRows4(y []float32, width int, m []float32, ms, tiles, rows int, bias float32) {
	if tiles <= 0 || rows <= 0 {
		return
	}
	if width < 4*tiles-3 || width > 4*tiles || len(y)%width != 0 || len(y) > 4*rows*width || len(y) <= (4*rows-4)*width {
		panic(fmt.Sprintf("asm: WinogradOutputRows4: %d values for %d tile rows of %d tiles in rows of %d, need rows of %d to %d values, %d to %d of them",
			len(y), rows, tiles, width, 4*tiles-3, 4*tiles, 4*rows-3, 4*rows))
	}
	checkTransform("WinogradOutputRows4", m, ms, rows*tiles, 36)
	k := active.conv
	for i := range rows {
		y, m := y[4*i*width:], m[i*tiles:]
		g, whole := 0, min(tiles, width/4)
		if len(y) >= 4*width {
			g = whole / k.width
			if g > 0 {
				k.output4(&y[0], width, &m[0], ms, g, bias)
			}
		}
		for t := g * k.width; t < tiles; t++ {
			tile := winoOutput4Tile(m[t:], ms, bias)
			for a := range min(4, len(y)/width) {
				copy(y[a*width+4*t:min((a+1)*width, a*width+4*t+4)], tile[a][:])
			}
		}
	}
}

// winoInput4Generic is the WinogradInput4 contract in plain Go for one
// row of tiles.
func winoInput4Generic(v *float32, vs int, d *float32, ld, tiles int) {
	vv := unsafe.Slice(v, 35*vs+tiles)
	dd := unsafe.Slice(d, 5*ld+4*tiles+2)
	for t := range tiles {
		var f [6][6]float32
		for i := range 6 {
			c := dd[i*ld+4*t : i*ld+4*t+6 : i*ld+4*t+6]
			f[i] = winoB4(c[0], c[1], c[2], c[3], c[4], c[5])
		}
		for j := range 6 {
			col := winoB4(f[0][j], f[1][j], f[2][j], f[3][j], f[4][j], f[5][j])
			for i, x := range col {
				vv[(6*i+j)*vs+t] = x
			}
		}
	}
}

// winoOutput4Tile returns the 4×4 output tile of the values m[ξ·ms], plus
// bias.
func winoOutput4Tile(m []float32, ms int, bias float32) (y [4][4]float32) {
	var r [4][6]float32
	for j := range 6 {
		col := winoA4(m[j*ms], m[(6+j)*ms], m[(12+j)*ms], m[(18+j)*ms], m[(24+j)*ms], m[(30+j)*ms])
		for a, x := range col {
			r[a][j] = x
		}
	}
	for a := range 4 {
		row := winoA4(r[a][0], r[a][1], r[a][2], r[a][3], r[a][4], r[a][5])
		for b, x := range row {
			y[a][b] = x + bias
		}
	}
	return y
}

// winoOutput4Generic is the WinogradOutputRows4 contract in plain Go for
// one tile row of four whole output rows of at least 4·tiles values.
func winoOutput4Generic(y *float32, width int, m *float32, ms, tiles int, bias float32) {
	yy := unsafe.Slice(y, 3*width+4*tiles)
	mm := unsafe.Slice(m, 35*ms+tiles)
	for t := range tiles {
		tile := winoOutput4Tile(mm[t:], ms, bias)
		for a := range 4 {
			copy(yy[a*width+4*t:a*width+4*t+4], tile[a][:])
		}
	}
}

// winoAA4 returns A c = (Aᵀ)ᵀ c for one column or row c of four values,
// the adjoint of winoA4.
func winoAA4(c0, c1, c2, c3 float32) [6]float32 {
	e1, o1 := c0+c2*0.25, (c1+c3*0.25)*0.5
	e2, o2 := c0+c2*4, (c1+c3*4)*2
	return [6]float32{c0, e1 + o1, e1 - o1, e2 + o2, e2 - o2, c3}
}

// WinogradOutputGrad4 writes dM = A dY Aᵀ (see winoAA4), the adjoint of
// WinogradOutputRows4 without the bias, for the tiles tiles of one tile
// row of the gradient y into m (36 rows ms floats apart), as the rows of
// each tile first and then its columns: y holds one to four rows of width
// values (4·tiles−3 ≤ width ≤ 4·tiles), fewer at the end of a plane;
// values past them read as zero. WinogradOutputGrad4 is:
//
//	for t := range tiles {
//		var e [4][6]float32 // dY Aᵀ
//		for a := range 4 {
//			c := func(b int) float32 { return y[a*width+4*t+b] } // 0 outside y's rows and width
//			e[a] = winoAA4(c(0), c(1), c(2), c(3))
//		}
//		for j := range 6 {
//			col := winoAA4(e[0][j], e[1][j], e[2][j], e[3][j])
//			for i := range 6 {
//				m[(6*i+j)*ms+t] = col[i]
//			}
//		}
//	}
func WinogradOutputGrad4(m []float32, ms int, y []float32, width, tiles int) {
	if tiles <= 0 {
		return
	}
	if width < 4*tiles-3 || width > 4*tiles || len(y)%width != 0 || len(y) == 0 || len(y) > 4*width {
		panic(fmt.Sprintf("asm: WinogradOutputGrad4: %d values for %d tiles in rows of %d, need one to four rows of %d to %d values",
			len(y), tiles, width, 4*tiles-3, 4*tiles))
	}
	checkTransform("WinogradOutputGrad4", m, ms, tiles, 36)
	k := active.conv
	g := 0
	if len(y) == 4*width {
		g = min(tiles, width/4) / k.width
		if g > 0 {
			k.outputGrad4(&m[0], ms, &y[0], width, g)
		}
	}
	rows := len(y) / width
	for t := g * k.width; t < tiles; t++ {
		var d [4][4]float32
		for a := range rows {
			copy(d[a][:], y[a*width+4*t:min((a+1)*width, a*width+4*t+4)])
		}
		winoOutputGrad4Tile(m[t:], ms, &d)
	}
}

// winoOutputGrad4Tile writes dM = A dY Aᵀ of the 4×4 tile d to m[ξ·ms].
func winoOutputGrad4Tile(m []float32, ms int, d *[4][4]float32) {
	var e [4][6]float32
	for a := range 4 {
		e[a] = winoAA4(d[a][0], d[a][1], d[a][2], d[a][3])
	}
	for j := range 6 {
		col := winoAA4(e[0][j], e[1][j], e[2][j], e[3][j])
		for i, x := range col {
			m[(6*i+j)*ms] = x
		}
	}
}

// winoOutputGrad4Generic is the WinogradOutputGrad4 contract in plain Go
// for four whole rows of at least 4·tiles values.
func winoOutputGrad4Generic(m *float32, ms int, y *float32, width, tiles int) {
	mm := unsafe.Slice(m, 35*ms+tiles)
	yy := unsafe.Slice(y, 3*width+4*tiles)
	for t := range tiles {
		var d [4][4]float32
		for a := range 4 {
			copy(d[a][:], yy[a*width+4*t:])
		}
		winoOutputGrad4Tile(mm[t:], ms, &d)
	}
}
