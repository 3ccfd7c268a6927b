package glmc

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// TestOptimizerRoundTrip writes momentum buffers and MaxNorm limits and
// reads them into a fresh optimiser: the state must come back equal, and
// the bytes must not depend on map order.
func TestOptimizerRoundTrip(t *testing.T) {
	a := tinyLearner(t)
	p := randomPair()
	for step := range 2 {
		if _, err := a.GLMCStep(p, Draw(1, 0, step, 8, 8), 0.5); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "opt.safetensors")
	if err := writeOptimizer(path, a); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(path)
	for range 5 { // State is a map: the file must not follow its order
		if err := writeOptimizer(path, a); err != nil {
			t.Fatal(err)
		}
		if again, _ := os.ReadFile(path); string(again) != string(first) {
			t.Fatal("writing the same state twice gave different bytes")
		}
	}
	b := tinyLearner(t)
	if err := readOptimizer(path, b); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]map[string]*tensor.Tensor{{a.Opt.State(), b.Opt.State()}, {a.MaxNorm.State(), b.MaxNorm.State()}} {
		if len(pair[0]) == 0 || len(pair[0]) != len(pair[1]) {
			t.Fatalf("%d entries written, %d read", len(pair[0]), len(pair[1]))
		}
		for k, v := range pair[0] {
			if w := pair[1][k]; w == nil || !slices.Equal(v.Data, w.Data) || !slices.Equal(v.Shape, w.Shape) {
				t.Errorf("%s: read %v, wrote %v", k, w, v)
			}
		}
	}

	// A file with a tensor the optimiser does not know fails, naming it.
	bad := nn.NewState()
	bad.Add("sgd.momentum_buffer.0", &nn.StateTensor{Shape: []int{1}, Float: []float32{1}})
	bad.Add("adam.exp_avg.0", &nn.StateTensor{Shape: []int{1}, Float: []float32{1}})
	if err := writeFileAtomic(path, func(w io.Writer) error { return nn.WriteSafetensors(w, bad, nil) }); err != nil {
		t.Fatal(err)
	}
	if err := readOptimizer(path, tinyLearner(t)); err == nil || !strings.Contains(err.Error(), "adam.exp_avg.0") {
		t.Errorf("error %v, want one naming the unknown tensor", err)
	}
}

func TestCompareNumbered(t *testing.T) {
	keys := []string{"momentum_buffer.10", "limit.1", "momentum_buffer.2", "momentum_buffer.1", "limit.0"}
	slices.SortFunc(keys, compareNumbered)
	want := []string{"limit.0", "limit.1", "momentum_buffer.1", "momentum_buffer.2", "momentum_buffer.10"}
	if !slices.Equal(keys, want) {
		t.Errorf("sorted %v, want %v", keys, want)
	}
}

// TestReadDataDir reads the data folder of run folders' last.json: the
// recorded path, nothing for a run without one or a folder without a
// run, and an error naming the file for a damaged one.
func TestReadDataDir(t *testing.T) {
	for _, tc := range []struct {
		name, last, want, err string
	}{
		{"recorded", `{"format": 1, "world_size": 1, "data_dir": "/data/cifar"}`, "/data/cifar", ""},
		{"not recorded", `{"format": 1, "world_size": 1}`, "", ""},
		{"no last.json", "", "", ""},
		{"damaged", `{"format": 1, "data_dir": "/da`, "", LastStateFile + ": unexpected end of JSON input"},
		{"not a path", `{"data_dir": 3}`, "", "cannot unmarshal number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.last != "" {
				if err := os.WriteFile(filepath.Join(dir, LastStateFile), []byte(tc.last), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadDataDir(dir)
			if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ReadDataDir = %q, %v; want %q and an error containing %q", got, err, tc.want, tc.err)
			}
		})
	}
}
