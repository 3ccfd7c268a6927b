package nn

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/autograd/gradcheck"
	"github.com/glmc/glmc/tensor"
)

// TestMaxPool2dGradcheck checks the backward rule with finite differences
// on inputs whose values are all distinct and far apart (a tie within the
// step would be a kink), with the stem's 3×3/2/1 window, odd sizes and a
// window without padding.
func TestMaxPool2dGradcheck(t *testing.T) {
	for _, c := range []struct {
		p     MaxPool2d
		shape []int
	}{
		{MaxPool2d{3, 2, 1}, []int{2, 3, 7, 6}},
		{MaxPool2d{3, 2, 1}, []int{1, 2, 8, 8}},
		{MaxPool2d{2, 2, 0}, []int{2, 2, 5, 4}},
		{MaxPool2d{3, 1, 1}, []int{1, 2, 4, 5}},
	} {
		n := 1
		for _, d := range c.shape {
			n *= d
		}
		// A shuffled ramp: distinct values 0.5 apart.
		perm := tensor.NewRNG(4).Perm(n)
		x := tensor.New(c.shape...)
		for i, p := range perm {
			x.Data[i] = 0.5 * float32(p)
		}
		err := gradcheck.Check(func(in []*autograd.Var) *autograd.Var { return c.p.Forward(in[0]) },
			[]*tensor.Tensor{x}, gradcheck.Options{Step: 1e-3})
		if err != nil {
			t.Errorf("%+v %v: %v", c.p, c.shape, err)
		}
	}
}

// TestMaxPool2dTies: PyTorch's CPU kernel gives a window's gradient to the
// first of equal maxima in row-major order, and to a NaN over any number.
func TestMaxPool2dTies(t *testing.T) {
	nan := float32(math.NaN())
	x := autograd.Param(tensor.FromSlice([]float32{
		1, 5, 5, 0,
		5, 2, nan, 3,
		0, 0, 0, 0,
		-1, -1, -2, -3,
	}, 1, 1, 4, 4))
	y := MaxPool2d{2, 2, 0}.Forward(x)
	want := []float32{5, nan, 0, 0}
	if !slices.EqualFunc(y.Value.Data, want, func(a, b float32) bool { return a == b || a != a && b != b }) {
		t.Errorf("y = %v, want %v", y.Value.Data, want)
	}
	y.BackwardWith(tensor.FromSlice([]float32{1, 2, 3, 4}, 1, 1, 2, 2))
	assert.Equal(t, []float32{0, 1, 0, 0, 0, 0, 2, 0, 3, 0, 4, 0, 0, 0, 0, 0}, x.Grad.Data)
	assert.Panics(t, func() { MaxPool2d{3, 2, 2}.Forward(x) }, "padding over half the kernel")
	assert.Panics(t, func() { MaxPool2d{3, 2, 1}.Forward(autograd.Const(tensor.New(2, 3))) }, "not 4-D")
}

// TestMaxPool2dEvalValues: without a backward pass (a constant input) the
// separable loops give the values of the indexed ones, NaNs included.
func TestMaxPool2dEvalValues(t *testing.T) {
	for _, c := range []struct {
		p     MaxPool2d
		shape []int
	}{
		{MaxPool2d{3, 2, 1}, []int{2, 3, 9, 8}},
		{MaxPool2d{3, 2, 1}, []int{1, 2, 1, 1}},
		{MaxPool2d{2, 2, 0}, []int{2, 2, 5, 4}},
		{MaxPool2d{3, 1, 1}, []int{1, 2, 4, 5}},
		{MaxPool2d{4, 3, 2}, []int{1, 1, 11, 7}},
	} {
		x := tensor.RandN(tensor.NewRNG(5), c.shape...)
		for i := 0; i < len(x.Data); i += 7 {
			x.Data[i] = float32(math.NaN())
		}
		got, want := c.p.Forward(autograd.Const(x)).Value.Data, c.p.Forward(autograd.Param(x)).Value.Data
		if !slices.EqualFunc(got, want, func(a, b float32) bool { return a == b || a != a && b != b }) {
			t.Errorf("%+v %v: %v, want %v", c.p, c.shape, got, want)
		}
	}
}
