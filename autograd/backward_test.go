package autograd_test

import (
	"math"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
	"github.com/stretchr/testify/require"
)

func TestUsedTwiceAccumulates(t *testing.T) {
	x := autograd.Param(tensor.FromSlice([]float32{1, -2, 3}, 3))
	// y = Σ x·x + x + x: dy/dx = 2x + 2, through three paths into x.
	y := autograd.Sum(autograd.Add(autograd.Mul(x, x), autograd.Add(x, x)))
	y.Backward()
	require.Equal(t, []float32{4, -2, 8}, x.Grad.Data)

	// A second graph adds to the same Grad until ZeroGrad.
	autograd.Sum(autograd.MulScalar(x, 10)).Backward()
	require.Equal(t, []float32{14, 8, 18}, x.Grad.Data)
	autograd.ZeroGrad(x)
	require.Equal(t, []float32{0, 0, 0}, x.Grad.Data)
}

func TestSharedSubgraph(t *testing.T) {
	// A diamond: h feeds two branches, which meet again.
	x := autograd.Param(tensor.FromSlice([]float32{0.5, 2}, 2))
	h := autograd.Exp(x)
	y := autograd.Sum(autograd.Add(autograd.Mul(h, h), h))
	y.Backward()
	for i, v := range x.Value.Data {
		e := math.Exp(float64(v))
		require.InDelta(t, 2*e*e+e, float64(x.Grad.Data[i]), 1e-4)
	}
}

func TestDetachStopsGradient(t *testing.T) {
	x := autograd.Param(tensor.FromSlice([]float32{3}, 1))
	// y = x·sg(x): the gradient is sg(x) = 3, not 2x = 6.
	y := autograd.Sum(autograd.Mul(x, autograd.Detach(x)))
	y.Backward()
	require.Equal(t, []float32{3}, x.Grad.Data)
	d := autograd.Detach(y)
	require.False(t, d.RequiresGrad())
	require.Same(t, y.Value, d.Value, "Detach shares the value")
}

func TestNoGradRecordsNothing(t *testing.T) {
	w := autograd.Param(tensor.FromSlice([]float32{1, 2}, 2))
	frozen := autograd.Param(tensor.FromSlice([]float32{5}, 1))
	frozen.SetRequiresGrad(false)
	x := autograd.Const(tensor.FromSlice([]float32{3, 4}, 2))
	var y *autograd.Var
	autograd.NoGrad([]*autograd.Var{w, frozen, w}, func() {
		y = autograd.Sum(autograd.Mul(autograd.Mul(w, x), frozen))
	})
	require.True(t, y.IsLeaf(), "no graph under NoGrad")
	require.False(t, y.RequiresGrad())
	require.Equal(t, float32(55), y.Item())
	require.True(t, w.RequiresGrad(), "restored afterwards, even when listed twice")
	require.False(t, frozen.RequiresGrad(), "a frozen leaf stays frozen")
	require.Panics(t, y.Backward)

	require.Panics(t, func() {
		autograd.NoGrad([]*autograd.Var{w}, func() { panic("boom") })
	})
	require.True(t, w.RequiresGrad(), "restored after a panic")
	require.Panics(t, func() { autograd.NoGrad([]*autograd.Var{autograd.Neg(w)}, func() {}) }, "only leaves")
}

func TestIntermediateGradsAndRelease(t *testing.T) {
	x := autograd.Param(tensor.FromSlice([]float32{1, 2}, 2))
	h := autograd.MulScalar(x, 3)
	k := autograd.MulScalar(x, 4)
	h.RetainGrad()
	y := autograd.Sum(autograd.Mul(h, k))
	y.Backward()
	require.Equal(t, []float32{4, 8}, h.Grad.Data, "retained: dy/dh = k")
	require.Nil(t, k.Grad, "not retained")
	require.Nil(t, y.Grad)
	require.Equal(t, []float32{24, 48}, x.Grad.Data)
	require.PanicsWithValue(t,
		"autograd: Backward through the result of SumAxes, whose graph an earlier Backward released; build the graph again",
		y.Backward)
}

func TestRetainedGradIsNotAliased(t *testing.T) {
	// Add passes gradOut straight to both inputs; with h retained, neither
	// x nor the other input may take h's Grad as storage.
	x := autograd.Param(tensor.FromSlice([]float32{1, 2}, 2))
	h := autograd.Add(x, x)
	h.RetainGrad()
	r := autograd.Reshape(h, 2, 1)
	autograd.Sum(autograd.MulScalar(r, 5)).Backward()
	require.Equal(t, []float32{5, 5}, h.Grad.Data)
	require.Equal(t, []float32{10, 10}, x.Grad.Data)
	x.Grad.Data[0] = 99
	require.Equal(t, []float32{5, 5}, h.Grad.Data)
}

func TestBackwardWithSeed(t *testing.T) {
	x := autograd.Param(tensor.FromSlice([]float32{1, 2, 3}, 3))
	seed := tensor.FromSlice([]float32{1, 0, -1}, 3)
	autograd.MulScalar(x, 2).BackwardWith(seed)
	require.Equal(t, []float32{2, 0, -2}, x.Grad.Data)
	require.Equal(t, []float32{1, 0, -1}, seed.Data, "the seed is not modified")
	require.Panics(t, func() { autograd.MulScalar(x, 2).Backward() }, "non-scalar needs BackwardWith")
	require.Panics(t, func() { autograd.MulScalar(x, 2).BackwardWith(tensor.New(2)) })
	leaf := autograd.Param(tensor.FromSlice([]float32{7}, 1))
	leaf.Backward()
	require.Equal(t, []float32{1}, leaf.Grad.Data, "Backward of a leaf seeds its own Grad")
}

func TestCustom(t *testing.T) {
	a := autograd.Param(tensor.FromSlice([]float32{1, 2}, 2))
	c := autograd.Const(tensor.FromSlice([]float32{3, 4}, 2))
	calls := 0
	out := autograd.Custom("dot", tensor.FromSlice([]float32{11}, 1), []*autograd.Var{a, c}, func(g *tensor.Tensor) []*tensor.Tensor {
		calls++
		require.False(t, c.RequiresGrad())
		return []*tensor.Tensor{tensor.MulScalar(c.Value, g.Data[0]), nil}
	})
	require.Equal(t, "dot", out.Op())
	require.False(t, out.IsLeaf())
	out.Backward()
	require.Equal(t, 1, calls)
	require.Equal(t, []float32{3, 4}, a.Grad.Data)
	require.Nil(t, c.Grad)

	consts := autograd.Custom("dot", tensor.New(1), []*autograd.Var{c}, nil)
	require.True(t, consts.IsLeaf(), "nothing recorded without a grad-requiring input")
	require.Panics(t, func() { autograd.Custom("norule", tensor.New(1), []*autograd.Var{a}, nil) })

	bad := func(gs ...*tensor.Tensor) func() {
		return func() {
			autograd.Custom("bad", tensor.New(1), []*autograd.Var{a, c}, func(*tensor.Tensor) []*tensor.Tensor { return gs }).Backward()
		}
	}
	require.PanicsWithValue(t, "autograd: backward of bad returned 1 gradients for 2 inputs", bad(tensor.New(2)))
	require.PanicsWithValue(t, "autograd: backward of bad: gradient 0 has shape [3], want [2]", bad(tensor.New(3), nil))
}

func TestSetRequiresGrad(t *testing.T) {
	w := autograd.Param(tensor.New(2))
	w.SetRequiresGrad(false)
	require.True(t, autograd.Add(w, w).IsLeaf())
	w.SetRequiresGrad(true)
	require.Panics(t, func() { autograd.Add(w, w).SetRequiresGrad(false) })
}

func TestMaximumTiesSplit(t *testing.T) {
	a := autograd.Param(tensor.FromSlice([]float32{1, 2, 3}, 3))
	b := autograd.Param(tensor.FromSlice([]float32{1, 5, 0}, 3))
	autograd.Sum(autograd.Maximum(a, b)).Backward()
	require.Equal(t, []float32{0.5, 0, 1}, a.Grad.Data)
	require.Equal(t, []float32{0.5, 1, 0}, b.Grad.Data)

	m := autograd.Param(tensor.FromSlice([]float32{4, 1, 4, 2}, 4))
	autograd.MaxAxes(m, false).Backward()
	require.Equal(t, []float32{0.5, 0, 0.5, 0}, m.Grad.Data, "tied maxima share the gradient")
}
