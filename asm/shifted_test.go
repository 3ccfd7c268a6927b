package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// shiftedCase is one shifted-window product: C (m×n), depth k, windows at
// k random offsets into a buffer of span floats past the longest window.
type shiftedCase struct{ m, n, k int }

// shiftedCases sit around the tiles of every implementation (mr 4, nr 4,
// 16 and 24; the gradient's 4×3 tile and its 4 or 8 lanes) and at the
// sizes of ResNeXt's grouped convolutions (k = 9·channels per group).
var shiftedCases = []shiftedCase{
	{1, 1, 1}, {3, 5, 2}, {4, 4, 3}, {5, 23, 9}, {4, 24, 36}, {8, 25, 9}, {7, 49, 5},
	{4, 15, 7}, {4, 16, 4}, {9, 33, 6},
	{4, 48, 36}, {8, 100, 72}, {16, 97, 144}, {32, 72, 288}, {2, 9, 1}, {12, 17, 10},
}

// shiftedInputs returns A (m×lda), b and the offsets for c, with lda
// and the offsets chosen from seed.
func shiftedInputs(r *rand.Rand, c shiftedCase) (a []float32, lda int, b []float32, off []int) {
	lda = c.k + r.IntN(3)
	a = randSlice(r, c.m*lda)
	span := 3*c.n + 10
	b = randSlice(r, span+c.n)
	off = make([]int, c.k)
	for p := range off {
		off[p] = r.IntN(span + 1)
	}
	return a, lda, b, off
}

// TestSgemmShifted checks every implementation against the definition in
// float64, inside NaN guards (C's gaps between rows must stay untouched,
// and C is not read), at offsets 0..3.
func TestSgemmShifted(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, c := range shiftedCases {
			for offset := range 4 {
				t.Run(fmt.Sprintf("%dx%dx%d_at%d", c.m, c.n, c.k, offset), func(t *testing.T) {
					a, lda, bv, off := shiftedInputs(r, c)
					ldc := c.n + offset
					a, checkA := guarded(t, a, offset)
					b, checkB := guarded(t, bv, offset)
					nan := make([]float32, (c.m-1)*ldc+c.n)
					for i := range nan {
						nan[i] = float32(math.NaN())
					}
					out, checkC := guarded(t, nan, offset)
					SgemmShifted(c.m, c.n, a, lda, b, off, out, ldc)
					checkA()
					checkB()
					checkC()
					for i := range c.m {
						for j := range c.n {
							var s, mag float64
							for p, o := range off {
								s += float64(a[i*lda+p]) * float64(b[o+j])
								mag += math.Abs(float64(a[i*lda+p]) * float64(b[o+j]))
							}
							got := float64(out[i*ldc+j])
							if math.Abs(got-s) > 1e-6*(1+mag) || math.IsNaN(got) {
								t.Fatalf("C[%d][%d] = %v, want %v", i, j, got, s)
							}
						}
						for j := c.n; j < ldc && i+1 < c.m; j++ {
							if !math.IsNaN(float64(out[i*ldc+j])) {
								t.Fatalf("C[%d][%d] past n written", i, j)
							}
						}
					}
				})
			}
		}
	})
}

// TestSgemmShiftedGrad checks every implementation against the definition
// in float64: it adds to C (set to 1 first), leaves C's gaps alone and
// reads nothing outside its windows.
func TestSgemmShiftedGrad(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, c := range shiftedCases {
			for offset := range 4 {
				t.Run(fmt.Sprintf("%dx%dx%d_at%d", c.m, c.n, c.k, offset), func(t *testing.T) {
					// G is m×n (ldg ≥ n), C m×k.
					ldg := c.n + r.IntN(3)
					g, checkG := guarded(t, randSlice(r, c.m*ldg), offset)
					_, _, bv, off := shiftedInputs(r, c)
					b, checkB := guarded(t, bv, offset)
					ldc := c.k + offset
					init := make([]float32, (c.m-1)*ldc+c.k)
					for i := range init {
						init[i] = float32(math.NaN())
					}
					for i := range c.m {
						for p := range c.k {
							init[i*ldc+p] = 1
						}
					}
					out, checkC := guarded(t, init, offset)
					SgemmShiftedGrad(c.m, c.n, g, ldg, b, off, out, ldc)
					checkG()
					checkB()
					checkC()
					for i := range c.m {
						for p, o := range off {
							s, mag := 1.0, 1.0
							for j := range c.n {
								s += float64(g[i*ldg+j]) * float64(b[o+j])
								mag += math.Abs(float64(g[i*ldg+j]) * float64(b[o+j]))
							}
							if got := float64(out[i*ldc+p]); math.Abs(got-s) > 1e-6*mag || math.IsNaN(got) {
								t.Fatalf("C[%d][%d] = %v, want %v", i, p, got, s)
							}
						}
						for p := c.k; p < ldc && i+1 < c.m; p++ {
							if !math.IsNaN(float64(out[i*ldc+p])) {
								t.Fatalf("C[%d][%d] past k written", i, p)
							}
						}
					}
				})
			}
		}
	})
}

// TestSgemmShiftedPanics: windows past the buffer and short matrices are
// programmer errors.
func TestSgemmShiftedPanics(t *testing.T) {
	c := make([]float32, 8)
	for name, f := range map[string]func(){
		"window past b":   func() { SgemmShifted(1, 4, make([]float32, 2), 2, make([]float32, 6), []int{0, 3}, c, 4) },
		"negative offset": func() { SgemmShifted(1, 4, make([]float32, 1), 1, make([]float32, 6), []int{-1}, c, 4) },
		"short A":         func() { SgemmShifted(2, 4, make([]float32, 3), 2, make([]float32, 6), []int{0, 1}, c, 4) },
		"short C":         func() { SgemmShiftedGrad(3, 4, make([]float32, 12), 4, make([]float32, 6), []int{0, 1, 2}, c, 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
