package glmc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/glmc/glmc/internal/atomicfile"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// The files of a run folder. Every one is replaced atomically (see
// writeFileAtomic), so a run killed at any moment leaves each file either
// as it was or complete.
const (
	// LastFile is the model after the last finished epoch: its state dict
	// under the official names (loadable by PyTorch's load_state_dict and
	// by `glmc eval`), with the run's State as JSON in the safetensors
	// metadata under the key "glmc". It is the commit point of a
	// checkpoint: --resume reads the State from here.
	LastFile = "last.safetensors"
	// LastStateFile repeats LastFile's State, indented, for people and
	// scripts; it is written after LastFile.
	LastStateFile = "last.json"
	// BestFile is the model after the epoch of the best top-1 so far (the
	// first such epoch on ties), with its State as in LastFile.
	BestFile = "best.safetensors"
	// MetricsFile has one JSON object (an EpochRecord) per finished epoch.
	MetricsFile = "metrics.jsonl"
	// SummaryFile is the Summary of a finished run.
	SummaryFile = "summary.json"
)

// stateFormat is the version of the State layout.
const stateFormat = 1

// metaKey is the safetensors metadata key of the State.
const metaKey = "glmc"

// State is where a run stands after a finished epoch: what --resume needs
// besides the tensors. Every random choice of the method derives from
// (seed, epoch, step), so the position is the whole of the random state.
type State struct {
	Format int    `json:"format"`
	Config Config `json:"config"`
	// Epoch is the number of finished epochs, so also the 0-based epoch a
	// resumed run starts with; Step is the step it starts at within that
	// epoch, 0 because checkpoints are taken at the end of epochs.
	Epoch int `json:"epoch"`
	Step  int `json:"step"`
	// BestEpoch (1-based, 0 before any evaluation) and BestTop1 decide
	// when BestFile is rewritten.
	BestEpoch int     `json:"best_epoch"`
	BestTop1  float64 `json:"best_top1"`
	// Optimizer names the file of the run folder holding the SGD momentum
	// buffers and the MaxNorm limits of this checkpoint. Its name carries
	// the epoch, so that the previous checkpoint's file survives until
	// LastFile points here.
	Optimizer string `json:"optimizer,omitempty"`
	// TrainCounts are the training images per class, and TestImages the
	// size of the test split: a resumed run must see the same data.
	TrainCounts []int `json:"train_counts"`
	TestImages  int   `json:"test_images"`
}

// optimizerFile is the name of the optimiser file of the checkpoint
// taken after epoch finished epochs: optimizerPrefix, the epoch,
// optimizerSuffix.
func optimizerFile(epoch int) string { return optimizerPrefix + strconv.Itoa(epoch) + optimizerSuffix }

const (
	optimizerPrefix = "optimizer."
	optimizerSuffix = ".safetensors"
)

// Prefixes of the optimiser file's tensors: the keys of optim.SGD.State and
// optim.MaxNorm.State follow them.
const (
	sgdPrefix     = "sgd."
	maxNormPrefix = "max_norm."
)

// ReadState returns the State stored in a checkpoint written by the
// Trainer (LastFile or BestFile), or nil without an error for a file that
// has none, such as an official PyTorch checkpoint.
func ReadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("glmc: %w", err)
	}
	return parseState(path, b)
}

// parseState is ReadState of the file path holding b.
func parseState(path string, b []byte) (*State, error) {
	if bytes.HasPrefix(b, []byte("PK")) { // a PyTorch zip archive
		return nil, nil
	}
	_, meta, err := nn.ReadSafetensors(b)
	if err != nil {
		return nil, fmt.Errorf("glmc: %s: %w", path, err)
	}
	return stateFromMeta(path, meta)
}

// stateFromMeta decodes the State of a checkpoint's metadata, nil if it
// has none.
func stateFromMeta(path string, meta map[string]string) (*State, error) {
	raw, ok := meta[metaKey]
	if !ok {
		return nil, nil
	}
	var st State
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("glmc: %s: run state in the metadata: %w", path, err)
	}
	if st.Format != stateFormat {
		return nil, fmt.Errorf("glmc: %s: run state format %d, this glmc reads %d", path, st.Format, stateFormat)
	}
	return &st, nil
}

// decodeRun returns the tensors and the State of the safetensors file path
// holding b, which must have a State.
func decodeRun(path string, b []byte) (*nn.State, *State, error) {
	tensors, meta, err := nn.ReadSafetensors(b)
	if err != nil {
		return nil, nil, fmt.Errorf("glmc: %s: %w", path, err)
	}
	st, err := stateFromMeta(path, meta)
	if err == nil && st == nil {
		err = fmt.Errorf("glmc: %s: no run state in the metadata (not written by glmc train)", path)
	}
	return tensors, st, err
}

// writeModel writes m's state dict to path with st in the metadata.
func writeModel(path string, m *nn.Model, st *State) error {
	js, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("glmc: %w", err)
	}
	return writeFileAtomic(path, func(w io.Writer) error {
		return nn.WriteSafetensors(w, nn.StateOf(m), map[string]string{metaKey: string(js)})
	})
}

// writeOptimizer writes the optimiser and MaxNorm state of l to path.
func writeOptimizer(path string, l *Learner) error {
	s := optimizerState(l)
	return writeFileAtomic(path, func(w io.Writer) error { return nn.WriteSafetensors(w, s, nil) })
}

// optimizerState returns the optimiser and MaxNorm state of l as tensors
// under sgdPrefix and maxNormPrefix, in parameter order so that equal
// states give equal bytes.
func optimizerState(l *Learner) *nn.State {
	s := nn.NewState()
	add := func(prefix string, state map[string]*tensor.Tensor) {
		keys := make([]string, 0, len(state))
		for k := range state {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareNumbered)
		for _, k := range keys {
			t := state[k]
			s.Add(prefix+k, &nn.StateTensor{Shape: slices.Clone(t.Shape), Float: t.Data})
		}
	}
	add(sgdPrefix, l.Opt.State())
	if l.MaxNorm != nil {
		add(maxNormPrefix, l.MaxNorm.State())
	}
	return s
}

// compareNumbered orders keys "name.<i>" by name, then by the number i.
func compareNumbered(a, b string) int {
	pa, na, _ := strings.Cut(a, ".")
	pb, nb, _ := strings.Cut(b, ".")
	if c := strings.Compare(pa, pb); c != 0 {
		return c
	}
	ia, _ := strconv.Atoi(na)
	ib, _ := strconv.Atoi(nb)
	return ia - ib
}

// readOptimizer restores the optimiser and MaxNorm state of l from path.
func readOptimizer(path string, l *Learner) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("glmc: optimiser state: %w", err)
	}
	return decodeOptimizer(path, b, l)
}

// decodeOptimizer is readOptimizer of the file path holding b.
func decodeOptimizer(path string, b []byte, l *Learner) error {
	s, _, err := nn.ReadSafetensors(b)
	if err != nil {
		return fmt.Errorf("glmc: %s: %w", path, err)
	}
	sgd, limits := map[string]*tensor.Tensor{}, map[string]*tensor.Tensor{}
	for _, name := range s.Names {
		t := s.Tensors[name]
		if t.Int != nil {
			return fmt.Errorf("glmc: %s: %q is an integer tensor, want float32", path, name)
		}
		v := &tensor.Tensor{Shape: t.Shape, Data: t.Float}
		if k, ok := strings.CutPrefix(name, sgdPrefix); ok {
			sgd[k] = v
		} else if k, ok := strings.CutPrefix(name, maxNormPrefix); ok && l.MaxNorm != nil {
			limits[k] = v
		} else {
			return fmt.Errorf("glmc: %s: unexpected tensor %q", path, name)
		}
	}
	if err := l.Opt.LoadState(sgd); err != nil {
		return fmt.Errorf("%w (in %s)", err, path)
	}
	if l.MaxNorm != nil {
		if err := l.MaxNorm.LoadState(limits); err != nil {
			return fmt.Errorf("%w (in %s)", err, path)
		}
	}
	return nil
}

// writeFileAtomic replaces path with what write produces (see
// atomicfile.Write).
func writeFileAtomic(path string, write func(io.Writer) error) error {
	if err := atomicfile.Write(path, write); err != nil {
		return fmt.Errorf("glmc: %w", err)
	}
	return nil
}

// readMetrics returns the records of a run folder's MetricsFile for the
// first epochs epochs (later lines belong to an epoch whose checkpoint was
// never committed); a missing file has none.
func readMetrics(path string, epochs int) ([]EpochRecord, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("glmc: %w", err)
	}
	return parseMetrics(path, b, epochs)
}

// parseMetrics is readMetrics of the file path holding b.
func parseMetrics(path string, b []byte, epochs int) ([]EpochRecord, error) {
	var recs []EpochRecord
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r EpochRecord
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("glmc: %s: line %d: %w", path, i+1, err)
		}
		if r.Epoch <= epochs {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// writeMetrics replaces the MetricsFile at path with recs, one line each.
func writeMetrics(path string, recs []EpochRecord) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range recs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeJSON replaces path with v as indented JSON.
func writeJSON(path string, v any) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// lastState is what LastStateFile holds: the State, and what a checkpoint
// does not depend on: how the run was launched, and where its data are.
type lastState struct {
	*State
	Cluster
	DataDir string `json:"data_dir,omitempty"`
}

// ReadDataDir returns the data folder (Options.DataDir) that the
// LastStateFile of run folder dir records, "" when it records none or
// the folder has no LastStateFile, so that glmc eval and a resumed run
// find the data without being told again.
func ReadDataDir(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, LastStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("glmc: %w", err)
	}
	var st struct {
		DataDir string `json:"data_dir"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return "", fmt.Errorf("glmc: %s: %w", filepath.Join(dir, LastStateFile), err)
	}
	return st.DataDir, nil
}
