package nn_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/internal/goldenmodel"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// The PyTorch fixtures of this file are written by
// tools/golden/gen_ltmodels.py.

func TestGoldenGroupedConv2d(t *testing.T) {
	f := loadFixture(t, "grouped_conv2d")
	type groupedCase struct {
		Name                          string
		N, Cin, Cout, H, W, K, Groups int
		Stride, Padding               int
		Bias                          bool
	}
	for _, c := range fixtureCases[groupedCase](t, f) {
		t.Run(fmt.Sprintf("%s_k%d_s%d_g%d", c.Name, c.K, c.Stride, c.Groups), func(t *testing.T) {
			inputs := []string{"x", "weight"}
			if c.Bias {
				inputs = append(inputs, "bias")
			}
			layerCase(t, f, c.Name+".", inputs, func(in map[string]*autograd.Var) *autograd.Var {
				conv := &nn.Conv2d{Stride: c.Stride, Padding: c.Padding, Groups: c.Groups, Weight: in["weight"], Bias: in["bias"]}
				return conv.Forward(in["x"])
			})
		})
	}
}

func TestGoldenMaxPool2d(t *testing.T) {
	f := loadFixture(t, "maxpool2d")
	type poolCase struct {
		Name               string
		K, Stride, Padding int
	}
	for _, c := range fixtureCases[poolCase](t, f) {
		t.Run(fmt.Sprintf("%s_k%d_s%d_p%d", c.Name, c.K, c.Stride, c.Padding), func(t *testing.T) {
			layerCase(t, f, c.Name+".", []string{"x"}, func(in map[string]*autograd.Var) *autograd.Var {
				return nn.MaxPool2d{Kernel: c.K, Stride: c.Stride, Padding: c.Padding}.Forward(in["x"])
			})
		})
	}
}

// TestGoldenResNeXtNarrowEval runs the full-depth (3, 4, 6, 3) ResNeXt at
// width 4 in eval mode, forward of the four heads, the loss and backward,
// against PyTorch.
func TestGoldenResNeXtNarrowEval(t *testing.T) {
	f := loadFixture(t, "resnext50_narrow")
	m := goldenmodel.Model(t, f, "init.")
	m.Train(false)
	expectHeadsAndGrads(t, f, m, goldenmodel.Tensor(t, f, "x"))
}

// TestGoldenCheckpointLogitsLT loads the official-layout checkpoints of the
// Resnet_LT.py models: a ResNeXt saved as a GPU DataParallel run writes it
// (module. prefix, storages tagged cuda:0, best_acc1 a tensor, the
// architecture and optimizer entries beside the state dict) and a plain
// resnet50_lt.
func TestGoldenCheckpointLogitsLT(t *testing.T) {
	f := loadFixture(t, "checkpoints_lt")
	for _, c := range []struct {
		file string
		want nn.Config
	}{
		{"resnext_tiny.pth.tar", nn.Config{Arch: "resnext50_32x4d", NumClasses: 10, Width: 4, HeadWidth: 16, Blocks: []int{1, 1, 1, 1}, Groups: 4, WidthPerGroup: 16}},
		{"resnet50_lt_tiny.pth.tar", nn.Config{Arch: "resnet50_lt", NumClasses: 10, Width: 4, HeadWidth: 16, Blocks: []int{1, 1, 1, 1}, Groups: 1, WidthPerGroup: 64}},
	} {
		t.Run(c.file, func(t *testing.T) { checkpointLogits(t, f, c.file, strings.Split(c.file, ".")[0], c.want) })
	}
}

// TestGoldenResNeXt50Formula runs the real-size resnext50_32x4d (1000
// classes, one 224×224 image) in eval mode on weights that both sides
// compute from a formula, against PyTorch's pooled feature and logits
// (gen_ltmodels.py checks its model against the official Resnet_LT.py).
func TestGoldenResNeXt50Formula(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the real-size model takes seconds")
	}
	f := loadFixture(t, "resnext50_formula")
	m, err := nn.NewModel(nn.Config{Arch: "resnext50_32x4d", NumClasses: 1000}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	fillFormula(m)
	m.Train(false)
	x := tensor.New(1, 3, 224, 224)
	for i, v := range formula(100000, x.Numel()) {
		x.Data[i] = float32(v)
	}
	start := time.Now()
	feature := m.Features(autograd.Const(x))
	logits := m.FCCB.Forward(feature)
	t.Logf("forward of one 224×224 image: %v", time.Since(start))
	goldenmodel.Expect(t, f, "feature", feature.Value)
	goldenmodel.Expect(t, f, "logits", logits.Value)
}

// formula returns gen_ltmodels.py's v(t, i) for i in [0, n): uniform-looking
// values in [−1, 1) from a 64-bit mix of the state-dict index t and the
// element index, exact in float64 on both sides.
func formula(t, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		h := uint64(i+1)*0x9E3779B97F4A7C15 + uint64(t+1)*0xBF58476D1CE4E5B9
		h ^= h >> 31
		h *= 0x94D049BB133111EB
		h ^= h >> 29
		out[i] = 2*(float64(h>>11)*0x1p-53) - 1
	}
	return out
}

// fillFormula sets every float entry of m's state dict as
// gen_ltmodels.py's formula_state does.
func fillFormula(m *nn.Model) {
	entries := nn.StateDict(m)
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name] = true
	}
	for ti, e := range entries {
		w := e.Tensor()
		if w == nil {
			continue
		}
		module, field := e.Name[:strings.LastIndex(e.Name, ".")+1], e.Name[strings.LastIndex(e.Name, ".")+1:]
		bn := names[module+"running_mean"]
		for i, v := range formula(ti, w.Numel()) {
			switch {
			case field == "running_var":
				v = 0.75 + 0.25*v
			case field == "running_mean" || field == "bias" && bn:
				v = 0.1 * v
			case field == "weight" && bn:
				v = 1 + 0.2*v
			case field == "weight" && w.Dim() == 4:
				v *= math.Sqrt(3 / float64(w.Numel()/w.Shape[0]))
			case field == "weight":
				v /= math.Sqrt(float64(w.Shape[1]))
			default: // a Linear bias
				v = 0.1 * v
			}
			w.Data[i] = float32(v)
		}
	}
}

// BenchmarkLTInfer times the eval-mode forward of the real-size
// resnet50_lt and resnext50_32x4d (1000 classes) on batches of 8 224×224
// images and reports images per second.
func BenchmarkLTInfer(b *testing.B) {
	for _, arch := range []string{"resnet50_lt", "resnext50_32x4d"} {
		b.Run(arch, func(b *testing.B) {
			const n = 8
			rng := tensor.NewRNG(1)
			m, err := nn.NewModel(nn.Config{Arch: arch, NumClasses: 1000}, rng)
			if err != nil {
				b.Fatal(err)
			}
			m.Train(false)
			x := autograd.Const(tensor.RandN(rng, n, 3, 224, 224))
			b.ResetTimer()
			for b.Loop() {
				autograd.NoGrad(m.Parameters(), func() { m.Forward(x) })
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
