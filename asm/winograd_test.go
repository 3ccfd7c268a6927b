package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// winoB, winoA are Bᵀ and Aᵀ of F(2×2, 3×3), for the float64 definitions.
var (
	winoBT = [][]float64{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	winoAT = [2][4]float64{{1, 1, 1, 0}, {0, 1, -1, -1}}
)

// TestWinogradInput checks WinogradInput and WinogradInput4 on every
// implementation against Bᵀ d B in float64 and, bit for bit, against the
// generic kernel, around the groups of the SIMD kernels, at offsets 0..3
// inside NaN guards.
func TestWinogradInput(t *testing.T) {
	for _, f := range []struct {
		m       int // tile side
		bt      [][]float64
		input   func(v []float32, vs int, d []float32, ld, tiles, rows int)
		generic func(v *float32, vs int, d *float32, ld, tiles int)
	}{
		{2, winoBT, WinogradInput, winoInputGeneric},
		{4, winoBT4, WinogradInput4, winoInput4Generic},
	} {
		t.Run(fmt.Sprintf("F%d", f.m), func(t *testing.T) {
			forEachImpl(t, func(t *testing.T) {
				r := rand.New(rand.NewPCG(1, uint64(f.m)))
				a := f.m + 2
				for _, tiles := range append([]int{0}, winoTileCounts...) {
					for _, rows := range []int{1, 3} {
						off := (tiles + rows) % 4
						t.Run(fmt.Sprintf("tiles%d_rows%d", tiles, rows), func(t *testing.T) {
							ld := f.m*tiles + 2 + off
							d, _ := guarded(t, randSlice(r, (f.m*rows+1)*ld+f.m*tiles+2), off)
							vs := rows*tiles + 3
							v, checkGuards := guarded(t, nans((a*a-1)*vs+rows*tiles), off) // gaps between the ξ rows must stay NaN
							f.input(v, vs, d, ld, tiles, rows)
							checkGuards()
							want := nans(len(v))
							for q := range rows {
								if tiles > 0 {
									f.generic(&want[q*tiles], vs, &d[f.m*q*ld], ld, tiles)
								}
							}
							for i := range v {
								if math.Float32bits(v[i]) != math.Float32bits(want[i]) {
									t.Fatalf("v[%d] = %v, generic %v", i, v[i], want[i])
								}
							}
							for q := range rows {
								for tt := range tiles {
									for xi := range a * a {
										var s float64
										for i := range a {
											for j := range a {
												s += f.bt[xi/a][i] * float64(d[(f.m*q+i)*ld+f.m*tt+j]) * f.bt[xi%a][j]
											}
										}
										if got := float64(v[xi*vs+q*tiles+tt]); math.Abs(got-s) > 1e-4 {
											t.Fatalf("tile (%d, %d) ξ %d = %v, Bᵀ d B = %v", q, tt, xi, got, s)
										}
									}
								}
							}
						})
					}
				}
			})
		})
	}
}

// nans returns n NaN values.
func nans(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

// TestWinogradOutput checks every implementation against Aᵀ M A + bias in
// float64 and, bit for bit, against the generic kernel, with clipped rows
// (odd widths) and a missing second row.
func TestWinogradOutput(t *testing.T) {
	forEachOutputCase(t, 3, func(t *testing.T, r *rand.Rand, tiles, width int, second bool) {
		ms := tiles + 5
		m := randSlice(r, 15*ms+tiles)
		bias := float32(r.Float64() - 0.5)
		y0, check0 := guarded(t, make([]float32, width), 1)
		var y1 []float32
		check1 := func() {}
		if second {
			y1, check1 = guarded(t, make([]float32, width), 3)
		}
		WinogradOutput(y0, y1, m, ms, tiles, bias)
		check0()
		check1()
		for i, y := range [][]float32{y0, y1} {
			for x := range len(y) {
				tt, j := x/2, x%2
				var s float64
				for a := range 4 {
					for b := range 4 {
						s += winoAT[i][a] * float64(m[(4*a+b)*ms+tt]) * winoAT[j][b]
					}
				}
				s += float64(bias)
				if math.Abs(float64(y[x])-s) > 1e-5 {
					t.Fatalf("row %d column %d = %v, Aᵀ M A + bias = %v", i, x, y[x], s)
				}
				var tile [4]float32
				winoOutputTile(&tile, m[tt:], ms, bias)
				if math.Float32bits(y[x]) != math.Float32bits(tile[2*i+j]) {
					t.Fatalf("row %d column %d = %v, generic %v", i, x, y[x], tile[2*i+j])
				}
			}
		}
	})
}

// TestWinogradOutputRows checks every implementation, bit for bit,
// against WinogradOutput called row by row, on planes that end with two
// rows or one.
func TestWinogradOutputRows(t *testing.T) {
	forEachOutputCase(t, 4, func(t *testing.T, r *rand.Rand, tiles, width int, second bool) {
		for _, rows := range []int{1, 2, 5} {
			ms := rows*tiles + 3
			m := randSlice(r, 15*ms+rows*tiles)
			bias := float32(r.Float64() - 0.5)
			n := 2 * rows * width
			if !second {
				n -= width
			}
			got, check := guarded(t, make([]float32, n), 2)
			WinogradOutputRows(got, width, m, ms, tiles, rows, bias)
			check()
			want := make([]float32, n)
			for i := range rows {
				y0, y1 := want[2*i*width:(2*i+1)*width], []float32(nil)
				if (2*i+2)*width <= n {
					y1 = want[(2*i+1)*width : (2*i+2)*width]
				}
				WinogradOutput(y0, y1, m[i*tiles:], ms, tiles, bias)
			}
			for x := range want {
				if math.Float32bits(got[x]) != math.Float32bits(want[x]) {
					t.Fatalf("rows %d: value %d = %v, row by row %v", rows, x, got[x], want[x])
				}
			}
		}
	})
}

// TestWinogradOutputGrad checks every implementation against A dY Aᵀ in
// float64 and, bit for bit, against the generic kernel, with clipped rows
// (odd widths), a missing second row and signed zeros.
func TestWinogradOutputGrad(t *testing.T) {
	forEachOutputCase(t, 5, func(t *testing.T, r *rand.Rand, tiles, width int, second bool) {
		vals := randSlice(r, 2*width)
		vals[0], vals[1] = 0, float32(math.Copysign(0, -1)) // −0: negation, not 0 − x
		y0, _ := guarded(t, vals[:width], 0)
		var y1 []float32
		if second {
			y1, _ = guarded(t, vals[width:], 2)
		}
		ms := tiles + 7
		m, checkGuards := guarded(t, make([]float32, 15*ms+tiles), 1)
		WinogradOutputGrad(m, ms, y0, y1, tiles)
		checkGuards()
		at := func(y []float32, x int) float64 {
			if x < len(y) {
				return float64(y[x])
			}
			return 0
		}
		for tt := range tiles {
			d := [4]float32{float32(at(y0, 2*tt)), float32(at(y0, 2*tt+1)), float32(at(y1, 2*tt)), float32(at(y1, 2*tt+1))}
			want := make([]float32, 15*ms+1)
			winoOutputGradTile(want, ms, &d)
			for xi := range 16 {
				var s float64
				for a := range 2 {
					for b := range 2 {
						s += winoAT[a][xi/4] * float64(d[2*a+b]) * winoAT[b][xi%4]
					}
				}
				got := m[xi*ms+tt]
				if math.Abs(float64(got)-s) > 1e-6 {
					t.Fatalf("tile %d ξ %d = %v, A dY Aᵀ = %v", tt, xi, got, s)
				}
				if math.Float32bits(got) != math.Float32bits(want[xi*ms]) {
					t.Fatalf("tile %d ξ %d = %v, generic %v", tt, xi, got, want[xi*ms])
				}
			}
		}
	})
}

// TestDeinterleave checks every implementation against the definition, and
// Interleave as its inverse, at
// lengths around the 16-value blocks of the SIMD kernel, at offsets 0..3
// inside NaN guards.
func TestDeinterleave(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, n := range []int{0, 1, 2, 15, 16, 17, 31, 32, 33, 50} {
			for off := range 4 {
				src := randSlice(r, n)
				even, checkEven := guarded(t, make([]float32, (n+1)/2), off)
				odd, checkOdd := guarded(t, make([]float32, n/2), 3-off)
				Deinterleave(even, odd, src)
				checkEven()
				checkOdd()
				back, checkBack := guarded(t, make([]float32, n), off)
				Interleave(back, even, odd)
				checkBack()
				if !slices.Equal(back, src) {
					t.Fatalf("n=%d: Interleave(Deinterleave(src)) = %v, want %v", n, back, src)
				}
				for i, v := range src {
					got := odd
					if i%2 == 0 {
						got = even
					}
					if got[i/2] != v {
						t.Fatalf("n=%d: element %d = %v, want %v", n, i, got[i/2], v)
					}
				}
			}
		}
	})
}

// TestCopyRows checks every implementation against the definition on rows
// around the vector width, strides with gaps (which must keep their NaN)
// and start offsets 0..3.
func TestCopyRows(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, cols := range []int{1, 2, 7, 8, 9, 15, 16, 17, 32, 33} {
			for _, rows := range []int{1, 2, 5} {
				for off := range 4 {
					lds, ldd := cols+off, cols+3-off
					src := randSlice(r, (rows-1)*lds+cols)
					want := make([]float32, (rows-1)*ldd+cols)
					for i := range want {
						want[i] = float32(math.NaN())
					}
					dst, checkGuards := guarded(t, want, off)
					for i := range rows {
						copy(want[i*ldd:i*ldd+cols], src[i*lds:])
					}
					CopyRows(dst, ldd, src, lds, cols, rows)
					checkGuards()
					for i := range want {
						if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
							t.Fatalf("cols=%d rows=%d off=%d: dst[%d] = %v, want %v", cols, rows, off, i, dst[i], want[i])
						}
					}
				}
			}
		}
	})
}

// forEachOutputCase runs f as a subtest for every implementation and every
// tile count around the kernels' groups, with rows of 2·tiles values or
// one fewer (an odd map width) and with or without a second row.
func forEachOutputCase(t *testing.T, seed uint64, f func(t *testing.T, r *rand.Rand, tiles, width int, second bool)) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(seed, seed+1))
		for _, tiles := range []int{1, 2, 4, 7, 8, 9, 12, 16, 17, 33} {
			for _, odd := range []bool{false, true} {
				for _, second := range []bool{true, false} {
					width := 2 * tiles
					if odd {
						width--
					}
					t.Run(fmt.Sprintf("tiles%d_odd%v_second%v", tiles, odd, second), func(t *testing.T) {
						f(t, r, tiles, width, second)
					})
				}
			}
		}
	})
}
