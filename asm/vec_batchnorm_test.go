package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The batch-norm primitives (SumSquaredDev, Affine, GradSums, Combine),
// each run on every implementation against float64 references, at every
// length around the AVX2 unrolling and at offsets 0..3 inside NaN guards.

// TestSumSquaredDev checks SumSquaredDev against float64 and, as its
// contract is, against sumSquaredDevGeneric to the bit.
func TestSumSquaredDev(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(21, 22))
		for _, n := range vecLengths() {
			x := randSlice(r, n)
			const m = 0.3
			var want, mag float64
			for _, v := range x {
				d := float64(v) - m
				want += d * d
				mag += (math.Abs(float64(v)) + m) * (math.Abs(float64(v)) + m)
			}
			got := SumSquaredDev(x, m)
			if !closeTo(got, want, mag, n+2) {
				t.Errorf("SumSquaredDev n=%d = %v, want %v", n, got, want)
			}
			if g := sumSquaredDevGeneric(x, m); math.Float32bits(got) != math.Float32bits(g) {
				t.Errorf("SumSquaredDev n=%d = %v, generic %v", n, got, g)
			}
		}
	})
}

func TestAffine(t *testing.T) {
	const a, b = -1.3, 0.4
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(23, 24))
		for _, add := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				for _, n := range vecLengths() {
					for off := 0; off < 4; off++ {
						x, res := randSlice(rng, n), randSlice(rng, n)
						var r []float32
						if add {
							r = res
						}
						dst, checkGuards := guarded(t, make([]float32, n), off)
						Affine(dst, x, r, a, b, relu)
						checkGuards()
						for i, got := range dst {
							want, mag := a*float64(x[i])+b, math.Abs(a*float64(x[i]))+b
							if add {
								want += float64(r[i])
								mag += math.Abs(float64(r[i]))
							}
							if relu {
								want = math.Max(want, 0)
							}
							if !closeTo(got, want, mag, 2) || relu && got < 0 {
								t.Fatalf("Affine add=%v relu=%v n=%d off=%d: [%d] = %v, want %v", add, relu, n, off, i, got, want)
							}
						}
					}
				}
			}
		}
	})
}

// TestAffinePiecesAtVecBlock checks the promise of VecBlock: Affine over
// pieces that start at multiples of it gives the bits of one call.
func TestAffinePiecesAtVecBlock(t *testing.T) {
	const a, b = -1.3, 0.4
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, n := range []int{1, VecBlock - 1, VecBlock + 3, 3*VecBlock + 5, 7 * VecBlock, 200} {
			for _, add := range []bool{false, true} {
				x, r := randSlice(rng, n), randSlice(rng, n)
				if !add {
					r = nil
				}
				whole, pieces := make([]float32, n), make([]float32, n)
				Affine(whole, x, r, a, b, true)
				for lo := 0; lo < n; {
					hi := min(n, lo+VecBlock*(1+rng.IntN(3)))
					var rp []float32
					if r != nil {
						rp = r[lo:hi]
					}
					Affine(pieces[lo:hi], x[lo:hi], rp, a, b, true)
					lo = hi
				}
				for i := range whole {
					if math.Float32bits(whole[i]) != math.Float32bits(pieces[i]) {
						t.Fatalf("n=%d add=%v: [%d] = %v in pieces, %v in one call", n, add, i, pieces[i], whole[i])
					}
				}
			}
		}
	})
}

func TestAffineInPlaceAndSpecialValues(t *testing.T) {
	nan, inf, negZero := float32(math.NaN()), float32(math.Inf(1)), float32(math.Copysign(0, -1))
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		x, r := randSlice(rng, 45), randSlice(rng, 45)
		want := make([]float32, len(x))
		Affine(want, x, r, 0.5, -0.25, true)
		inX, inR := append([]float32(nil), x...), append([]float32(nil), r...)
		Affine(inX, inX, r, 0.5, -0.25, true)
		Affine(inR, x, inR, 0.5, -0.25, true)
		for i := range want {
			if inX[i] != want[i] || inR[i] != want[i] {
				t.Fatalf("Affine in place [%d]: dst=x gives %v, dst=r gives %v, want %v", i, inX[i], inR[i], want[i])
			}
		}
		// With a = 1 and b = −0, a·x + b is x: ReLU keeps NaN and +Inf and
		// makes every other non-positive value +0.
		for _, c := range []struct{ in, want float32 }{
			{nan, nan}, {inf, inf}, {-inf, 0}, {negZero, 0}, {0, 0}, {-1, 0}, {2, 2},
		} {
			for pos := 0; pos < 19; pos++ {
				x := make([]float32, 19)
				x[pos] = c.in
				dst := make([]float32, len(x))
				Affine(dst, x, nil, 1, negZero, true)
				if got := dst[pos]; math.Float32bits(got) != math.Float32bits(c.want) && !(got != got && c.want != c.want) {
					t.Errorf("Affine relu of %v at lane %d = %v, want %v", c.in, pos, got, c.want)
				}
			}
		}
	})
}

// positiveBits is GradSums's mask, written as its contract says.
func positiveBits(y float32) bool { return int32(math.Float32bits(y)) > 0 }

func TestGradSums(t *testing.T) {
	const m = -0.2
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(27, 28))
		for _, masked := range []bool{false, true} {
			for _, store := range []bool{false, true} {
				for _, n := range vecLengths() {
					for off := 0; off < 4; off++ {
						g, x, ys := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
						var y, dst []float32
						if masked {
							y = ys
						}
						check := func() {}
						if store {
							dst, check = guarded(t, make([]float32, n), off)
						}
						sg, sgx := GradSums(dst, g, y, x, m)
						check()
						var wantG, wantGX, magG, magGX float64
						for i := range g {
							v := g[i]
							if masked && !positiveBits(y[i]) {
								v = 0
							}
							if store && math.Float32bits(dst[i]) != math.Float32bits(v) {
								t.Fatalf("GradSums masked=%v n=%d: dst[%d] = %v, want %v", masked, n, i, dst[i], v)
							}
							wantG += float64(v)
							wantGX += float64(v) * (float64(x[i]) - m)
							magG += math.Abs(float64(v))
							magGX += math.Abs(float64(v)) * (math.Abs(float64(x[i])) - m)
						}
						if !closeTo(sg, wantG, magG, n) || !closeTo(sgx, wantGX, magGX, n+1) {
							t.Fatalf("GradSums masked=%v store=%v n=%d = %v, %v; want %v, %v", masked, store, n, sg, sgx, wantG, wantGX)
						}
					}
				}
			}
		}
	})
}

func TestGradSumsMaskSpecialValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	negNaN := math.Float32frombits(math.Float32bits(nan) | 1<<31)
	tiny := math.Float32frombits(1) // the smallest positive subnormal
	specials := []float32{nan, negNaN, inf, -inf, float32(math.Copysign(0, -1)), 0, tiny, -tiny, -1, 2}
	forEachImpl(t, func(t *testing.T) {
		for _, s := range specials {
			for pos := 0; pos < 19; pos++ {
				g, x, y, dst := make([]float32, 19), make([]float32, 19), make([]float32, 19), make([]float32, 19)
				for i := range g {
					g[i], y[i] = float32(i+1), -1
				}
				y[pos] = s
				sg, _ := GradSums(dst, g, y, x, 0)
				want := float32(0)
				if positiveBits(s) {
					want = g[pos]
				}
				if dst[pos] != want || sg != want {
					t.Errorf("GradSums with y=%v at lane %d: dst %v, sum %v; want %v", s, pos, dst[pos], sg, want)
				}
			}
		}
	})
}

func TestGradSumsInPlace(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(29, 30))
		g, y, x := randSlice(rng, 51), randSlice(rng, 51), randSlice(rng, 51)
		want := make([]float32, len(g))
		sg, sgx := GradSums(want, g, y, x, 0.1)
		s2, s2x := GradSums(g, g, y, x, 0.1)
		for i := range g {
			if g[i] != want[i] {
				t.Fatalf("GradSums(g, g, ...)[%d] = %v, want %v", i, g[i], want[i])
			}
		}
		if s2 != sg || s2x != sgx {
			t.Errorf("GradSums in place = %v, %v; into another slice %v, %v", s2, s2x, sg, sgx)
		}
	})
}

func TestCombine(t *testing.T) {
	const a, b, c = 0.7, -1.9, 0.05
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(31, 32))
		for _, n := range vecLengths() {
			for off := 0; off < 4; off++ {
				x, y := randSlice(rng, n), randSlice(rng, n)
				dst, checkGuards := guarded(t, make([]float32, n), off)
				Combine(dst, x, y, a, b, c)
				checkGuards()
				for i, got := range dst {
					xi, yi := float64(x[i]), float64(y[i])
					if want := a*xi + b*yi + c; !closeTo(got, want, math.Abs(a*xi)+math.Abs(b*yi)+c, 3) {
						t.Fatalf("Combine n=%d off=%d: [%d] = %v, want %v", n, off, i, got, want)
					}
				}
				// In place, over either operand: the same bits.
				inX, inY := append([]float32(nil), x...), append([]float32(nil), y...)
				Combine(inX, inX, y, a, b, c)
				Combine(inY, x, inY, a, b, c)
				for i := range dst {
					if inX[i] != dst[i] || inY[i] != dst[i] {
						t.Fatalf("Combine in place n=%d: [%d]: dst=x gives %v, dst=y %v, want %v", n, i, inX[i], inY[i], dst[i])
					}
				}
			}
		}
	})
}
