package glmc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/glmc"
)

// TestEmptyGroupsInRunFiles trains on a split whose classes all have 30
// images, so only the medium group has classes: many and few must be
// null in metrics.jsonl and summary.json and "–" in the lines printed,
// and a resumed run must still read a metrics file written before null
// existed, with 0 there.
func TestEmptyGroupsInRunFiles(t *testing.T) {
	train, test, err := data.Synthetic(data.SyntheticConfig{TrainPerClass: 30, TestPerClass: 4, Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig()
	cfg.Method, cfg.Epochs, cfg.ImbalanceFactor = glmc.MethodCE, 2, 1
	dir := t.TempDir()
	var log bytes.Buffer
	tr, err := glmc.NewTrainer(cfg, train, test, glmc.Options{Dir: dir, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.RunEpoch(context.Background()); err != nil {
		t.Fatal(err)
	}
	metrics := filepath.Join(dir, glmc.MetricsFile)
	b, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if _, isNumber := rec["medium"].(float64); !isNumber || rec["many"] != nil || rec["few"] != nil {
		t.Errorf("metrics.jsonl %s: want a medium number, many and few null", b)
	}
	if line := log.String(); !strings.Contains(line, "  many –  medium ") || !strings.Contains(line, "  few –  ") {
		t.Errorf("epoch line %q, want many – and few –", line)
	}

	// The same file as glmc wrote it before null: 0 for the empty groups.
	old := bytes.ReplaceAll(b, []byte("null"), []byte("0"))
	if err := os.WriteFile(metrics, old, 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err = glmc.NewTrainer(cfg, train, test, glmc.Options{Dir: dir, Resume: true})
	if err != nil {
		t.Fatalf("resuming over an old metrics file: %v", err)
	}
	s, err := tr.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if zero := (glmc.GroupAccuracy{Valid: true}); s.Last.Few != zero || s.Last.Many != zero {
		t.Errorf("old file's 0 read as many %+v, few %+v; want a valid 0", s.Last.Many, s.Last.Few)
	}
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(filepath.Join(dir, glmc.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct{ Last map[string]any }
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if _, isNumber := sum.Last["medium"].(float64); !isNumber || sum.Last["many"] != nil || sum.Last["few"] != nil {
		t.Errorf("summary.json %s: want the last epoch's medium a number, many and few null", b)
	}
}

func TestSummaryString(t *testing.T) {
	none := glmc.GroupAccuracy{}
	zero := glmc.GroupAccuracy{Valid: true}
	for _, c := range []struct {
		best glmc.EpochSummary
		want string
	}{
		{glmc.EpochSummary{Epoch: 3, Top1: 50, Many: glmc.GroupAccuracy{Percent: 80, Valid: true}, Medium: zero, Few: none},
			"last epoch 4: top-1 40.00%; best epoch 3: top-1 50.00% (many 80.00, medium 0.00, few –)"},
		{glmc.EpochSummary{Epoch: 1, Top1: 12.345, Many: none, Medium: none, Few: zero},
			"last epoch 4: top-1 40.00%; best epoch 1: top-1 12.35% (many –, medium –, few 0.00)"},
	} {
		s := glmc.Summary{Epochs: 4, Last: glmc.EpochSummary{Epoch: 4, Top1: 40}, Best: c.best}
		if got := s.String(); got != c.want {
			t.Errorf("Summary.String() = %q\nwant               %q", got, c.want)
		}
	}
}
