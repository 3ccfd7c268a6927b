package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/internal/runcheck"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// mainEnv makes this test binary run glmc's main instead of the tests, so
// that tests can drive the real command as a subprocess (with its own
// GOMAXPROCS, and killable) without a separate build.
const mainEnv = "GLMC_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
	}
	code := m.Run()
	if sharedRun != "" {
		os.RemoveAll(sharedRun)
	}
	os.Exit(code)
}

// glmcCommand returns glmc with args as a subprocess, with env added to
// the environment.
func glmcCommand(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), mainEnv+"=1"), env...)
	return cmd
}

// tinyTrain are the flags of a quick run on the built-in synthetic data:
// a width-4 resnet32 with one block per stage.
var tinyTrain = []string{"train", "--dataset", "synthetic", "--width", "4", "--blocks", "1,1,1",
	"--batch-size", "64", "--lr", "0.05", "--schedule", "cosine"}

func withArgs(base []string, more ...string) []string { return append(slices.Clone(base), more...) }

// TestTrainDeterministicAcrossThreads runs the same two epochs with one
// and with two threads (and different worker counts): the metrics and
// every checkpoint must be identical.
func TestTrainDeterministicAcrossThreads(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two epochs twice in subprocesses")
	}
	dirs := []string{filepath.Join(t.TempDir(), "p1"), filepath.Join(t.TempDir(), "p2")}
	for i, env := range []string{"GOMAXPROCS=1", "GOMAXPROCS=2"} {
		cmd := glmcCommand(t, []string{env}, withArgs(tinyTrain, "--epochs", "2", "--workers", []string{"1", "3"}[i], "--out", dirs[i])...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", env, err, out)
		}
	}
	runcheck.ExpectSame(t, dirs[0], dirs[1])
}

// TestTrainResumeAfterKill kills a run during its second epoch and resumes
// it with nothing but --out and --resume: the folder must end as an
// uninterrupted run's.
func TestTrainResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three epochs twice")
	}
	whole := filepath.Join(t.TempDir(), "whole")
	run := withArgs(tinyTrain, "--epochs", "3")
	if out, err := glmcCommand(t, nil, withArgs(run, "--out", whole)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	killed := killInSecondEpoch(t, run)
	if out, err := glmcCommand(t, nil, "train", "--out", killed, "--resume").CombinedOutput(); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	runcheck.ExpectSame(t, whole, killed)
}

// killInSecondEpoch starts glmc with args in a new folder, SIGKILLs it
// inside its second epoch and returns the folder. The kill comes a delay
// after epoch 1's checkpoint appears (last.json, its last file), when
// epoch 2 is under way; it landed inside epoch 2 if the folder still holds
// epoch 1 alone: LastFile at epoch 1 and one line of metrics (epoch 2's
// checkpoint starts with its metrics line). A kill that came too late
// (a slow or busy machine) is retried in a fresh folder with half the
// delay; the test fails if none of the tries lands.
func killInSecondEpoch(t *testing.T, args []string) string {
	t.Helper()
	const tries = 4
	var delay time.Duration // the first try: a third of the time to the first checkpoint
	for try := 1; try <= tries; try++ {
		dir := filepath.Join(t.TempDir(), "killed")
		cmd := glmcCommand(t, nil, withArgs(args, "--out", dir)...)
		var output bytes.Buffer
		cmd.Stdout, cmd.Stderr = &output, &output
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, glmc.LastStateFile)); err == nil {
				break
			}
			if time.Since(start) > 2*time.Minute {
				cmd.Process.Kill()
				t.Fatalf("no first checkpoint after two minutes:\n%s", output.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if delay == 0 {
			delay = time.Since(start) / 3
		}
		time.Sleep(delay)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to clean up
			t.Fatal(err)
		}
		cmd.Wait()
		st, err := glmc.ReadState(filepath.Join(dir, glmc.LastFile))
		if err != nil {
			t.Fatal(err)
		}
		metrics, err := os.ReadFile(filepath.Join(dir, glmc.MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Count(metrics, []byte("\n"))
		if st.Epoch == 1 && lines == 1 {
			t.Logf("try %d: killed %v into epoch 2", try, delay)
			return dir
		}
		t.Logf("try %d: the kill %v after epoch 1's checkpoint came too late: checkpoint of epoch %d, %d metrics lines", try, delay, st.Epoch, lines)
		delay /= 2
	}
	t.Fatalf("no kill in %d tries landed inside epoch 2", tries)
	return ""
}

// sharedRun is the folder of finishedRun, removed by TestMain.
var sharedRun string

// finishedRun makes, once, a one-epoch run for the tests that need a
// folder holding a run (they copy it before touching it).
var finishedRun = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "glmc-run-")
	if err != nil {
		return "", err
	}
	sharedRun = dir
	dir = filepath.Join(dir, "run")
	if code, _, stderr := runCapture(withArgs(tinyTrain, "--epochs", "1", "--quiet", "--out", dir)...); code != 0 {
		return "", fmt.Errorf("exit %d: %s", code, stderr)
	}
	return dir, nil
})

// copyRun copies the finished run into a new folder.
func copyRun(t *testing.T) string {
	t.Helper()
	src, err := finishedRun()
	if err != nil {
		t.Fatalf("making the run: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "run")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestTrainBadInput runs glmc on bad input: each case must fail with one
// line on standard error and leave the files already in the run folder
// as they were.
func TestTrainBadInput(t *testing.T) {
	run := copyRun(t)
	truncated := copyRun(t)
	last := filepath.Join(truncated, glmc.LastFile)
	b, err := os.ReadFile(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(last, b[:len(b)-100], 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	fiveClasses := filepath.Join(t.TempDir(), "five.safetensors")
	m, err := nn.NewModel(nn.Config{Arch: "resnet32", NumClasses: 5, Width: 4, Blocks: []int{1, 1, 1}}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.SaveModel(fiveClasses, m); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		inStderr string
		dir      string // a run folder that must stay as it was (or, fresh, not come to exist)
	}{
		{"unknown flag", withArgs(tinyTrain, "--out", run, "--resume", "--frobnicate"), 2, "flag provided but not defined: -frobnicate", run},
		{"missing data folder", []string{"train", "--dataset", "cifar10", "--data-dir", filepath.Join(run, "nowhere"), "--out", fresh}, 1, "no cifar-10-batches-bin or cifar-10-batches-py folder", fresh},
		{"run already there", withArgs(tinyTrain, "--epochs", "1", "--out", run), 1, "already holds a run", run},
		{"nothing to resume", withArgs(tinyTrain, "--out", fresh, "--resume"), 1, "no checkpoint", fresh},
		{"corrupt checkpoint", []string{"train", "--out", truncated, "--resume"}, 1, last, truncated},
		{"another architecture", []string{"train", "--out", run, "--resume", "--arch", "resnet18"}, 2, "--arch resnet18 contradicts the saved run's resnet32", run},
		{"another width", []string{"train", "--out", run, "--resume", "--width", "8"}, 2, "--width 8 contradicts the saved run's 4", run},
		{"official spelling contradicts", []string{"train", "--out", run, "--resume", "-b", "32"}, 2, "--batch-size 32 contradicts the saved run's 64", run},
		{"two spellings", withArgs(tinyTrain, "--out", fresh, "--lr", "0.1", "--learning-rate", "0.1"), 2, "--learning-rate and --lr are the same setting", fresh},
		{"rate and factor", withArgs(tinyTrain, "--out", fresh, "--imbalance-factor", "50", "--imbanlance_rate", "0.02"), 2, "same setting", fresh},
		{"bad rate", withArgs(tinyTrain, "--out", fresh, "--imbanlance_rate", "100"), 2, "want a ratio in (0, 1]", fresh},
		{"wrong class count", withArgs(tinyTrain, "--out", fresh, "--num_classes", "100"), 2, "--num_classes 100: synthetic has 10 classes", fresh},
		{"bad blocks", withArgs(tinyTrain, "--out", fresh, "--blocks", "1,x"), 2, "positive block counts", fresh},
		{"bad method", withArgs(tinyTrain, "--out", fresh, "--method", "focal"), 2, "--method", fresh},
		{"rank without world size", withArgs(tinyTrain, "--out", fresh, "--rank", "1"), 1, "--rank 1 needs --world-size", fresh},
		{"rank outside world", withArgs(tinyTrain, "--out", fresh, "--rank", "2", "--world-size", "2", "--master-addr", "127.0.0.1"), 1, "--rank=2 is not in 0..1", fresh},
		{"no collective timeout", withArgs(tinyTrain, "--out", fresh, "--dist-timeout", "0s"), 2, "--dist-timeout 0s: want a positive duration", fresh},
		{"no join timeout", withArgs(tinyTrain, "--out", fresh, "--join-timeout", "-1s"), 2, "--join-timeout -1s: want a positive duration", fresh},
		{"batch smaller than world", withArgs(tinyTrain, "--out", fresh, "--batch-size", "1", "--rank", "0", "--world-size", "2", "--master-addr", "127.0.0.1", "--master-port", "1", "--dist-timeout", "1s", "--join-timeout", "1s"), 1, "want at least one image per rank", fresh},
		{"NaN loss", withArgs(tinyTrain, "--epochs", "1", "--lr", "1e30", "--out", fresh), 1, "epoch 1, step 2 of 20: loss is", fresh},
		{"eval corrupt checkpoint", []string{"eval", "--checkpoint", last}, 1, last, truncated},
		{"eval missing checkpoint", []string{"eval", "--checkpoint", filepath.Join(run, "none.safetensors"), "--dataset", "synthetic"}, 1, "none.safetensors", run},
		{"eval class count", []string{"eval", "--checkpoint", fiveClasses, "--dataset", "synthetic"}, 1, "has 5 classes (fc_cb.weight), synthetic has 10", run},
		{"eval channels", []string{"eval", "--checkpoint", filepath.Join(run, glmc.LastFile), "--dataset", "fashion-mnist"}, 1, "takes 3-channel images (conv1), fashion-mnist has 1", run},
		{"eval no dataset", []string{"eval", "--checkpoint", fiveClasses}, 2, "--dataset is required", run},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, statErr := os.Stat(c.dir)
			var before map[string][]byte
			if statErr == nil {
				before = runcheck.MustFiles(t, c.dir)
			}
			code, stdout, stderr := runCapture(c.args...)
			if code != c.code || !strings.Contains(stderr, c.inStderr) || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, ": glmc: ") {
				t.Errorf("glmc %s: exit %d, stderr %q; want exit %d and one line containing %q", strings.Join(c.args, " "), code, stderr, c.code, c.inStderr)
			}
			if strings.Contains(stdout, "last epoch") {
				t.Errorf("printed a summary: %q", stdout)
			}
			if statErr != nil {
				if entries, _ := os.ReadDir(c.dir); len(entries) > 0 {
					t.Errorf("left files in %s: %v", c.dir, entries)
				}
				return
			}
			after := runcheck.MustFiles(t, c.dir)
			if ka, kb := slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)); !slices.Equal(ka, kb) {
				t.Fatalf("files %v became %v", ka, kb)
			}
			for name, content := range before {
				if !bytes.Equal(content, after[name]) {
					t.Errorf("%s changed", name)
				}
			}
		})
	}
}

// TestTrainOfficialSpellings parses the official README's command line
// (on the synthetic data, shrunk to a small net) and checks the settings.
func TestTrainOfficialSpellings(t *testing.T) {
	args := strings.Fields("train --dataset synthetic -a resnet32 --num_classes 10 --imbanlance_rate 0.02 --beta 0.5 --lr 0.02 --epochs 3 -b 32 --momentum 0.8 --weight_decay 5e-4 --resample_weighting 0.2 --label_weighting 1.1 --contrast_weight 4 --width 4 --blocks 1,1,1 -j 1")
	req, err := parseTrain(args[1:])
	if err != nil {
		t.Fatal(err)
	}
	want := glmc.DefaultConfig()
	want.Dataset, want.ImbalanceFactor, want.LR, want.Epochs, want.BatchSize = "synthetic", 50, 0.02, 3, 32
	want.Momentum, want.WeightDecay, want.ResampleWeighting, want.LabelWeighting, want.ContrastWeight = 0.8, 5e-4, 0.2, 1.1, 4
	want.Width, want.Blocks = 4, []int{1, 1, 1}
	if !jsonEqual(req.cfg, want) {
		t.Errorf("parsed %+v\nwant   %+v", req.cfg, want)
	}
	if req.opts.Workers != 1 || req.opts.Dir != filepath.Join("runs", "synthetic-if50-glmc") {
		t.Errorf("workers %d, folder %q", req.opts.Workers, req.opts.Dir)
	}
}

// TestTrainDefaultSchedule: without --schedule and --arch a run takes its
// dataset's official schedule and architecture (as the official main.py
// and Trainer.py choose them); the flags override them.
func TestTrainDefaultSchedule(t *testing.T) {
	for _, c := range []struct {
		args     string
		schedule string
		arch     string
	}{
		{"--dataset cifar10", glmc.ScheduleCosine, "resnet32"},
		{"--dataset cifar100 --imbalance-factor 10", glmc.ScheduleCosine, "resnet32"},
		{"--dataset fashion-mnist", glmc.ScheduleCosine, "resnet32"},
		{"--dataset cifar10 --schedule paco", glmc.SchedulePaco, "resnet32"},
		{"--dataset synthetic --schedule paco --warmup-epochs 2", glmc.SchedulePaco, "resnet32"},
		{"--dataset ImageNet-LT", glmc.SchedulePaco, "resnext50_32x4d"},
		{"--dataset inat2018 -a resnet50_lt", glmc.SchedulePaco, "resnet50_lt"},
		{"--dataset iNaturelist2018 --schedule cosine", glmc.ScheduleCosine, "resnext50_32x4d"},
		{"--dataset folder", glmc.ScheduleCosine, "resnet32"},
	} {
		req, err := parseTrain(strings.Fields(c.args))
		if err != nil {
			t.Fatalf("%s: %v", c.args, err)
		}
		if req.cfg.Schedule != c.schedule || req.cfg.Arch != c.arch {
			t.Errorf("%s: schedule %q, arch %q, want %q, %q", c.args, req.cfg.Schedule, req.cfg.Arch, c.schedule, c.arch)
		}
	}
	if _, err := parseTrain(strings.Fields("--dataset cifar10 --schedule warmup-cosine")); err == nil ||
		!strings.Contains(err.Error(), `--schedule "warmup-cosine": want cosine or paco`) {
		t.Errorf("--schedule warmup-cosine: error %v, want one naming the flag and its values", err)
	}
}

func TestTrainHelp(t *testing.T) {
	code, stdout, stderr := runCapture("train", "-h")
	if code != 0 || stdout != "" || !strings.HasPrefix(stderr, "usage: glmc train [flags]") ||
		!strings.Contains(stderr, "-imbanlance_rate ratio") || !strings.Contains(stderr, "-label-weighting float") {
		t.Errorf("glmc train -h: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestTrainResumeTakesSavedFlags resumes with nothing but --out and
// --resume, and with flags that agree with the saved run.
func TestTrainResumeTakesSavedFlags(t *testing.T) {
	run := copyRun(t)
	st, err := glmc.ReadState(filepath.Join(run, glmc.LastFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--out", run, "--resume"},
		withArgs(tinyTrain[1:], "--epochs", "1", "--out", run, "--resume", "--wd", "5e-3", "--imbanlance_rate", "0.01"),
	} {
		req, err := parseTrain(args)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !jsonEqual(req.cfg, st.Config) || !req.opts.Resume {
			t.Errorf("%v: parsed %+v, saved %+v", args, req.cfg, st.Config)
		}
	}
}

// TestEval evaluates the run's checkpoint (its metrics must come out
// again) and an official PyTorch checkpoint.
func TestEval(t *testing.T) {
	run := copyRun(t)
	code, stdout, stderr := runCapture("eval", "--checkpoint", filepath.Join(run, glmc.LastFile), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("eval --json printed %q (%v), want one JSON object", stdout, err)
	}
	var rec map[string]any
	if err := json.Unmarshal(runcheck.MustFiles(t, run)[glmc.MetricsFile], &rec); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"top1", "top5", "many", "medium", "few", "per_class"} {
		if g, w := got[k], rec[k]; w == nil || !jsonEqual(g, w) {
			t.Errorf("%s: eval %v, training metrics %v", k, g, w)
		}
	}
	// Each row of the confusion counts holds its class's samples, and its
	// diagonal cell the right ones.
	var res glmc.Result
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || len(res.Confusion) != len(res.Support) {
		t.Fatalf("confusion %v for %d classes (%v)", res.Confusion, len(res.Support), err)
	}
	for c, row := range res.Confusion {
		sum := 0
		for _, n := range row {
			sum += n
		}
		if sum != res.Support[c] || (sum > 0 && 100*float64(row[c])/float64(sum) != res.PerClass[c]) {
			t.Errorf("class %d: confusion row %v, support %d, top-1 %v", c, row, res.Support[c], res.PerClass[c])
		}
	}
	if got["dataset"] != "synthetic" || got["imbalance_factor"] != 100.0 {
		t.Errorf("dataset and factor not taken from the run: %v", got)
	}

	official := filepath.Join("..", "..", "nn", "testdata", "golden", "resnet32_w4.pth.tar")
	code, stdout, stderr = runCapture("eval", "--checkpoint", official, "--dataset", "synthetic")
	if code != 0 {
		t.Fatalf("official checkpoint: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "(resnet32, width 4) on synthetic (1000 test images") || !strings.Contains(stdout, "cross-1") {
		t.Errorf("official checkpoint: output %q", stdout)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
