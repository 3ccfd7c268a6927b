package optim

import (
	"math"
	"testing"

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

// TestSchedulesMatchPyTorch checks both schedules over the official 200
// epochs against torch's CosineAnnealingLR and the official
// paco_adjust_learning_rate, and Cosine against the per-step rates of the
// SGD fixture (CosineAnnealingLR with T_max 5).
func TestSchedulesMatchPyTorch(t *testing.T) {
	f := golden.MustLoad(t, nnGolden+"schedules.safetensors")
	var epochs, warmup int
	var base float64
	for key, v := range map[string]any{"epochs": &epochs, "warmup": &warmup, "lr": &base} {
		if err := f.MetaJSON(key, v); err != nil {
			t.Fatal(err)
		}
	}
	_, cosine, err := f.Float64("cosine.lr")
	if err != nil {
		t.Fatal(err)
	}
	_, warm, err := f.Float64("warmup_cosine.lr")
	if err != nil {
		t.Fatal(err)
	}
	if len(cosine) != epochs || len(warm) != epochs {
		t.Fatalf("fixture has %d and %d rates for %d epochs", len(cosine), len(warm), epochs)
	}
	expectRates(t, "Cosine", Cosine{Base: base, Epochs: epochs}, base, cosine)
	expectRates(t, "WarmupCosine", WarmupCosine{Base: base, Warmup: warmup, Epochs: epochs}, base, warm)

	sgd := golden.MustLoad(t, nnGolden+"sgd.safetensors")
	var tmax int
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

// TestWarmupCosineOfficialQuirks pins the values that a "cleaner" warm-up
// would change: epoch 10 runs at 1.1·lr and the cosine restarts from
// (e−9)/(E−9).
func TestWarmupCosineOfficialQuirks(t *testing.T) {
	s := WarmupCosine{Base: 0.01, Warmup: 10, Epochs: 200}
	for _, c := range []struct {
		epoch int
		want  float64
	}{
		{0, 0.001},
		{9, 0.01},
		{10, 0.011},
		{11, 0.01 * 0.5 * (1 + math.Cos(math.Pi*2/191))},
		{199, 0.01 * 0.5 * (1 + math.Cos(math.Pi*190/191))},
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
		"Cosine without epochs":       func() { Cosine{Base: 1}.LR(0) },
		"Cosine at a negative epoch":  func() { Cosine{Base: 1, Epochs: 3}.LR(-1) },
		"WarmupCosine without warmup": func() { WarmupCosine{Base: 1, Epochs: 3}.LR(0) },
		"WarmupCosine without epochs": func() { WarmupCosine{Base: 1, Warmup: 1}.LR(0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
