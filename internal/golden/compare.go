package golden

import (
	"math"
	"testing"
)

// The parity tolerance of issue 3, per tensor: ours matches PyTorch when
// max|ours − torch| ≤ RelTol·max|torch| + AbsTol. Relative to the largest
// reference value rather than elementwise, because float32 sums of many
// terms carry errors on the scale of the tensor, not of each element.
const (
	RelTol = 1e-4
	AbsTol = 1e-5
)

// Float is the element type Compare accepts.
type Float interface{ ~float32 | ~float64 }

// Diff returns max|ours[i] − torch[i]|, the index where it occurs and the
// tolerance RelTol·max|torch| + AbsTol. A NaN or infinity in either slice
// makes the difference +Inf at its index, so it never passes. The slices
// must have equal lengths.
func Diff[T Float](ours, torch []T) (diff float64, at int, tol float64) {
	if len(ours) != len(torch) {
		panic("golden: Diff: slices of different lengths")
	}
	scale := 0.0
	for i := range torch {
		a, b := float64(ours[i]), float64(torch[i])
		scale = math.Max(scale, math.Abs(b))
		d := math.Abs(a - b)
		if math.IsNaN(d) || math.IsInf(d, 0) {
			d = math.Inf(1)
		}
		if d > diff {
			diff, at = d, i
		}
	}
	return diff, at, RelTol*scale + AbsTol
}

// Compare checks ours against PyTorch's tensor at the parity tolerance. It
// logs the maximum difference of every tensor (visible with -v, or with the
// failure) and reports an error naming the tensor, the worst element and
// the tolerance when they do not match. It returns whether they matched.
func Compare[T Float](t testing.TB, name string, ours, torch []T) bool {
	t.Helper()
	if len(ours) != len(torch) {
		t.Errorf("golden: %s: %d values, torch has %d", name, len(ours), len(torch))
		return false
	}
	diff, at, tol := Diff(ours, torch)
	if !(diff <= tol) {
		t.Errorf("golden: %s: max|ours-torch| = %.3g at [%d] (ours %g, torch %g) > tolerance %.3g",
			name, diff, at, float64(ours[at]), float64(torch[at]), tol)
		return false
	}
	t.Logf("golden: %s: max|ours-torch| = %.3g (tolerance %.3g)", name, diff, tol)
	return true
}
