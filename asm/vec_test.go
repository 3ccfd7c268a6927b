package asm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// vecLengths covers empty, every length up to two unrolled AVX2 loops plus
// one, and a few long ones.
func vecLengths() []int {
	var n []int
	for i := 0; i <= 2*4*8+1; i++ {
		n = append(n, i)
	}
	return append(n, 127, 128, 129, 1000)
}

// closeTo reports whether got is within a few ulps of a float64 reference
// whose terms have total magnitude mag.
func closeTo(got float32, want, mag float64, terms int) bool {
	const eps = 1.0 / (1 << 23)
	return math.Abs(float64(got)-want) <= float64(terms+2)*eps*mag+1e-30
}

func TestElementwise(t *testing.T) {
	type op struct {
		name string
		run  func(dst, x, y []float32) // dst starts as a copy of y
		ref  func(x, y float64) float64
	}
	const alpha = -1.7
	ops := []op{
		{"Axpy", func(dst, x, _ []float32) { Axpy(alpha, x, dst) }, func(x, y float64) float64 { return y + alpha*x }},
		{"Scale", func(dst, _, _ []float32) { Scale(alpha, dst) }, func(_, y float64) float64 { return alpha * y }},
		{"Add", func(dst, x, y []float32) { Add(dst, x, y) }, func(x, y float64) float64 { return x + y }},
		{"Mul", func(dst, x, y []float32) { Mul(dst, x, y) }, func(x, y float64) float64 { return x * y }},
		{"Relu", func(dst, x, _ []float32) { Relu(dst, x) }, func(x, _ float64) float64 { return math.Max(x, 0) }},
	}
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, o := range ops {
			for _, n := range vecLengths() {
				for off := 0; off < 4; off++ {
					x, y := randSlice(r, n), randSlice(r, n)
					xIn := append([]float32(nil), x...)
					dst, checkGuards := guarded(t, y, off)
					o.run(dst, x, y)
					checkGuards()
					for i := range dst {
						xi, yi := float64(x[i]), float64(y[i])
						want := o.ref(xi, yi)
						// Bounds every term of every op (|alpha| < 2).
						mag := 2*(math.Abs(xi)+math.Abs(yi)) + math.Abs(xi*yi)
						if !closeTo(dst[i], want, mag, 2) {
							t.Fatalf("%s n=%d off=%d: [%d] = %v, want %v", o.name, n, off, i, dst[i], want)
						}
						if x[i] != xIn[i] {
							t.Fatalf("%s n=%d: input x changed at %d", o.name, n, i)
						}
					}
				}
			}
		}
	})
}

func TestReductions(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, n := range vecLengths() {
			x, y := randSlice(r, n), randSlice(r, n)
			var dot, dotMag, sum, sumMag float64
			for i := range x {
				dot += float64(x[i]) * float64(y[i])
				dotMag += math.Abs(float64(x[i]) * float64(y[i]))
				sum += float64(x[i])
				sumMag += math.Abs(float64(x[i]))
			}
			if got := Dot(x, y); !closeTo(got, dot, dotMag, n) {
				t.Errorf("Dot n=%d = %v, want %v", n, got, dot)
			}
			if got := Sum(x); !closeTo(got, sum, sumMag, n) {
				t.Errorf("Sum n=%d = %v, want %v", n, got, sum)
			}
		}
	})
}

// TestVectorSpecialValues pins down what NaN, ±Inf and -0 do, identically
// on every implementation (each input sits at every lane position).
func TestVectorSpecialValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	specials := []float32{nan, inf, -inf, float32(math.Copysign(0, -1)), 0, -1, 2}
	forEachImpl(t, func(t *testing.T) {
		for _, s := range specials {
			for pos := 0; pos < 19; pos++ {
				x := make([]float32, 19)
				for i := range x {
					x[i] = 0.5
				}
				x[pos] = s
				dst := make([]float32, len(x))
				Relu(dst, x)
				want := s
				if !(s > 0) && s == s {
					want = 0 // -0 and negatives become +0; NaN stays NaN
				}
				if got := dst[pos]; math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
					t.Errorf("Relu(%v) at lane %d = %v, want %v", s, pos, got, want)
				}
				if got, isNaN := Sum(x), s != s; isNaN != (got != got) {
					t.Errorf("Sum with %v at %d = %v", s, pos, got)
				}
			}
		}
	})
}

func TestAliasing(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(15, 16))
		x := randSlice(r, 37)
		want := make([]float32, len(x))
		for i, v := range x {
			want[i] = v + v
		}
		Add(x, x, x)
		for i := range x {
			if x[i] != want[i] {
				t.Fatalf("Add(x, x, x)[%d] = %v, want %v", i, x[i], want[i])
			}
		}
		Relu(x, x)
		for i := range x {
			if x[i] < 0 {
				t.Fatalf("Relu in place left %v at %d", x[i], i)
			}
		}
	})
}

func TestVectorLengthMismatchPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"Axpy": func() { Axpy(1, make([]float32, 3), make([]float32, 4)) },
		"Dot":  func() { Dot(make([]float32, 3), make([]float32, 4)) },
		"Add":  func() { Add(make([]float32, 3), make([]float32, 3), make([]float32, 4)) },
		"Mul":  func() { Mul(make([]float32, 4), make([]float32, 3), make([]float32, 4)) },
		"Relu": func() { Relu(make([]float32, 3), make([]float32, 4)) },
	} {
		assert.Panics(t, f, name)
	}
}

func BenchmarkVector(b *testing.B) {
	saved := active
	defer use(saved)
	x, y := make([]float32, 1<<16), make([]float32, 1<<16)
	for _, im := range impls {
		if !im.usable() {
			continue
		}
		use(im)
		b.Run(im.name+"/Axpy", func(b *testing.B) {
			for range b.N {
				Axpy(0.5, x, y)
			}
			b.SetBytes(int64(8 * len(x)))
		})
		b.Run(im.name+"/Dot", func(b *testing.B) {
			for range b.N {
				Dot(x, y)
			}
			b.SetBytes(int64(8 * len(x)))
		})
	}
}
