package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glmc/glmc/internal/golden"
)

// nnGolden holds the fixtures of tools/golden/gen_nn.py.
const nnGolden = "../nn/testdata/golden/"

// lrTol bounds |ours − torch| relative to the base rate. Both sides are
// float64 formulas, PyTorch's CosineAnnealingLR a recursive form of the
// same cosine, so they agree to rounding (1e-17 measured); a schedule
// shifted by one epoch is off by 6e-5 of the base rate or more.
const lrTol = 1e-12

func expectRates(t *testing.T, name string, s Schedule, base float64, want []float64) {
	t.Helper()
	worst := 0.0
	for e, w := range want {
		got := s.LR(e)
		if d := math.Abs(got - w); !(d <= lrTol*base) {
			t.Errorf("%s: epoch %d: lr %.17g, PyTorch %.17g", name, e, got, w)
		} else {
			worst = math.Max(worst, d)
		}
	}
	t.Logf("%s: %d epochs, max|ours − torch| = %.3g", name, len(want), worst)
}

// TestGoldenSchedules checks both schedules against the rates the
// official train loop (GLMC-2023/Trainer.py, simulated with torch by
// tools/golden/gen_nn.py) trains each epoch at: CIFAR's 200 epochs under
// CosineAnnealingLR stepped after each epoch, ImageNet-LT's 135 under
// paco_adjust_learning_rate called after each epoch; and Cosine against
// the per-step rates of the SGD fixture (CosineAnnealingLR with T_max 5).
func TestGoldenSchedules(t *testing.T) {
	f := golden.MustLoad(t, nnGolden+"schedules.safetensors")
	var warmup int
	var cifar, imagenet struct {
		Epochs int     `json:"epochs"`
		LR     float64 `json:"lr"`
	}
	for key, v := range map[string]any{"warmup": &warmup, "cifar": &cifar, "imagenet_lt": &imagenet} {
		if err := f.MetaJSON(key, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name   string
		rates  string
		epochs int
		base   float64
		s      Schedule
	}{
		{"CIFAR Cosine", "cifar.lr", cifar.Epochs, cifar.LR, Cosine{Base: cifar.LR, Epochs: cifar.Epochs}},
		{"ImageNet-LT Paco", "imagenet_lt.lr", imagenet.Epochs, imagenet.LR, Paco{Base: imagenet.LR, Warmup: warmup, Epochs: imagenet.Epochs}},
	} {
		_, want, err := f.Float64(c.rates)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != c.epochs {
			t.Fatalf("%s: fixture has %d rates for %d epochs", c.name, len(want), c.epochs)
		}
		expectRates(t, c.name, c.s, c.base, want)
	}

	sgd := golden.MustLoad(t, nnGolden+"sgd.safetensors")
	var tmax int
	var base float64
	if err := sgd.MetaJSON("t_max", &tmax); err != nil {
		t.Fatal(err)
	}
	if err := sgd.MetaJSON("lr", &base); err != nil {
		t.Fatal(err)
	}
	_, steps, err := sgd.Float64("lr")
	if err != nil {
		t.Fatal(err)
	}
	expectRates(t, "Cosine T_max 5", Cosine{Base: base, Epochs: tmax}, base, steps)
}

// TestPacoOfficialTiming pins the values that a "cleaner" schedule would
// change: epoch 0 runs at the base rate (the optimiser's initial lr, before
// the first paco call), epoch 1 restarts the warm-up at lr/10, epoch 11
// reaches 1.1·lr, and the cosine starts from (e−9)/(E−9) one epoch late.
func TestPacoOfficialTiming(t *testing.T) {
	s := Paco{Base: 0.1, Warmup: 10, Epochs: 135}
	for _, c := range []struct {
		epoch int
		want  float64
	}{
		{0, 0.1},
		{1, 0.01},
		{10, 0.1},
		{11, 0.11},
		{12, 0.1 * 0.5 * (1 + math.Cos(math.Pi*2/126))},
		{134, 0.1 * 0.5 * (1 + math.Cos(math.Pi*124/126))},
	} {
		if got := s.LR(c.epoch); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("epoch %d: %.17g, want %.17g", c.epoch, got, c.want)
		}
	}
}

func TestCosineMin(t *testing.T) {
	s := Cosine{Base: 0.1, Min: 0.02, Epochs: 8}
	for _, c := range []struct {
		epoch int
		want  float64
	}{{0, 0.1}, {4, 0.06}, {8, 0.02}, {12, 0.06}, {16, 0.1}} {
		if got := s.LR(c.epoch); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("epoch %d: %v, want %v", c.epoch, got, c.want)
		}
	}
}

func TestSchedulePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"Cosine without epochs":      func() { Cosine{Base: 1}.LR(0) },
		"Cosine at a negative epoch": func() { Cosine{Base: 1, Epochs: 3}.LR(-1) },
		"Paco without warmup":        func() { Paco{Base: 1, Epochs: 3}.LR(0) },
		"Paco without epochs":        func() { Paco{Base: 1, Warmup: 1}.LR(0) },
	} {
		assert.Panics(t, f, name)
	}
}
