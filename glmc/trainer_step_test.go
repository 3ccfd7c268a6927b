package glmc

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/optim"
	"github.com/glmc/glmc/tensor"
)

// tinyLearner is a width-2 resnet32 of 3 classes with one block per
// stage, SGD with momentum and MaxNorm on fc_cb.
func tinyLearner(t testing.TB) *Learner {
	t.Helper()
	m, err := nn.NewModel(nn.Config{Arch: "resnet32", NumClasses: 3, Width: 2, HeadWidth: 4, Blocks: []int{1, 1, 1}}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optim.NewSGD(m.Parameters(), optim.Options{LR: 0.1, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	mn, err := optim.NewMaxNorm(0.1, m.FCCB.Weight, m.FCCB.Bias)
	if err != nil {
		t.Fatal(err)
	}
	return &Learner{Model: m, Opt: opt, MaxNorm: mn, Weights: []float32{0.5, 1, 1.5}, Gamma: 1}
}

// randomPair is a Pair of two 8×8 images per batch for tinyLearner.
func randomPair() Pair {
	r := tensor.NewRNG(2)
	x := func() *tensor.Tensor { return tensor.RandN(r, 2, 3, 8, 8) }
	return Pair{X1: x(), X2: x(), XR1: x(), XR2: x(), Y: []int{0, 1}, YR: []int{2, 2}}
}

// TestLearnerNonFiniteLeavesWeights checks that a step whose loss is not
// finite updates nothing: no back-propagation, no SGD step, no momentum.
func TestLearnerNonFiniteLeavesWeights(t *testing.T) {
	l := tinyLearner(t)
	p := randomPair()
	p.X1.Data[5] = float32(math.Inf(1))
	before := nn.StateOf(l.Model)
	if _, err := l.GLMCStep(p, Draw(1, 0, 0, 8, 8), 0.5); !errors.As(err, new(NonFiniteLossError)) {
		t.Fatalf("GLMCStep: error %v, want NonFiniteLossError", err)
	}
	if _, err := l.CEStep(p.X1, p.Y); !errors.As(err, new(NonFiniteLossError)) {
		t.Fatalf("CEStep: error %v, want NonFiniteLossError", err)
	}
	for _, e := range nn.NamedParameters(l.Model) {
		if !slices.Equal(e.Param.Value.Data, before.Tensors[e.Name].Float) {
			t.Errorf("%s changed", e.Name)
		}
		if e.Param.Grad != nil {
			t.Errorf("%s has a gradient", e.Name)
		}
	}
	if len(l.Opt.State()) != 0 || len(l.MaxNorm.State()) != 0 {
		t.Error("the optimiser or MaxNorm kept state from failed steps")
	}
}

// TestLearnerStepProjects checks that a good step moves every parameter
// that reaches the loss and that MaxNorm keeps fc_cb's rows at or below
// their limit.
func TestLearnerStepProjects(t *testing.T) {
	l := tinyLearner(t)
	before := nn.StateOf(l.Model)
	terms, err := l.GLMCStep(randomPair(), Draw(1, 0, 0, 8, 8), 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if v := terms.Total.Value.Data[0]; math.IsNaN(float64(v)) {
		t.Fatalf("loss %v", v)
	}
	for _, e := range nn.NamedParameters(l.Model) {
		if slices.Equal(e.Param.Value.Data, before.Tensors[e.Name].Float) {
			t.Errorf("%s did not change", e.Name)
		}
	}
	limit := l.MaxNorm.State()["limit.0"].Data[0]
	w := l.Model.FCCB.Weight.Value
	for r := range w.Shape[0] {
		var sq float64
		for _, v := range w.Data[r*w.Shape[1] : (r+1)*w.Shape[1]] {
			sq += float64(v) * float64(v)
		}
		if n := float32(math.Sqrt(sq)); n > limit*(1+1e-6) {
			t.Errorf("fc_cb row %d has norm %v above the limit %v", r, n, limit)
		}
	}
}

// heapStep is GLMCStep as it was before arenas, every tensor fresh from
// the heap: the reference of TestLearnerArenaIsInvisible.
func heapStep(l *Learner, p Pair, d Draws, alpha float64) float32 {
	target, targetW := SoftLabels(p.Y, p.YR, l.Weights, d.Lambda)
	mix := l.Model.Heads(autograd.Const(MixUp(p.X1, p.XR1, d.Lambda)))
	cut := l.Model.Heads(autograd.Const(CutMix(p.X2, p.XR2, d.Box)))
	terms := Loss(mix, cut, target, targetW, alpha, l.Gamma)
	l.Opt.ZeroGrad()
	terms.Total.Backward()
	l.Opt.Step()
	l.MaxNorm.Project()
	return terms.Total.Item()
}

// TestLearnerArenaIsInvisible runs steps of one learner, whose arena
// poisons what it gets back (so a tensor given back while still in use
// turns the results into NaN), against the same steps with every tensor
// from the heap: losses, weights and gradients agree to the bit after
// every step, also across a smaller last batch as an epoch ends with. The
// arena does not grow from one step to the next like it, the smaller
// batch fits mostly in the storage of the full one, and what it added is
// dropped once full steps no longer use it.
func TestLearnerArenaIsInvisible(t *testing.T) {
	arena, heap := tinyLearner(t), tinyLearner(t)
	arena.arena = tensor.NewArena()
	arena.arena.PoisonReleased = true
	r := tensor.NewRNG(3)
	x := func(n int) *tensor.Tensor { return tensor.RandN(r, n, 3, 8, 8) }
	full := Pair{X1: x(4), X2: x(4), XR1: x(4), XR2: x(4), Y: []int{0, 1, 2, 1}, YR: []int{2, 2, 0, 1}}
	last := Pair{X1: x(3), X2: x(3), XR1: x(3), XR2: x(3), Y: []int{1, 0, 2}, YR: []int{0, 2, 2}}
	var held []int
	for step, p := range []Pair{full, full, last, full, full} {
		d := Draw(1, 0, step, 8, 8)
		terms, err := arena.GLMCStep(p, d, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		got, want := terms.Total.Item(), heapStep(heap, p, d, 0.5)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("step %d: loss %v with the arena, %v without", step, got, want)
		}
		for i, p := range arena.Model.Parameters() {
			q := heap.Model.Parameters()[i]
			if !slices.Equal(p.Value.Data, q.Value.Data) || !slices.Equal(p.Grad.Data, q.Grad.Data) {
				t.Fatalf("step %d: parameter %d or its gradient differs with the arena", step, i)
			}
		}
		held = append(held, arena.arena.Held())
	}
	if held[1] != held[0] || held[4] != held[0] || held[2] > held[0]+held[0]/10 {
		t.Errorf("the arena held %v bytes after each step: want the first figure again after a step like it, and at most 10%% more for the last batch", held)
	}
}
