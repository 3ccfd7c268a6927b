package glmc_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glmc/glmc/glmc"
)

func TestCutBox(t *testing.T) {
	for _, c := range []struct {
		name     string
		h, w     int
		lambda   float64
		row, col int
		want     glmc.Box
	}{
		// λ = 0: sides 32, half 16 each way; only a centred box covers all.
		{"λ=0 centred", 32, 32, 0, 16, 16, glmc.Box{R0: 0, C0: 0, R1: 32, C1: 32}},
		{"λ=0 corner", 32, 32, 0, 0, 31, glmc.Box{R0: 0, C0: 15, R1: 16, C1: 32}},
		// λ = 1: sides 0, an empty box at the centre.
		{"λ=1", 32, 32, 1, 5, 7, glmc.Box{R0: 5, C0: 7, R1: 5, C1: 7}},
		// λ just below 1: side ⌈32·1e-6⌉ = 1, half 0: still empty.
		{"λ→1", 32, 32, 1 - 1e-12, 10, 10, glmc.Box{R0: 10, C0: 10, R1: 10, C1: 10}},
		// λ just above 0: side ⌈32·(1−5e-13)⌉ = 32.
		{"λ→0", 32, 32, 1e-12, 3, 30, glmc.Box{R0: 0, C0: 14, R1: 19, C1: 32}},
		// √0.25 = 0.5 exactly: sides 16, clipped at the bottom and left.
		{"clip bottom left", 32, 32, 0.75, 31, 0, glmc.Box{R0: 23, C0: 0, R1: 32, C1: 8}},
		// 15·√0.04 = 3.0000000000000013 in float64: side 4, not 3.
		{"float64 ceil", 15, 15, 0.96, 7, 7, glmc.Box{R0: 5, C0: 5, R1: 9, C1: 9}},
		// Odd sides ⌈7·√0.5⌉ = 5 and ⌈5·√0.5⌉ = 4 lose a pixel to the halving.
		{"odd, non-square", 7, 5, 0.5, 3, 2, glmc.Box{R0: 1, C0: 0, R1: 5, C1: 4}},
		{"non-square swapped", 5, 7, 0.5, 2, 3, glmc.Box{R0: 0, C0: 1, R1: 4, C1: 5}},
		{"one pixel", 1, 1, 0, 0, 0, glmc.Box{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := glmc.CutBox(c.h, c.w, c.lambda, c.row, c.col)
			if got != c.want {
				t.Errorf("CutBox(%d, %d, %v, %d, %d) = %+v, want %+v", c.h, c.w, c.lambda, c.row, c.col, got, c.want)
			}
		})
	}
}

func TestCutBoxPanics(t *testing.T) {
	for _, c := range []struct {
		name     string
		lambda   float64
		row, col int
	}{
		{"λ<0", -0.1, 1, 1}, {"λ>1", 1.5, 1, 1}, {"λ NaN", math.NaN(), 1, 1},
		{"row", 0.5, 4, 1}, {"col", 0.5, 1, -1},
	} {
		assert.Panics(t, func() { glmc.CutBox(4, 4, c.lambda, c.row, c.col) }, c.name)
	}
}

func TestDrawIsAFunctionOfItsPlace(t *testing.T) {
	a := glmc.Draw(3407, 2, 17, 32, 32)
	if b := glmc.Draw(3407, 2, 17, 32, 32); a != b {
		t.Fatalf("same step drew %+v then %+v", a, b)
	}
	for _, other := range []glmc.Draws{
		glmc.Draw(3408, 2, 17, 32, 32), glmc.Draw(3407, 3, 17, 32, 32), glmc.Draw(3407, 2, 18, 32, 32),
	} {
		if other.Lambda == a.Lambda {
			t.Errorf("another seed, epoch or step drew the same λ %v", a.Lambda)
		}
	}
}

// TestDrawDistribution checks λ ~ Beta(1, 1), i.e. uniform: mean 1/2 and
// variance 1/12 (Beta(½, ½), the official --beta default that GLMC_mixed
// ignores, has variance 1/8), and that the box is CutBox of a centre
// uniform over the image.
func TestDrawDistribution(t *testing.T) {
	const steps = 4000
	const h, w = 32, 24
	var sum, sumSq float64
	var rows, cols [2]int // centre in the top or bottom half, left or right half
	for s := range steps {
		d := glmc.Draw(1, 0, s, h, w)
		if !(d.Lambda >= 0 && d.Lambda <= 1) {
			t.Fatalf("step %d: λ = %v", s, d.Lambda)
		}
		sum += d.Lambda
		sumSq += d.Lambda * d.Lambda
		if d.Box.Area() > 0 {
			// For even h, R0+R1 < h exactly when the centre row is above
			// h/2, clipped or not (a box sticks out on one side at most).
			rows[min((d.Box.R0+d.Box.R1)/h, 1)]++
			cols[min((d.Box.C0+d.Box.C1)/w, 1)]++
		}
	}
	mean := sum / steps
	variance := sumSq/steps - mean*mean
	// Standard errors: 0.0046 for the mean, 0.0012 for the variance.
	if math.Abs(mean-0.5) > 0.025 || math.Abs(variance-1.0/12) > 0.006 {
		t.Errorf("λ mean %.4f variance %.4f, want 0.5 and %.4f (Beta(1, 1))", mean, variance, 1.0/12)
	}
	for _, halves := range [][2]int{rows, cols} {
		if n := halves[0] + halves[1]; math.Abs(float64(halves[0])/float64(n)-0.5) > 0.05 {
			t.Errorf("box centres in the two halves: %v, want about equal", halves)
		}
	}
}
