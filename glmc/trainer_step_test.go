package glmc

import (
	"errors"
	"math"
	"slices"
	"testing"

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
