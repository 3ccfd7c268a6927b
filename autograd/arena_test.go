package autograd_test

import (
	"math"
	"slices"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// double is 2·x as a Custom op whose value and gradient come from x's
// arena, as the layers of package nn allocate.
func double(x *autograd.Var) *autograd.Var {
	y := x.Arena().New(x.Shape()...)
	for i, v := range x.Value.Data {
		y.Data[i] = 2 * v
	}
	return autograd.Custom("double", y, []*autograd.Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		dx := x.Arena().New(x.Shape()...)
		for i, v := range g.Data {
			dx.Data[i] = 2 * v
		}
		return []*tensor.Tensor{dx}
	})
}

// mul is x·w as a Custom op whose value and gradients come from x's
// arena, so that the parameter w receives a gradient from the arena.
func mul(x, w *autograd.Var) *autograd.Var {
	y := x.Arena().New(x.Shape()...)
	for i, v := range x.Value.Data {
		y.Data[i] = v * w.Value.Data[i]
	}
	return autograd.Custom("mul", y, []*autograd.Var{x, w}, func(g *tensor.Tensor) []*tensor.Tensor {
		dw := x.Arena().New(w.Shape()...)
		for i, v := range g.Data {
			dw.Data[i] = v * x.Value.Data[i]
		}
		return []*tensor.Tensor{nil, dw}
	})
}

// identity passes its gradient on as it is, handing gradOut to its input.
func identity(x *autograd.Var) *autograd.Var {
	return autograd.Custom("identity", x.Value, []*autograd.Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
		return []*tensor.Tensor{g.Reshape(x.Shape()...)}
	})
}

// arenaStep runs one forward and backward pass on the input x, through
// ops that allocate from its arena, hand gradients on, use a Var twice and
// retain an intermediate gradient, and returns the retained gradient and
// the loss. The values of the four doubles and of mul, and the retained
// gradient, stay in the arena: 6·6 values.
func arenaStep(w *autograd.Var, x *autograd.Var) (retained, loss []float32) {
	h := double(mul(x, w)) // (2, 3)
	h.RetainGrad()
	k := identity(double(h))
	y := autograd.Sum(autograd.Add(double(k), double(k)))
	y.Backward()
	return slices.Clone(h.Grad.Data), slices.Clone(y.Value.Data)
}

// arenaStepKeeps is the storage arenaStep leaves in use.
const arenaStepKeeps = 4 * 6 * 6

// TestArenaGraphMatchesHeap runs the same steps with the input in an
// arena (poisoned on release, so a gradient given back while still in use
// shows as NaN) and on the heap: the gradients agree to the bit, the
// parameter's gradient stays out of the arena, and after the first step
// the arena holds no more storage.
func TestArenaGraphMatchesHeap(t *testing.T) {
	x := tensor.FromSlice([]float32{1, -2, 3, 0.5, -1, 2}, 2, 3)
	newW := func() *autograd.Var {
		return autograd.Param(tensor.FromSlice([]float32{0.5, 1, -1.5, 2, 0.25, -1}, 2, 3))
	}
	a := tensor.NewArena()
	a.PoisonReleased = true
	wa, wh := newW(), newW()
	var held int
	for step := range 3 {
		a.Reset()
		ra, la := arenaStep(wa, autograd.ConstIn(a, x))
		rh, lh := arenaStep(wh, autograd.Const(x))
		for _, c := range []struct {
			name        string
			arena, heap []float32
		}{{"retained gradient", ra, rh}, {"loss", la, lh}, {"parameter gradient", wa.Grad.Data, wh.Grad.Data}} {
			for i := range c.heap {
				if math.Float32bits(c.arena[i]) != math.Float32bits(c.heap[i]) {
					t.Fatalf("step %d: %s: arena %v, heap %v", step, c.name, c.arena, c.heap)
				}
			}
		}
		if a.Owns(wa.Grad) {
			t.Fatalf("step %d: the parameter's gradient lives in the arena", step)
		}
		if a.InUse() != arenaStepKeeps {
			t.Fatalf("step %d: %d bytes in use after backward, want %d: gradients were not given back", step, a.InUse(), arenaStepKeeps)
		}
		if step == 1 {
			held = a.Held()
		}
		if step == 2 && a.Held() != held {
			t.Errorf("the arena grew from %d to %d bytes in a step like the one before", held, a.Held())
		}
	}
}
