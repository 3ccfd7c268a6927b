package nn_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/internal/goldenmodel"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

var modelFixtures = []string{"resnet32_w4", "resnet18_small", "bottleneck_small", "resnext_small"}

func TestGoldenModels(t *testing.T) {
	forEachConvAlgo(t, testGoldenModels)
}

func testGoldenModels(t *testing.T) {
	for _, name := range modelFixtures {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			x := goldenmodel.Tensor(t, f, "x")
			m := goldenmodel.Model(t, f, "init.")

			// Training-mode forward of all heads, loss, every gradient.
			expectHeadsAndGrads(t, f, m, x)

			// Running statistics after three training forwards on slices
			// of x, then eval-mode logits.
			m = goldenmodel.Model(t, f, "init.")
			var slices [][2]int
			if err := f.MetaJSON("stats_slices", &slices); err != nil {
				t.Fatal(err)
			}
			autograd.NoGrad(m.Parameters(), func() {
				for _, s := range slices {
					m.Forward(autograd.Const(tensor.Narrow(x, 0, s[0], s[1]-s[0])))
				}
			})
			goldenmodel.ExpectStats(t, f, "stats.", m)
			m.Train(false)
			goldenmodel.Expect(t, f, "eval.fc_cb", m.Forward(autograd.Const(x)).Value)
			goldenmodel.Expect(t, f, "eval.fc_cb", m.Infer(nil, x)) // batch norms fused into the convolutions
		})
	}
}

// expectHeadsAndGrads runs the four heads of m on x in its present mode,
// the fixture's loss and backward, and compares the outputs (out.*), the
// loss and every parameter gradient (grad.*) with f's.
func expectHeadsAndGrads(t *testing.T, f *golden.File, m *nn.Model, x *tensor.Tensor) {
	t.Helper()
	out := m.Heads(autograd.Const(x))
	for head, v := range map[string]*autograd.Var{"fc": out.FC, "fc_cb": out.FCCB, "z": out.Z, "p": out.P, "feature": out.Feature} {
		goldenmodel.Expect(t, f, "out."+head, v.Value)
	}
	loss := goldenmodel.Loss(t, f, out)
	goldenmodel.Expect(t, f, "loss", loss.Value)
	loss.Backward()
	params := nn.NamedParameters(m)
	if want := len(f.Names("grad.")); len(params) != want {
		t.Errorf("%d parameters, torch has %d", len(params), want)
	}
	for _, p := range params {
		goldenmodel.Expect(t, f, "grad."+p.Name, p.Param.Grad)
	}
}

// TestGoldenCheckpointLogits loads the official-layout .pth.tar files written by
// torch.save (one with the module. prefix, one without and with optimizer
// state beside the state dict), infers each model from its shapes and
// compares the eval logits with PyTorch's.
func TestGoldenCheckpointLogits(t *testing.T) {
	f := loadFixture(t, "checkpoints")
	for _, c := range []struct {
		file, fixture string
		want          nn.Config
	}{
		{"resnet32_w4.pth.tar", "resnet32_w4", nn.Config{Arch: "resnet32", NumClasses: 10, Width: 4, HeadWidth: 128, Blocks: []int{5, 5, 5}}},
		{"resnet18_small_plain.pth.tar", "resnet18_small", nn.Config{Arch: "resnet18", NumClasses: 10, Width: 2, HeadWidth: 16, Blocks: []int{2, 2, 2, 2}}},
	} {
		t.Run(c.file, func(t *testing.T) { checkpointLogits(t, f, c.file, c.fixture, c.want) })
	}
}

// checkpointLogits loads the checkpoint file of the golden folder with
// nn.LoadModel, which must infer want from it, and compares its eval
// logits on the fixture's <prefix>.x with <prefix>.logits.
func checkpointLogits(t *testing.T, f *golden.File, file, prefix string, want nn.Config) {
	t.Helper()
	m, err := nn.LoadModel(filepath.Join(goldenDir, file), nn.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Config; got.Arch != want.Arch || got.NumClasses != want.NumClasses || got.Width != want.Width ||
		got.HeadWidth != want.HeadWidth || !slices.Equal(got.Blocks, want.Blocks) ||
		got.Groups != want.Groups || got.WidthPerGroup != want.WidthPerGroup {
		t.Errorf("inferred %+v, want %+v", got, want)
	}
	x := goldenmodel.Tensor(t, f, prefix+".x")
	goldenmodel.Expect(t, f, prefix+".logits", m.Forward(autograd.Const(x)).Value)
}

func TestInferConfigBottleneck(t *testing.T) {
	f := loadFixture(t, "bottleneck_small")
	cfg, err := nn.InferConfig(goldenmodel.State(t, f, "init."))
	if err != nil {
		t.Fatal(err)
	}
	want := nn.Config{Arch: "resnet50", NumClasses: 10, Width: 2, HeadWidth: 16, Blocks: []int{2, 1, 1, 1}}
	if cfg.Arch != want.Arch || cfg.Width != want.Width || cfg.HeadWidth != want.HeadWidth || !slices.Equal(cfg.Blocks, want.Blocks) {
		t.Errorf("inferred %+v, want %+v", cfg, want)
	}
}
