package nn

import (
	"strings"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/tensor"
)

// fixtureModel builds the model a model fixture describes and loads the
// fixture's state dict with the given prefix ("init.", "stats.", ...).
func fixtureModel(t testing.TB, f *golden.File, prefix string) *Model {
	t.Helper()
	var cfg struct {
		Block               string
		Blocks              []int
		NF, Hidden, Classes int
	}
	block, _ := f.Meta("block")
	cfg.Block = block
	for key, dst := range map[string]any{"blocks": &cfg.Blocks, "nf": &cfg.NF, "hidden": &cfg.Hidden, "classes": &cfg.Classes} {
		if err := f.MetaJSON(key, dst); err != nil {
			t.Fatal(err)
		}
	}
	m, err := NewModel(Config{Arch: familyArch[cfg.Block], NumClasses: cfg.Classes, Width: cfg.NF,
		HeadWidth: cfg.Hidden, Blocks: cfg.Blocks}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := LoadState(m, fixtureState(t, f, prefix)); err != nil {
		t.Fatal(err)
	}
	return m
}

// fixtureState reads the tensors of f under prefix as a State, prefix
// removed.
func fixtureState(t testing.TB, f *golden.File, prefix string) *State {
	t.Helper()
	s := NewState()
	for _, name := range f.Names(prefix) {
		shape, dtype, err := f.Shape(name)
		if err != nil {
			t.Fatal(err)
		}
		st := &StateTensor{Shape: shape}
		if dtype == "I64" {
			_, st.Int, err = f.Int64(name)
		} else {
			_, st.Float, err = f.Tensor(name)
		}
		if err != nil {
			t.Fatal(err)
		}
		s.Add(strings.TrimPrefix(name, prefix), st)
	}
	return s
}

// glmcLoss is the fixtures' loss: α·CE(fc, target) + (1−α)·CE(fc_cb,
// target_w) − γ·mean cos(p, sg(z)), α = 0.75, γ = 2.
func glmcLoss(out Outputs, target, targetW *tensor.Tensor) *autograd.Var {
	const alpha, gamma = 0.75, 2
	ce := autograd.Add(
		autograd.MulScalar(autograd.CrossEntropy(out.FC, autograd.Const(target)), alpha),
		autograd.MulScalar(autograd.CrossEntropy(out.FCCB, autograd.Const(targetW)), 1-alpha))
	cos := autograd.Mean(autograd.CosineSimilarity(out.P, autograd.Detach(out.Z), 1, 1e-8))
	return autograd.Sub(ce, autograd.MulScalar(cos, gamma))
}

var modelFixtures = []string{"resnet32_w4", "resnet18_small", "bottleneck_small"}

func TestModelsGolden(t *testing.T) {
	for _, name := range modelFixtures {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			x := fixtureTensor(t, f, "x")
			m := fixtureModel(t, f, "init.")

			// Training-mode forward of all heads, loss, every gradient.
			out := m.Heads(autograd.Const(x))
			for head, v := range map[string]*autograd.Var{"fc": out.FC, "fc_cb": out.FCCB, "z": out.Z, "p": out.P, "feature": out.Feature} {
				expect(t, f, "out."+head, v.Value)
			}
			loss := glmcLoss(out, fixtureTensor(t, f, "target"), fixtureTensor(t, f, "target_w"))
			expect(t, f, "loss", loss.Value)
			loss.Backward()
			params := NamedParameters(m)
			if want := len(f.Names("grad.")); len(params) != want {
				t.Errorf("%d parameters, torch has %d", len(params), want)
			}
			for _, p := range params {
				expect(t, f, "grad."+p.Name, p.Param.Grad)
			}

			// Running statistics after three training forwards on slices
			// of x, then eval-mode logits.
			m = fixtureModel(t, f, "init.")
			var slices [][2]int
			if err := f.MetaJSON("stats_slices", &slices); err != nil {
				t.Fatal(err)
			}
			autograd.NoGrad(m.Parameters(), func() {
				for _, s := range slices {
					m.Forward(autograd.Const(tensor.Narrow(x, 0, s[0], s[1]-s[0])))
				}
			})
			stats := fixtureState(t, f, "stats.")
			for _, e := range StateDict(m) {
				switch {
				case e.Buffer != nil:
					expect(t, f, "stats."+e.Name, e.Buffer)
				case e.Count != nil:
					if got, want := *e.Count, stats.Tensors[e.Name].Int[0]; got != want {
						t.Errorf("%s = %d, torch %d", e.Name, got, want)
					}
				}
			}
			m.Train(false)
			expect(t, f, "eval.fc_cb", m.Forward(autograd.Const(x)).Value)
		})
	}
}
