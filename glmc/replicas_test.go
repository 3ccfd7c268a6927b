package glmc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/internal/disttest"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/nn"
)

// dpData is a long-tailed synthetic set of 8×8 images small enough for an
// epoch of four steps of batch 16: 8 images in the largest class down to 4
// in the smallest, 54 in all, so the last batch has 6.
func dpData(t *testing.T) (train, test *data.Dataset) {
	t.Helper()
	train, test = longTailedSynthetic(t, data.SyntheticConfig{TrainPerClass: 8, TestPerClass: 2, Size: 8}, 2)
	if train.Len() != 54 {
		t.Fatalf("%d training images, want 54", train.Len())
	}
	return train, test
}

// dpConfig is tinyConfig for dpData, for two epochs.
func dpConfig() glmc.Config {
	cfg := tinyConfig()
	cfg.Epochs = 2
	return cfg
}

// trainRanks runs cfg's remaining epochs on p ranks, goroutines joined
// over loopback, rank r in dirs[r] with opts, and returns the trainers.
func trainRanks(t *testing.T, cfg glmc.Config, p int, dirs []string, opts glmc.Options) []*glmc.Trainer {
	t.Helper()
	return trainRanksFor(t, cfg, p, dirs, opts, cfg.Epochs)
}

// trainRanksFor is trainRanks for at most epochs epochs.
func trainRanksFor(t *testing.T, cfg glmc.Config, p int, dirs []string, opts glmc.Options, epochs int) []*glmc.Trainer {
	t.Helper()
	train, test := dpData(t)
	groups := disttest.Join(t, p)
	trainers := make([]*glmc.Trainer, p)
	errs := disttest.OnEach(p, func(r int) error {
		o := opts
		o.Dir, o.Group = dirs[r], groups[r]
		tr, err := glmc.NewTrainer(cfg, train, test, o)
		if err != nil {
			return err
		}
		trainers[r] = tr
		for range epochs {
			if tr.Done() {
				break
			}
			if _, err := tr.RunEpoch(context.Background()); err != nil {
				return err
			}
		}
		if tr.Done() {
			_, err = tr.Run(context.Background()) // the summary
		}
		return err
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d of %d: %v", r, p, err)
		}
	}
	return trainers
}

// rankDirs are p fresh run folders.
func rankDirs(t *testing.T, p int) []string {
	dirs := make([]string, p)
	for r := range dirs {
		dirs[r] = filepath.Join(t.TempDir(), "run")
	}
	return dirs
}

// trainOne runs cfg in one process in dir (resuming when asked).
func trainOne(t *testing.T, cfg glmc.Config, dir string) *glmc.Trainer {
	t.Helper()
	train, test := dpData(t)
	tr, err := glmc.NewTrainer(cfg, train, test, glmc.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tr
}

// stateFloats returns the float values of m's state dict, by name.
func stateFloats(m *nn.Model) map[string][]float32 {
	out := map[string][]float32{}
	for _, e := range nn.StateDict(m) {
		if tt := e.Tensor(); tt != nil {
			out[e.Name] = slices.Clone(tt.Data)
		}
	}
	return out
}

// sameReplicas checks that every rank holds rank 0's state dict to the
// bit, and returns rank 0's.
func sameReplicas(t *testing.T, trainers []*glmc.Trainer) map[string][]float32 {
	t.Helper()
	want := stateFloats(trainers[0].Model())
	for r, tr := range trainers[1:] {
		for name, v := range stateFloats(tr.Model()) {
			if !slices.Equal(v, want[name]) {
				t.Errorf("rank %d: %s differs from rank 0's", r+1, name)
			}
		}
	}
	return want
}

// metricsLoss returns the loss of every epoch in dir's MetricsFile.
func metricsLoss(t *testing.T, dir string) []float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, glmc.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var r glmc.EpochRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Loss)
	}
	return out
}

// TestDataParallelMatchesOneProcess trains two epochs of four steps
// (batches of 16, 16, 16 and 6) on 1 to 4 ranks with synchronised batch
// norm: 16 does not divide by 3, nor 6 by 4, so shards differ in size.
// The replicas must be bit-identical, and their weights, running
// statistics and epoch losses the one-process run's within the parity
// tolerance; only rank 0 writes its folder, recording the world size.
func TestDataParallelMatchesOneProcess(t *testing.T) {
	cfg := dpConfig()
	oneDir := filepath.Join(t.TempDir(), "run")
	want := stateFloats(trainOne(t, cfg, oneDir).Model())
	wantLoss := metricsLoss(t, oneDir)
	for p := 1; p <= 4; p++ {
		t.Run(fmt.Sprintf("P=%d", p), func(t *testing.T) {
			dirs := rankDirs(t, p)
			got := sameReplicas(t, trainRanks(t, cfg, p, dirs, glmc.Options{Launcher: "test"}))
			for name, v := range got {
				golden.Compare(t, name, v, want[name])
			}
			golden.Compare(t, "epoch losses", metricsLoss(t, dirs[0]), wantLoss)
			for r, dir := range dirs[1:] {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("rank %d wrote %s", r+1, dir)
				}
			}
			var last struct {
				glmc.State
				glmc.Cluster
			}
			b, err := os.ReadFile(filepath.Join(dirs[0], glmc.LastStateFile))
			if err == nil {
				err = json.Unmarshal(b, &last)
			}
			if err != nil || last.WorldSize != p || last.Launcher != "test" || last.Epoch != 2 {
				t.Errorf("last.json: %+v, error %v; want world size %d, launcher test, epoch 2", last.Cluster, err, p)
			}
		})
	}
}

// TestDataParallelResumesOnAnotherWorldSize trains the first epoch on 2
// ranks and resumes the second on 3 from rank 0's checkpoint, which the
// other ranks never read: the result must be the one-process run's within
// the parity tolerance, the replicas equal, and last.json must record the
// new world size.
func TestDataParallelResumesOnAnotherWorldSize(t *testing.T) {
	cfg := dpConfig()
	want := stateFloats(trainOne(t, cfg, filepath.Join(t.TempDir(), "run")).Model())
	dirs := rankDirs(t, 3)
	trainRanksFor(t, cfg, 2, dirs[:2], glmc.Options{}, 1)
	got := sameReplicas(t, trainRanks(t, cfg, 3, dirs, glmc.Options{Resume: true}))
	for name, v := range got {
		golden.Compare(t, name, v, want[name])
	}
	var last glmc.Cluster
	b, err := os.ReadFile(filepath.Join(dirs[0], glmc.LastStateFile))
	if err == nil {
		err = json.Unmarshal(b, &last)
	}
	if err != nil || last.WorldSize != 3 {
		t.Errorf("last.json: %+v, error %v; want world size 3", last, err)
	}
	if n := len(metricsLoss(t, dirs[0])); n != 2 {
		t.Errorf("%d epochs in %s, want 2", n, glmc.MetricsFile)
	}
}

// TestDataParallelIgnoresThreads trains on 3 ranks with one thread per
// rank and with three: the weights must agree to the bit.
func TestDataParallelIgnoresThreads(t *testing.T) {
	cfg := dpConfig()
	cfg.Epochs = 1
	var runs []map[string][]float32
	for _, threads := range []int{1, 3} {
		prevProcs, prevThreads := runtime.GOMAXPROCS(threads), asm.SetThreads(threads)
		runs = append(runs, sameReplicas(t, trainRanks(t, cfg, 3, rankDirs(t, 3), glmc.Options{})))
		runtime.GOMAXPROCS(prevProcs)
		asm.SetThreads(prevThreads)
	}
	for name, v := range runs[0] {
		if !slices.Equal(v, runs[1][name]) {
			t.Errorf("%s differs between 1 and 3 threads", name)
		}
	}
}

// TestDataParallelLocalBatchNorm trains 2 ranks with per-rank batch-norm
// statistics (--sync-bn=false): the parameters stay equal, the running
// statistics differ, and rank 0's are the ones saved.
func TestDataParallelLocalBatchNorm(t *testing.T) {
	cfg := dpConfig()
	cfg.Epochs = 1
	dirs := rankDirs(t, 2)
	trainers := trainRanks(t, cfg, 2, dirs, glmc.Options{LocalBN: true})
	saved, err := nn.LoadModel(filepath.Join(dirs[0], glmc.LastFile), nn.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ranks := [][]nn.Entry{nn.StateDict(trainers[0].Model()), nn.StateDict(trainers[1].Model())}
	for i, e := range nn.StateDict(saved) {
		if e.Count != nil {
			continue
		}
		v0, v1 := ranks[0][i].Tensor().Data, ranks[1][i].Tensor().Data
		if !slices.Equal(e.Tensor().Data, v0) {
			t.Errorf("%s: saved values are not rank 0's", e.Name)
		}
		if equal := slices.Equal(v0, v1); equal != (e.Buffer == nil) {
			t.Errorf("%s: ranks 0 and 1 equal: %v", e.Name, equal)
		}
	}
}

// TestDataParallelRank0Failure resumes in folders without a checkpoint:
// rank 0 fails with the reason, and the other ranks at once (not after
// the group's timeout) with an error pointing at rank 0.
func TestDataParallelRank0Failure(t *testing.T) {
	train, test := dpData(t)
	const p = 3
	groups := disttest.Join(t, p)
	dirs := rankDirs(t, p)
	errs := disttest.OnEach(p, func(r int) error {
		_, err := glmc.NewTrainer(dpConfig(), train, test, glmc.Options{Dir: dirs[r], Resume: true, Group: groups[r]})
		return err
	})
	for r, err := range errs {
		want := "rank 0 failed"
		if r == 0 {
			want = "no checkpoint"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("rank %d: error %v, want one saying %q", r, err, want)
		}
	}
}
