package nn_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/internal/goldenmodel"
	"github.com/glmc/glmc/nn"
)

// goldenDir holds the PyTorch fixtures written by tools/golden/gen_nn.py.
const goldenDir = "testdata/golden"

func loadFixture(t testing.TB, name string) *golden.File {
	t.Helper()
	return golden.MustLoad(t, filepath.Join(goldenDir, name+".safetensors"))
}

// layerCase runs the forward of one fixture case on params made from its
// tensors, back-propagates its gy and checks y and every grad_<input>.
func layerCase(t *testing.T, f *golden.File, prefix string, inputs []string, forward func(in map[string]*autograd.Var) *autograd.Var) {
	t.Helper()
	vars := map[string]*autograd.Var{}
	for _, name := range inputs {
		vars[name] = autograd.Param(goldenmodel.Tensor(t, f, prefix+name))
	}
	y := forward(vars)
	goldenmodel.Expect(t, f, prefix+"y", y.Value)
	y.BackwardWith(goldenmodel.Tensor(t, f, prefix+"gy"))
	for _, name := range inputs {
		goldenmodel.Expect(t, f, prefix+"grad_"+name, vars[name].Grad)
	}
}

// fixtureCases decodes the "cases" metadata of a layer fixture.
func fixtureCases[T any](t *testing.T, f *golden.File) []T {
	t.Helper()
	var cases []T
	if err := f.MetaJSON("cases", &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatalf("%s: no cases", f.Path())
	}
	return cases
}

func TestGoldenConv2d(t *testing.T) {
	f := loadFixture(t, "conv2d")
	type convCase struct {
		Name                  string
		N, Cin, Cout, H, W, K int
		Stride, Padding       int
		Bias                  bool
	}
	forEachConvAlgo(t, func(t *testing.T) {
		for _, c := range fixtureCases[convCase](t, f) {
			t.Run(fmt.Sprintf("%s_k%d_s%d_p%d_bias%v", c.Name, c.K, c.Stride, c.Padding, c.Bias), func(t *testing.T) {
				inputs := []string{"x", "weight"}
				if c.Bias {
					inputs = append(inputs, "bias")
				}
				layerCase(t, f, c.Name+".", inputs, func(in map[string]*autograd.Var) *autograd.Var {
					conv := &nn.Conv2d{Stride: c.Stride, Padding: c.Padding, Weight: in["weight"], Bias: in["bias"]}
					return conv.Forward(in["x"])
				})
			})
		}
	})
}

// forEachConvAlgo runs f as a subtest with each convolution algorithm of
// nn.ConvAlgos forced ("plan" for the per-shape plan), so that the parity
// tests cover Winograd even on shapes too small for the plan to pick it.
func forEachConvAlgo(t *testing.T, f func(t *testing.T)) {
	for _, algo := range nn.ConvAlgos {
		name := algo
		if name == "" {
			name = "plan"
		}
		t.Run(name, func(t *testing.T) {
			defer nn.SetConvAlgo(nn.SetConvAlgo(algo))
			f(t)
		})
	}
}

func TestGoldenBatchNorm2d(t *testing.T) {
	f := loadFixture(t, "batchnorm2d")
	type bnCase struct{ Name string }
	for _, c := range fixtureCases[bnCase](t, f) {
		t.Run(c.Name, func(t *testing.T) {
			p := c.Name + "."
			var bn *nn.BatchNorm2d
			layerCase(t, f, p, []string{"x", "weight", "bias"}, func(in map[string]*autograd.Var) *autograd.Var {
				bn = nn.NewBatchNorm2d(in["weight"].Value.Numel())
				bn.Weight, bn.Bias = in["weight"], in["bias"]
				return bn.Forward(in["x"])
			})
			// The fixture's running statistics come from training forwards
			// on x, x1 and x2 of a fresh module; this one has seen x.
			for _, name := range []string{"x1", "x2"} {
				bn.Forward(autograd.Const(goldenmodel.Tensor(t, f, p+name)))
			}
			goldenmodel.Expect(t, f, p+"running_mean", bn.RunningMean)
			goldenmodel.Expect(t, f, p+"running_var", bn.RunningVar)
			_, count, err := f.Int64(p + "num_batches_tracked")
			if err != nil {
				t.Fatal(err)
			}
			if bn.NumBatchesTracked != count[0] {
				t.Errorf("num_batches_tracked = %d, torch %d", bn.NumBatchesTracked, count[0])
			}
			bn.Train(false)
			goldenmodel.Expect(t, f, p+"y_eval", bn.Forward(autograd.Const(goldenmodel.Tensor(t, f, p+"x"))).Value)
		})
	}
}

func TestGoldenLinear(t *testing.T) {
	f := loadFixture(t, "linear")
	type linCase struct{ Name string }
	for _, c := range fixtureCases[linCase](t, f) {
		t.Run(c.Name, func(t *testing.T) {
			layerCase(t, f, c.Name+".", []string{"x", "weight", "bias"}, func(in map[string]*autograd.Var) *autograd.Var {
				return (&nn.Linear{Weight: in["weight"], Bias: in["bias"]}).Forward(in["x"])
			})
		})
	}
}

func TestGoldenStatelessLayers(t *testing.T) {
	type anyCase struct {
		Name   string
		Planes int
	}
	layers := []struct {
		fixture string
		module  func(c anyCase) nn.Module
	}{
		{"relu", func(anyCase) nn.Module { return nn.ReLU{} }},
		{"avgpool", func(anyCase) nn.Module { return nn.GlobalAvgPool{} }},
		{"shortcut_a", func(c anyCase) nn.Module { return nn.ShortcutA{Pad: c.Planes / 4} }},
	}
	for _, l := range layers {
		f := loadFixture(t, l.fixture)
		for _, c := range fixtureCases[anyCase](t, f) {
			t.Run(l.fixture+"/"+c.Name, func(t *testing.T) {
				m := l.module(c)
				layerCase(t, f, c.Name+".", []string{"x"}, func(in map[string]*autograd.Var) *autograd.Var {
					return m.Forward(in["x"])
				})
			})
		}
	}
}
