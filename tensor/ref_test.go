package tensor

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// Plain float64 references and comparison helpers shared by the tests.

// unravel turns a row-major flat index into a multi-index of shape.
func unravel(flat int, shape []int) []int {
	idx := make([]int, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		idx[i] = flat % shape[i]
		flat /= shape[i]
	}
	return idx
}

// flatIn is the flat index of a tensor of shape s read at the broadcast
// multi-index idx (s aligned at the end, extent-1 dimensions read at 0).
func flatIn(idx, s []int) int {
	off := len(idx) - len(s)
	f := 0
	for i, d := range s {
		j := idx[off+i]
		if d == 1 {
			j = 0
		}
		f = f*d + j
	}
	return f
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// randT returns a tensor of the given shape with standard normal values
// from a stream named by the test.
func randT(seed uint64, shape ...int) *Tensor { return RandN(NewRNG(seed, 0x7e57), shape...) }

// closeTo reports the first element where got differs from want by more
// than tol·(1+|want|), or "" when they agree. NaNs must match NaNs.
func closeTo(got []float32, want []float64, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d values, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := float64(got[i])
		if math.IsNaN(w) != math.IsNaN(g) || !math.IsNaN(w) && math.Abs(g-w) > tol*(1+math.Abs(w)) && g != w {
			return fmt.Sprintf("element %d: got %v, want %v", i, g, w)
		}
	}
	return ""
}

func requireClose(t *testing.T, got *Tensor, shape []int, want []float64, tol float64) {
	t.Helper()
	if !SameShape(got, &Tensor{Shape: shape}) {
		t.Fatalf("shape %v, want %v", got.Shape, shape)
	}
	if msg := closeTo(got.Data, want, tol); msg != "" {
		t.Fatal(msg)
	}
}

// requirePanic fails unless f panics with a message containing substr.
func requirePanic(t *testing.T, substr string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one mentioning %q", substr)
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, substr) {
			t.Fatalf("panic %q, want one mentioning %q", msg, substr)
		}
	}()
	f()
}

// requireEqual fails unless got has want's shape and bit-identical values.
func requireEqual(t *testing.T, want, got *Tensor, msg ...any) {
	t.Helper()
	if !SameShape(want, got) || len(want.Data) != len(got.Data) {
		t.Fatalf("%v: got %v, want %v", fmt.Sprint(msg...), got, want)
	}
	for i := range want.Data {
		if math.Float32bits(want.Data[i]) != math.Float32bits(got.Data[i]) {
			t.Fatalf("%v: element %d: got %v, want %v", fmt.Sprint(msg...), i, got.Data[i], want.Data[i])
		}
	}
}
