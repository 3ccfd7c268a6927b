package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/nn"
)

// officialCheckpoint is a PyTorch checkpoint in the official layout: no
// run state, so eval needs --dataset.
var officialCheckpoint = filepath.Join("..", "..", "nn", "testdata", "golden", "resnet32_w4.pth.tar")

// withRunState copies the finished run's last.safetensors with its saved
// Config changed by change, so that the run's values differ from eval's
// own defaults.
func withRunState(t *testing.T, change func(*glmc.Config)) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(copyRun(t), glmc.LastFile))
	if err != nil {
		t.Fatal(err)
	}
	weights, meta, err := nn.ReadSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	var st glmc.State
	if err := json.Unmarshal([]byte(meta["glmc"]), &st); err != nil {
		t.Fatalf("run state in the metadata: %v", err)
	}
	change(&st.Config)
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	meta["glmc"] = string(raw)
	path := filepath.Join(t.TempDir(), "changed.safetensors")
	if err := nn.SaveSafetensors(path, weights, meta); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseEval(t *testing.T) {
	run := withRunState(t, func(c *glmc.Config) { c.ImbalanceFactor, c.Seed = 50, 7 })
	for _, c := range []struct {
		name string
		args []string
		want evalRequest
	}{
		{"the run's settings", []string{"--checkpoint", run},
			evalRequest{checkpoint: run, dataset: "synthetic", factor: 50, seed: 7, workers: 2}},
		{"flags win over the run's", []string{"--checkpoint", run, "--imbalance-factor", "10", "--seed", "1", "--workers", "3", "--json", "--data-dir", "d"},
			evalRequest{checkpoint: run, dataset: "synthetic", dataDir: "d", factor: 10, seed: 1, workers: 3, json: true}},
		{"official spellings", []string{"--checkpoint", run, "--imbanlance_rate", "0.1", "-j", "1"},
			evalRequest{checkpoint: run, dataset: "synthetic", factor: 10, seed: 7, workers: 1}},
		{"official checkpoint: eval's defaults", []string{"--checkpoint", officialCheckpoint, "--dataset", "synthetic"},
			evalRequest{checkpoint: officialCheckpoint, dataset: "synthetic", factor: 100, seed: 3407, workers: 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseEval(c.args)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("parseEval(%q)\n= %+v\nwant %+v", c.args, got, c.want)
			}
		})
	}
}

// TestParseEvalErrors: each bad command line is a usage error (exit
// status 2) naming the flag, except a checkpoint that cannot be read.
func TestParseEvalErrors(t *testing.T) {
	run := withRunState(t, func(*glmc.Config) {})
	for _, c := range []struct {
		name  string
		args  []string
		msg   string
		usage bool
	}{
		{"no checkpoint", []string{"--dataset", "synthetic"}, "--checkpoint is required", true},
		{"no dataset", []string{"--checkpoint", officialCheckpoint}, "--dataset is required for a checkpoint not written by glmc train", true},
		{"unknown dataset", []string{"--checkpoint", run, "--dataset", "mnist"}, "mnist", true},
		{"workers", []string{"--checkpoint", run, "--workers", "0"}, "--workers 0: want at least 1", true},
		{"rate and factor", []string{"--checkpoint", run, "--imbalance-factor", "10", "--imbanlance_rate", "0.1"}, "same setting", true},
		{"two spellings of workers", []string{"--checkpoint", run, "-j", "2", "--workers", "2"}, "same setting", true},
		{"bad rate", []string{"--checkpoint", run, "--imbanlance_rate", "2"}, "want a ratio in (0, 1]", true},
		{"factor below 1", []string{"--checkpoint", run, "--imbalance-factor", "0.5"}, "--imbalance-factor 0.5: want a finite value ≥ 1", true},
		{"infinite factor", []string{"--checkpoint", run, "--imbalance-factor", "+Inf"}, "--imbalance-factor +Inf", true},
		{"seed", []string{"--checkpoint", run, "--seed", "4294967296"}, "--seed 4294967296: the long-tailed split takes numpy seeds", true},
		{"positional argument", []string{"--checkpoint", run, "extra"}, `unexpected argument "extra"`, true},
		{"missing checkpoint", []string{"--checkpoint", filepath.Join(t.TempDir(), "none.safetensors")}, "none.safetensors", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseEval(c.args)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("parseEval(%q): error %v, want one containing %q", c.args, err, c.msg)
			}
			if usage := errors.As(err, new(usageError)); usage != c.usage {
				t.Errorf("usage error %v, want %v: %v", usage, c.usage, err)
			}
		})
	}
}

// TestEvalEmptyGroups evaluates the run's checkpoint with the groups of
// an imbalance factor of 1, where every class has 500 training images:
// medium and few have no class, so they are null in --json and "–" in
// the table.
func TestEvalEmptyGroups(t *testing.T) {
	last := filepath.Join(copyRun(t), glmc.LastFile)
	code, stdout, stderr := runCapture("eval", "--checkpoint", last, "--imbalance-factor", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if _, isNumber := got["many"].(float64); !isNumber || got["medium"] != nil || got["few"] != nil || got["few_classes"] != 0.0 {
		t.Errorf("eval --json %s: want many a number, medium and few null", stdout)
	}
	code, stdout, stderr = runCapture("eval", "--checkpoint", last, "--imbalance-factor", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "(10 classes)  medium – (0)  few – (0)\n") {
		t.Errorf("eval printed %q, want medium – (0) and few – (0)", stdout)
	}
}

// TestEvalOfficialLTCheckpoint evaluates official-layout checkpoints of the
// Resnet_LT.py models (the ImageNet-LT ResNeXt, saved with DataParallel's
// module. prefix, storages tagged cuda:0 and the architecture and optimizer
// entries; and a resnet50_lt): the architecture comes from the shapes.
func TestEvalOfficialLTCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: evaluates two models (nn's tests load these files in -short too)")
	}
	for file, arch := range map[string]string{"resnext_tiny.pth.tar": "resnext50_32x4d", "resnet50_lt_tiny.pth.tar": "resnet50_lt"} {
		path := filepath.Join("..", "..", "nn", "testdata", "golden", file)
		code, stdout, stderr := runCapture("eval", "--checkpoint", path, "--dataset", "synthetic", "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", file, code, stderr)
		}
		var got evalReport
		if err := json.Unmarshal([]byte(stdout), &got); err != nil {
			t.Fatal(err)
		}
		if got.Arch != arch || got.Width != 4 || got.Samples == 0 || len(got.PerClass) != 10 {
			t.Errorf("%s: eval --json %s: want arch %s, width 4, 10 classes", file, stdout, arch)
		}
	}
}
