package optim_test

import (
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/internal/goldenmodel"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/optim"
)

const nnGolden = "../nn/testdata/golden/"

// TestGoldenResNet32SGD is the SGD parity test of issue 3: five steps of
// torch.optim.SGD(lr 0.01, momentum 0.9, weight decay 5e-3), plain and
// Nesterov, on the width-4 resnet32 and the GLMC loss of its fixture, with
// CosineAnnealingLR(T_max 5) stepped after every step. The loss of every
// step and the whole final state dict (parameters, running statistics,
// batch counters) must match PyTorch.
func TestGoldenResNet32SGD(t *testing.T) {
	model := golden.MustLoad(t, nnGolden+"resnet32_w4.safetensors")
	sgd := golden.MustLoad(t, nnGolden+"sgd.safetensors")
	var o optim.Options
	var tmax, steps int
	var runs []struct {
		Name     string
		Nesterov bool
	}
	for key, v := range map[string]any{"lr": &o.LR, "momentum": &o.Momentum, "dampening": &o.Dampening,
		"weight_decay": &o.WeightDecay, "t_max": &tmax, "steps": &steps, "runs": &runs} {
		if err := sgd.MetaJSON(key, v); err != nil {
			t.Fatal(err)
		}
	}
	sched := optim.Cosine{Base: o.LR, Epochs: tmax}
	x := autograd.Const(goldenmodel.Tensor(t, model, "x"))

	for _, run := range runs {
		t.Run(run.Name, func(t *testing.T) {
			m := goldenmodel.Model(t, model, "init.")
			o.Nesterov = run.Nesterov
			opt, err := optim.NewSGD(m.Parameters(), o)
			if err != nil {
				t.Fatal(err)
			}
			losses := make([]float32, steps)
			for k := range steps {
				opt.SetLR(sched.LR(k))
				opt.ZeroGrad()
				loss := goldenmodel.Loss(t, model, m.Heads(x))
				losses[k] = loss.Item()
				loss.Backward()
				opt.Step()
			}
			sgd.Expect(t, run.Name+".loss", []int{steps}, losses)

			entries := nn.StateDict(m)
			if n := len(sgd.Names(run.Name + ".final.")); n != len(entries) {
				t.Errorf("the model has %d state-dict entries, the fixture %d", len(entries), n)
			}
			for _, e := range entries {
				goldenmodel.ExpectEntry(t, sgd, run.Name+".final.", e)
			}
		})
	}
}
