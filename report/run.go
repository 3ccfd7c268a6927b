// Package report draws what a run folder of `glmc train` holds: training
// curves, per-class accuracy and the confusion matrix, as PNG or SVG
// images (gonum.org/v1/plot, pure Go). It reads run folders tolerantly:
// a folder that a killed or still running process left half written gives
// what it has and a note saying what is missing.
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/glmc/glmc/glmc"
)

// Run is what a run folder holds for plots.
type Run struct {
	Dir string
	// State is the run's last checkpoint state (Config, training counts),
	// nil when the folder has no readable checkpoint yet.
	State *glmc.State
	// Records are the complete lines of the metrics file, in file order.
	Records []glmc.EpochRecord
}

// ReadRun reads the metrics and the state of the run folder dir. Notes
// say what was missing or damaged but left something to plot: a torn
// last line of the metrics (a process killed while writing), no
// checkpoint yet. An error means there is nothing to plot.
func ReadRun(dir string) (run Run, notes []string, err error) {
	run.Dir = dir
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return run, nil, fmt.Errorf("report: %s: not a run folder (want the --out folder of glmc train)", dir)
	}
	metrics := filepath.Join(dir, glmc.MetricsFile)
	b, err := os.ReadFile(metrics)
	switch {
	case errors.Is(err, os.ErrNotExist):
		notes = append(notes, fmt.Sprintf("%s: no %s: no epoch has finished yet", dir, glmc.MetricsFile))
	case err != nil:
		return run, nil, fmt.Errorf("report: %w", err)
	default:
		var note string
		run.Records, note = parseRecords(metrics, b)
		if note != "" {
			notes = append(notes, note)
		}
	}
	run.State, err = readState(dir)
	if err != nil {
		notes = append(notes, err.Error())
	}
	if run.State == nil && len(run.Records) == 0 {
		return run, notes, fmt.Errorf("report: %s: no finished epoch: no records in %s and no checkpoint (%s)", dir, glmc.MetricsFile, glmc.LastStateFile)
	}
	return run, notes, nil
}

// parseRecords returns the records of a metrics file up to its first line
// that is not a complete record, and a note naming that line.
func parseRecords(path string, b []byte) ([]glmc.EpochRecord, string) {
	var recs []glmc.EpochRecord
	lines := bytes.Split(b, []byte("\n"))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r glmc.EpochRecord
		if err := json.Unmarshal(line, &r); err != nil {
			what := "is not a complete epoch record"
			if i == len(lines)-1 {
				what = "is cut short (the run was killed while writing it?)"
			}
			return recs, fmt.Sprintf("%s: line %d %s; plotting the %d complete lines before it", path, i+1, what, len(recs))
		}
		recs = append(recs, r)
	}
	return recs, ""
}

// readState returns the state of the run's checkpoint: last.json, else the
// metadata of last.safetensors, else that of best.safetensors (a run
// killed between the two files). Nil and an error say why none was read.
func readState(dir string) (*glmc.State, error) {
	var st glmc.State
	b, err := os.ReadFile(filepath.Join(dir, glmc.LastStateFile))
	if err == nil && json.Unmarshal(b, &st) == nil && len(st.TrainCounts) > 0 {
		return &st, nil
	}
	for _, name := range []string{glmc.LastFile, glmc.BestFile} {
		if s, err := glmc.ReadState(filepath.Join(dir, name)); err == nil && s != nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s: no readable checkpoint (%s, %s or %s): per-class and confusion plots need its training counts",
		dir, glmc.LastStateFile, glmc.LastFile, glmc.BestFile)
}

// Best returns the index in Records of the best epoch: the first of the
// highest top-1, as the trainer's Summary and best checkpoint. Records
// must not be empty.
func (r Run) Best() int {
	best := 0
	for i, rec := range r.Records {
		if rec.Top1 > r.Records[best].Top1 {
			best = i
		}
	}
	return best
}

// Labels names each run for a legend by the settings that differ between
// them ("method=ce", "lr=0.1, seed=2"), in Config order; runs that differ
// in none, or have no state, are named by their folder.
func Labels(runs []Run) []string {
	labels := make([]string, len(runs))
	var differ []int // Config fields that differ between runs with state
	var first *glmc.State
	for _, r := range runs {
		if r.State == nil {
			continue
		}
		if first == nil {
			first = r.State
			continue
		}
		a, b := reflect.ValueOf(first.Config), reflect.ValueOf(r.State.Config)
		for i := range a.NumField() {
			if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) && !slices.Contains(differ, i) {
				differ = append(differ, i)
			}
		}
	}
	for k, r := range runs {
		labels[k] = filepath.Base(filepath.Clean(r.Dir))
		if r.State == nil || len(differ) == 0 {
			continue
		}
		v := reflect.ValueOf(r.State.Config)
		parts := make([]string, 0, len(differ))
		for i := range v.NumField() {
			if slices.Contains(differ, i) {
				name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
				parts = append(parts, fmt.Sprintf("%s=%v", strings.ReplaceAll(name, "_", "-"), v.Field(i).Interface()))
			}
		}
		labels[k] = strings.Join(parts, ", ")
	}
	return labels
}

// MixedDatasets returns a note when the runs are of different datasets,
// whose curves an overlay puts side by side although they measure
// different things; "" when they are of one dataset.
func MixedDatasets(runs []Run) string {
	var parts []string
	seen := map[string]bool{}
	for _, r := range runs {
		if r.State == nil {
			continue
		}
		seen[r.State.Config.Dataset] = true
		parts = append(parts, fmt.Sprintf("%s: %s", r.Dir, r.State.Config.Dataset))
	}
	if len(seen) < 2 {
		return ""
	}
	return fmt.Sprintf("runs of different datasets (%s): the curves overlay them, labelled by dataset; per-class and confusion plots are per run", strings.Join(parts, "; "))
}
