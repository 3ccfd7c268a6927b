package asm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// forEachImpl runs f as a subtest once for every implementation this CPU
// can run, with that implementation active, and restores the original.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	saved := active
	defer use(saved)
	for _, im := range impls {
		if !im.usable() {
			continue
		}
		use(im)
		t.Run(im.name, f)
	}
}

func TestChooseKernel(t *testing.T) {
	im, err := choose("")
	if err != nil || !im.usable() {
		t.Fatalf("choose(\"\") = %v, %v; want a usable implementation", im, err)
	}
	if got := Available(); got[len(got)-1] != im.name {
		t.Errorf("default %q is not the fastest available of %v", im.name, got)
	}
	if im, err := choose("generic"); err != nil || im.name != "generic" {
		t.Errorf("choose(generic) = %v, %v", im, err)
	}
	if _, err := choose("avx9000"); err == nil {
		t.Error("choose(avx9000) gave no error")
	}
	for _, im := range impls {
		if !im.usable() {
			if _, err := choose(im.name); err == nil {
				t.Errorf("choose(%s) on a CPU without it gave no error", im.name)
			}
		}
	}
}

// randSlice returns n values uniform in [-1, 1).
func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// guarded returns a slice of n values inside NaN guard regions, plus a
// check that the guards are still NaN (catching stray writes).
func guarded(t *testing.T, vals []float32, offset int) ([]float32, func()) {
	const guard = 16
	buf := make([]float32, offset+guard+len(vals)+guard)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	s := buf[offset+guard : offset+guard+len(vals) : offset+guard+len(vals)]
	copy(s, vals)
	return s, func() {
		t.Helper()
		for i, v := range buf {
			in := i >= offset+guard && i < offset+guard+len(vals)
			if !in && !math.IsNaN(float64(v)) {
				t.Fatalf("guard element %d overwritten with %v", i, v)
			}
		}
	}
}
