package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// winoBT4 and winoAT4 are Bᵀ and Aᵀ of F(4×4, 3×3) with the points 0, ±½,
// ±2 and ∞, written out for the float64 definitions.
var (
	winoBT4 = [][]float64{
		{1, 0, -4.25, 0, 1, 0}, {0, -2, -4, 0.5, 1, 0}, {0, 2, -4, -0.5, 1, 0},
		{0, -0.5, -0.25, 2, 1, 0}, {0, 0.5, -0.25, -2, 1, 0}, {0, 1, 0, -4.25, 0, 1},
	}
	winoAT4 = [4][6]float64{{1, 1, 1, 1, 1, 0}, {0, 0.5, -0.5, 2, -2, 0}, {0, 0.25, 0.25, 4, 4, 0}, {0, 0.125, -0.125, 8, -8, 1}}
)

// winoTileCounts are tile counts around the SIMD kernels' groups of four
// and eight tiles.
var winoTileCounts = []int{1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 33}

// TestWinogradOutputRows4 checks every implementation against Aᵀ M A +
// bias in float64 and, bit for bit, against the generic tile, with rows
// clipped to widths 4·tiles−3..4·tiles and planes that end with one to
// four rows of their last tile row.
func TestWinogradOutputRows4(t *testing.T) {
	forEach4Case(t, 13, []int{1, 2, 3}, func(t *testing.T, r *rand.Rand, tiles, width, cut, rows int) {
		n := (4*rows - (tiles+rows)%4) * width // the last tile row has 1..4 rows
		ms := rows*tiles + 5
		m := randSlice(r, 35*ms+rows*tiles)
		bias := float32(r.Float64() - 0.5)
		y, check := guarded(t, make([]float32, n), cut)
		WinogradOutputRows4(y, width, m, ms, tiles, rows, bias)
		check()
		for x := range y {
			row, col := x/width, x%width
			i, a, tt, b := row/4, row%4, col/4, col%4
			k := i*tiles + tt
			s := float64(bias)
			for p := range 6 {
				for q := range 6 {
					s += winoAT4[a][p] * float64(m[(6*p+q)*ms+k]) * winoAT4[b][q]
				}
			}
			if math.Abs(float64(y[x])-s) > 1e-4 {
				t.Fatalf("row %d column %d = %v, Aᵀ M A + bias = %v", row, col, y[x], s)
			}
			if want := winoOutput4Tile(m[k:], ms, bias)[a][b]; math.Float32bits(y[x]) != math.Float32bits(want) {
				t.Fatalf("row %d column %d = %v, generic %v", row, col, y[x], want)
			}
		}
	})
}

// TestWinogradOutputGrad4 checks every implementation against A dY Aᵀ in
// float64 and, bit for bit, against the generic tile, with rows clipped
// to widths 4·tiles−3..4·tiles and one to four rows, at offsets inside
// NaN guards.
func TestWinogradOutputGrad4(t *testing.T) {
	forEach4Case(t, 15, []int{1, 2, 3, 4}, func(t *testing.T, r *rand.Rand, tiles, width, cut, rows int) {
		y, _ := guarded(t, randSlice(r, rows*width), cut)
		ms := tiles + 3
		m, check := guarded(t, nans(35*ms+tiles), rows%4) // gaps between the ξ rows must stay NaN
		WinogradOutputGrad4(m, ms, y, width, tiles)
		check()
		at := func(a, x int) float32 {
			if a < rows && x < width {
				return y[a*width+x]
			}
			return 0
		}
		for tt := range tiles {
			var d [4][4]float32
			for a := range 4 {
				for b := range 4 {
					d[a][b] = at(a, 4*tt+b)
				}
			}
			want := make([]float32, 35*ms+1)
			winoOutputGrad4Tile(want, ms, &d)
			for xi := range 36 {
				var s float64
				for a := range 4 {
					for b := range 4 {
						s += winoAT4[a][xi/6] * float64(d[a][b]) * winoAT4[b][xi%6]
					}
				}
				got := m[xi*ms+tt]
				if math.Abs(float64(got)-s) > 1e-4 {
					t.Fatalf("tile %d ξ %d = %v, A dY Aᵀ = %v", tt, xi, got, s)
				}
				if math.Float32bits(got) != math.Float32bits(want[xi*ms]) {
					t.Fatalf("tile %d ξ %d = %v, generic %v", tt, xi, got, want[xi*ms])
				}
			}
		}
	})
}

// forEach4Case runs f as a subtest for every implementation, every tile
// count of winoTileCounts, rows cut by 0..3 values to width and each of
// rowsList (tile rows or rows, as the test reads it).
func forEach4Case(t *testing.T, seed uint64, rowsList []int, f func(t *testing.T, r *rand.Rand, tiles, width, cut, rows int)) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(seed, seed+1))
		for _, tiles := range winoTileCounts {
			for cut := range 4 {
				for _, rows := range rowsList {
					width := 4*tiles - cut
					t.Run(fmt.Sprintf("tiles%d_width%d_rows%d", tiles, width, rows), func(t *testing.T) {
						f(t, r, tiles, width, cut, rows)
					})
				}
			}
		}
	})
}
