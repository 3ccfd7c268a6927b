package glmc

import (
	"testing"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/optim"
	"github.com/glmc/glmc/tensor"
)

// TestEstimateMemory checks the estimate against the storage a real step
// of the same model takes in the Learner's arena, for both methods and
// for a batch shared by ranks.
func TestEstimateMemory(t *testing.T) {
	train := &data.Dataset{Classes: []string{"a", "b", "c"}, Channels: 3, Height: 16, Width: 16}
	for _, c := range []struct {
		method string
		batch  int
		ranks  int
	}{
		{MethodGLMC, 16, 1},
		{MethodGLMC, 16, 2},
		{MethodGLMC, 5, 1},
		{MethodCE, 24, 1},
		{MethodCE, 24, 3},
	} {
		cfg := DefaultConfig()
		cfg.Width, cfg.Blocks, cfg.BatchSize, cfg.Method = 4, []int{1, 1, 1}, c.batch, c.method
		est, err := EstimateMemory(cfg, train, c.ranks)
		if err != nil {
			t.Fatal(err)
		}
		m, err := nn.NewModel(nn.Config{Arch: cfg.Arch, NumClasses: 3, Width: cfg.Width, Blocks: cfg.Blocks, InChannels: 3}, tensor.NewRNG(1))
		if err != nil {
			t.Fatal(err)
		}
		opt, err := optim.NewSGD(m.Parameters(), optim.Options{LR: 0.1, Momentum: 0.9})
		if err != nil {
			t.Fatal(err)
		}
		l := &Learner{Model: m, Opt: opt, Weights: []float32{1, 1, 1}, Gamma: 1}
		n := (c.batch + c.ranks - 1) / c.ranks
		r := tensor.NewRNG(2)
		x := func() *tensor.Tensor { return tensor.RandN(r, n, 3, 16, 16) }
		y := make([]int, n)
		if c.method == MethodGLMC {
			if _, err := l.GLMCStep(Pair{X1: x(), X2: x(), XR1: x(), XR2: x(), Y: y, YR: y}, Draw(3, 0, 0, 16, 16), 0.5); err != nil {
				t.Fatal(err)
			}
		} else if _, err := l.CEStep(x(), y); err != nil {
			t.Fatal(err)
		}
		got := int64(l.arena.Held())
		if est.Step < got*8/10 || est.Step > got*12/10 {
			t.Errorf("%s, batch %d on %d ranks: estimated %d bytes for a step, a step took %d", c.method, c.batch, c.ranks, est.Step, got)
		}
		var params int64
		for _, p := range m.Parameters() {
			params += int64(4 * p.Value.Numel())
		}
		if est.Parameters != 3*params {
			t.Errorf("%s: %d bytes of parameters, gradients and momentum, want %d", c.method, est.Parameters, 3*params)
		}
	}
}
