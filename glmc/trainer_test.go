package glmc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/internal/runcheck"
	"github.com/glmc/glmc/nn"
)

// tinyData is a small long-tailed synthetic dataset: 16×16 images, 40
// training images in the largest class down to 4 in the smallest.
func tinyData(t *testing.T) (train, test *data.Dataset) {
	t.Helper()
	return longTailedSynthetic(t, data.SyntheticConfig{TrainPerClass: 40, TestPerClass: 8, Size: 16}, 10)
}

// longTailedSynthetic is the synthetic data of cfg with the training
// split long-tailed at imbalance factor factor.
func longTailedSynthetic(t *testing.T, cfg data.SyntheticConfig, factor float64) (train, test *data.Dataset) {
	t.Helper()
	train, test, err := data.Synthetic(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if train, err = data.LongTail(train, factor, 1); err != nil {
		t.Fatal(err)
	}
	return train, test
}

// tinyConfig trains a width-4 resnet32 with one block per stage.
func tinyConfig() glmc.Config {
	cfg := glmc.DefaultConfig()
	cfg.Dataset, cfg.ImbalanceFactor, cfg.Seed = "synthetic", 10, 1
	cfg.Width, cfg.Blocks = 4, []int{1, 1, 1}
	cfg.Epochs, cfg.BatchSize, cfg.LR = 3, 16, 0.05
	return cfg
}

func newTrainer(t *testing.T, cfg glmc.Config, opts glmc.Options) *glmc.Trainer {
	t.Helper()
	train, test := tinyData(t)
	tr, err := glmc.NewTrainer(cfg, train, test, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestConfigValidate(t *testing.T) {
	if err := glmc.DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	for _, c := range []struct {
		change func(*glmc.Config)
		flag   string
	}{
		{func(c *glmc.Config) { c.Dataset = "mnist" }, "mnist"},
		{func(c *glmc.Config) { c.Arch = "vgg" }, "--arch"},
		{func(c *glmc.Config) { c.LR = math.NaN() }, "--lr"},
		{func(c *glmc.Config) { c.LR = -1 }, "--lr"},
		{func(c *glmc.Config) { c.WeightDecay = math.Inf(1) }, "--weight-decay"},
		{func(c *glmc.Config) { c.ContrastWeight = -1 }, "--contrast-weight"},
		{func(c *glmc.Config) { c.LabelWeighting = math.NaN() }, "--label-weighting"},
		{func(c *glmc.Config) { c.ImbalanceFactor = 0.5 }, "--imbalance-factor"},
		{func(c *glmc.Config) { c.Width = 0 }, "--width"},
		{func(c *glmc.Config) { c.Method = "focal" }, "--method"},
		{func(c *glmc.Config) { c.Epochs = 0 }, "--epochs"},
		{func(c *glmc.Config) { c.BatchSize = 0 }, "--batch-size"},
		{func(c *glmc.Config) { c.Schedule = "step" }, "--schedule"},
		{func(c *glmc.Config) { c.Schedule, c.WarmupEpochs = glmc.SchedulePaco, 0 }, "--warmup-epochs"},
		{func(c *glmc.Config) { c.Seed = 1 << 32 }, "--seed"},
	} {
		cfg := glmc.DefaultConfig()
		c.change(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("%+v: error %v, want one naming %s", cfg, err, c.flag)
		}
	}
	// Negative weightings are exponents favouring the head: allowed.
	cfg := glmc.DefaultConfig()
	cfg.LabelWeighting, cfg.ResampleWeighting = -0.5, -1
	if err := cfg.Validate(); err != nil {
		t.Errorf("negative weightings: %v", err)
	}
}

// TestTrainerFiles runs two epochs and checks every file of the run folder
// against the trainer and against each other.
func TestTrainerFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run") // created by the trainer
	cfg := tinyConfig()
	cfg.Epochs = 2
	tr := newTrainer(t, cfg, glmc.Options{Dir: dir})
	summary, err := tr.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if held := glmc.ArenaHeld(tr); held != 0 {
		t.Errorf("the steps' storage (%d bytes) was kept through evaluation", held)
	}
	got := slices.Sorted(maps.Keys(runcheck.MustFiles(t, dir)))
	want := []string{"best.safetensors", "last.json", "last.safetensors", "metrics.jsonl", "optimizer.2.safetensors", "summary.json"}
	if !slices.Equal(got, want) {
		t.Fatalf("run folder holds %v, want %v", got, want)
	}

	// last.safetensors is the model, loadable as a plain state dict.
	last, err := nn.LoadModel(filepath.Join(dir, glmc.LastFile), nn.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range nn.StateDict(tr.Model()) {
		if e.Count != nil {
			continue
		}
		if le := nn.StateDict(last)[i]; !slices.Equal(le.Tensor().Data, e.Tensor().Data) {
			t.Errorf("%s: saved values differ from the trainer's", e.Name)
		}
	}
	st, err := glmc.ReadState(filepath.Join(dir, glmc.LastFile))
	if err != nil || st == nil {
		t.Fatalf("state %v, error %v", st, err)
	}
	if st.Epoch != 2 || st.Step != 0 || st.Optimizer != "optimizer.2.safetensors" || !reflectEqual(st.Config, cfg) {
		t.Errorf("saved state %+v", st)
	}
	var js glmc.State
	if err := json.Unmarshal(runcheck.MustFiles(t, dir)[glmc.LastStateFile], &js); err != nil || !reflectEqual(js, *st) {
		t.Errorf("last.json %+v (error %v), metadata %+v", js, err, *st)
	}

	var recs []glmc.EpochRecord
	for _, line := range bytes.Split(bytes.TrimSpace(runcheck.MustFiles(t, dir)[glmc.MetricsFile]), []byte("\n")) {
		var r glmc.EpochRecord
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 || recs[0].Epoch != 1 || recs[1].Epoch != 2 {
		t.Fatalf("metrics %+v", recs)
	}
	for _, r := range recs {
		if !(r.Loss > 0) || r.Top5 < r.Top1 || len(r.PerClass) != 10 || r.Seconds <= 0 || r.ImgPerS <= 0 ||
			r.EvalSeconds < 0 || r.EvalSeconds > r.Seconds || r.DataWaitSeconds < 0 || r.DataWaitSeconds > r.Seconds-r.EvalSeconds+0.01 {
			t.Errorf("implausible record %+v", r)
		}
	}
	// The official CIFAR schedule: epoch e (0-based) of E runs at
	// lr·(1 + cos(π·e/E))/2; α = 1 − (e/E)².
	if recs[0].LR != 0.05 || math.Abs(recs[1].LR-0.025) > 1e-15 || recs[0].Alpha != 1 || recs[1].Alpha != 0.75 {
		t.Errorf("lr %v, %v and α %v, %v; want 0.05, 0.025 and 1, 0.75", recs[0].LR, recs[1].LR, recs[0].Alpha, recs[1].Alpha)
	}
	best := recs[0]
	if recs[1].Top1 > best.Top1 {
		best = recs[1]
	}
	if summary.Last.Epoch != 2 || summary.Last.Top1 != recs[1].Top1 || summary.Best.Epoch != best.Epoch || summary.Best.Top1 != best.Top1 {
		t.Errorf("summary %+v for records %+v", summary, recs)
	}
	bestState, err := glmc.ReadState(filepath.Join(dir, glmc.BestFile))
	if err != nil || bestState.BestEpoch != best.Epoch {
		t.Errorf("best.safetensors holds epoch %+v (error %v), want %d", bestState, err, best.Epoch)
	}

	// The metrics are those of the model: evaluating last.safetensors gives
	// the last record.
	_, test := tinyData(t)
	info, _ := data.Lookup("synthetic")
	loader, err := data.NewLoader(data.LoaderConfig{Dataset: test, Sampler: data.SequentialSampler{N: test.Len()}, BatchSize: 7, Transform: data.EvalTransform(info)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := glmc.Evaluate(last, loader, st.TrainCounts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Top1 != recs[1].Top1 || res.Few != recs[1].Few || !slices.Equal(res.PerClass, recs[1].PerClass) {
		t.Errorf("evaluating last.safetensors: %+v, metrics say %+v", res, recs[1])
	}
}

// reflectEqual compares two values through their JSON forms.
func reflectEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// TestResumeIsBitIdentical stops runs after each epoch and resumes them in
// a new Trainer, for both methods and with MaxNorm, and compares the
// folders with an uninterrupted run's.
func TestResumeIsBitIdentical(t *testing.T) {
	for _, method := range []string{glmc.MethodGLMC, glmc.MethodCE} {
		t.Run(method, func(t *testing.T) {
			cfg := tinyConfig()
			cfg.Method, cfg.MaxNorm = method, 0.1
			whole, pieces := t.TempDir(), t.TempDir()
			if _, err := newTrainer(t, cfg, glmc.Options{Dir: whole}).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			first := newTrainer(t, cfg, glmc.Options{Dir: pieces, Workers: 3})
			if _, err := first.RunEpoch(context.Background()); err != nil {
				t.Fatal(err)
			}
			for epoch := 1; epoch < cfg.Epochs; epoch++ {
				tr := newTrainer(t, cfg, glmc.Options{Dir: pieces, Resume: true})
				if tr.State().Epoch != epoch {
					t.Fatalf("resumed at epoch %d, want %d", tr.State().Epoch, epoch)
				}
				if _, err := tr.RunEpoch(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			// The run is done: resuming only writes the summary.
			if _, err := newTrainer(t, cfg, glmc.Options{Dir: pieces, Resume: true}).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			runcheck.ExpectSame(t, whole, pieces)
		})
	}
}

// TestCEBaseline checks that the baseline trains fc_cb and the trunk only:
// the other heads get no gradient, so SGD leaves them alone.
func TestCEBaseline(t *testing.T) {
	cfg := tinyConfig()
	cfg.Method, cfg.Epochs = glmc.MethodCE, 1
	tr := newTrainer(t, cfg, glmc.Options{Dir: t.TempDir()})
	m := tr.Model()
	before := map[string][]float32{}
	for _, e := range nn.NamedParameters(m) {
		before[e.Name] = slices.Clone(e.Param.Value.Data)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, e := range nn.NamedParameters(m) {
		unchanged := slices.Equal(before[e.Name], e.Param.Value.Data)
		head := strings.HasPrefix(e.Name, "fc.") || strings.HasPrefix(e.Name, "projection_head.") || strings.HasPrefix(e.Name, "contrast_head.")
		if unchanged != head {
			t.Errorf("%s: unchanged %v after a CE epoch", e.Name, unchanged)
		}
	}
}

// TestNonFiniteLossKeepsCheckpoint poisons the model after a good epoch:
// the next epoch fails at its first step with a one-line error naming it,
// and the folder keeps the good epoch byte for byte.
func TestNonFiniteLossKeepsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	tr := newTrainer(t, tinyConfig(), glmc.Options{Dir: dir})
	if _, err := tr.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := runcheck.MustFiles(t, dir)
	tr.Model().FC.Weight.Value.Data[0] = float32(math.NaN())
	_, err := tr.RunEpoch(context.Background())
	var nf glmc.NonFiniteLossError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "epoch 2, step 1 of") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want a one-line NonFiniteLossError at epoch 2, step 1", err)
	}
	if !strings.Contains(err.Error(), "keeps epoch 1") {
		t.Errorf("error %q does not say what the folder keeps", err)
	}
	after := runcheck.MustFiles(t, dir)
	if !reflectEqual(before, after) {
		t.Errorf("files changed: %v → %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
}

func TestCancelStopsBetweenSteps(t *testing.T) {
	dir := t.TempDir()
	tr := newTrainer(t, tinyConfig(), glmc.Options{Dir: dir})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tr.Run(ctx); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "no epoch had finished") {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if got := runcheck.MustFiles(t, dir); len(got) != 0 {
		t.Errorf("a cancelled first epoch left %v", slices.Sorted(maps.Keys(got)))
	}
}

// TestTrainerFolderErrors covers starting over an existing run and resuming
// what cannot be resumed; none of them may change a file.
func TestTrainerFolderErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig()
	cfg.Epochs = 1
	if _, err := newTrainer(t, cfg, glmc.Options{Dir: dir}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	train, test := tinyData(t)
	try := func(name, want string, cfg glmc.Config, opts glmc.Options, train *data.Dataset) {
		t.Helper()
		before := runcheck.MustFiles(t, opts.Dir)
		_, err := glmc.NewTrainer(cfg, train, test, opts)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line containing %q", name, err, want)
		}
		if after := runcheck.MustFiles(t, opts.Dir); !reflectEqual(before, after) {
			t.Errorf("%s: files changed", name)
		}
	}
	try("start over a run", "already holds a run", cfg, glmc.Options{Dir: dir}, train)
	try("nothing to resume", "no checkpoint", cfg, glmc.Options{Dir: t.TempDir(), Resume: true}, train)
	other := cfg
	other.LR = 0.5
	try("another lr", "--lr 0.5 differs", other, glmc.Options{Dir: dir, Resume: true}, train)
	other = cfg
	other.Width = 8
	try("another width", "--width 8 differs", other, glmc.Options{Dir: dir, Resume: true}, train)
	idx := make([]int, train.Len()-1)
	for i := range idx {
		idx[i] = i
	}
	fewer := train.Subset(idx)
	try("other data", "the data differ", cfg, glmc.Options{Dir: dir, Resume: true}, fewer)

	// Damaged files: a truncated model, a missing optimiser file.
	path := filepath.Join(dir, glmc.LastFile)
	good, _ := os.ReadFile(path)
	if err := os.WriteFile(path, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	try("truncated checkpoint", glmc.LastFile, cfg, glmc.Options{Dir: dir, Resume: true}, train)
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "optimizer.1.safetensors"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	try("missing optimiser state", "optimizer.1.safetensors", cfg, glmc.Options{Dir: dir, Resume: true}, train)
}

// TestResumeAfterTornSave resumes a folder in which the process died in
// the middle of saving epoch 3: the metrics line, the best model and the
// optimiser file of epoch 3 are there, LastFile still holds epoch 2. The
// resumed run must redo epoch 3 and end as an uninterrupted run.
func TestResumeAfterTornSave(t *testing.T) {
	cfg := tinyConfig()
	whole, torn := t.TempDir(), t.TempDir()
	if _, err := newTrainer(t, cfg, glmc.Options{Dir: whole}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr := newTrainer(t, cfg, glmc.Options{Dir: torn})
	for range 2 {
		if _, err := tr.RunEpoch(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	done := runcheck.MustFiles(t, whole)
	for _, name := range []string{glmc.MetricsFile, glmc.BestFile, "optimizer.3.safetensors"} {
		if err := os.WriteFile(filepath.Join(torn, name), done[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := newTrainer(t, cfg, glmc.Options{Dir: torn, Resume: true}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	runcheck.ExpectSame(t, whole, torn)
}
