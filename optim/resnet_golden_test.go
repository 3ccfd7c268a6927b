package optim_test

import (
	"slices"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/optim"
	"github.com/glmc/glmc/tensor"
)

const nnGolden = "../nn/testdata/golden/"

// TestResNet32SGDGolden is the SGD parity test of issue 3: five steps of
// torch.optim.SGD(lr 0.01, momentum 0.9, weight decay 5e-3), plain and
// Nesterov, on the width-4 resnet32 and the GLMC loss of its fixture, with
// CosineAnnealingLR(T_max 5) stepped after every step. The loss of every
// step and the whole final state dict (parameters, running statistics,
// batch counters) must match PyTorch.
func TestResNet32SGDGolden(t *testing.T) {
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
	var alpha, gamma float32
	for key, v := range map[string]any{"alpha": &alpha, "gamma": &gamma} {
		if err := model.MetaJSON(key, v); err != nil {
			t.Fatal(err)
		}
	}
	x := autograd.Const(fixtureTensor(t, model, "x"))
	target := autograd.Const(fixtureTensor(t, model, "target"))
	targetW := autograd.Const(fixtureTensor(t, model, "target_w"))

	for _, run := range runs {
		t.Run(run.Name, func(t *testing.T) {
			m := resnet32W4(t, model)
			o.Nesterov = run.Nesterov
			opt, err := optim.NewSGD(m.Parameters(), o)
			if err != nil {
				t.Fatal(err)
			}
			losses := make([]float32, steps)
			for k := range steps {
				opt.SetLR(sched.LR(k))
				opt.ZeroGrad()
				out := m.Heads(x)
				ce := autograd.Add(
					autograd.MulScalar(autograd.CrossEntropy(out.FC, target), alpha),
					autograd.MulScalar(autograd.CrossEntropy(out.FCCB, targetW), 1-alpha))
				cos := autograd.Mean(autograd.CosineSimilarity(out.P, autograd.Detach(out.Z), 1, 1e-8))
				loss := autograd.Sub(ce, autograd.MulScalar(cos, gamma))
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
				name := run.Name + ".final." + e.Name
				if e.Count != nil {
					if _, want, err := sgd.Int64(name); err != nil || *e.Count != want[0] {
						t.Errorf("%s = %d, PyTorch %v (%v)", name, *e.Count, want, err)
					}
					continue
				}
				sgd.Expect(t, name, e.Shape(), e.Tensor().Data)
			}
		})
	}
}

// resnet32W4 builds the model of the resnet32_w4 fixture with its init.*
// state dict.
func resnet32W4(t *testing.T, f *golden.File) *nn.Model {
	t.Helper()
	cfg := nn.Config{Arch: "resnet32"}
	for key, v := range map[string]any{"blocks": &cfg.Blocks, "nf": &cfg.Width, "hidden": &cfg.HeadWidth, "classes": &cfg.NumClasses} {
		if err := f.MetaJSON(key, v); err != nil {
			t.Fatal(err)
		}
	}
	m, err := nn.NewModel(cfg, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	entries := nn.StateDict(m)
	if n := len(f.Names("init.")); n != len(entries) {
		t.Fatalf("the model has %d state-dict entries, the fixture %d", len(entries), n)
	}
	for _, e := range entries {
		if e.Count != nil {
			_, c, err := f.Int64("init." + e.Name)
			if err != nil {
				t.Fatal(err)
			}
			*e.Count = c[0]
			continue
		}
		shape, data := f.MustTensor(t, "init."+e.Name)
		if !slices.Equal(shape, e.Shape()) {
			t.Fatalf("init.%s has shape %v, the model %v", e.Name, shape, e.Shape())
		}
		copy(e.Tensor().Data, data)
	}
	return m
}

func fixtureTensor(t *testing.T, f *golden.File, name string) *tensor.Tensor {
	t.Helper()
	shape, data := f.MustTensor(t, name)
	return tensor.FromSlice(data, shape...)
}
