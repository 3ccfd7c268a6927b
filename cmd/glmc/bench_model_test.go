package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/glmc/glmc/asm"
)

// TestBenchModelJSON runs the train and infer measurements on the
// narrowest resnet32 and checks their records against the fields of
// ../shared/bench/torch_bench.py.
func TestBenchModelJSON(t *testing.T) {
	defer func(d time.Duration) { benchBudget = d }(benchBudget)
	benchBudget = time.Millisecond
	code, stdout, stderr := runCapture("bench", "--what", "train,infer", "--width", "2", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), stdout)
	}
	for i, want := range []struct {
		kind  string
		batch int
	}{{"glmc_train_step", 64}, {"infer", 256}} {
		var rec struct {
			Kind    string   `json:"kind"`
			Model   string   `json:"model"`
			NF      int      `json:"nf"`
			Batch   int      `json:"batch"`
			Threads int      `json:"threads"`
			ImgPerS *float64 `json:"img_per_s"`
			Kernel  string   `json:"kernel"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatalf("line %q: %v", lines[i], err)
		}
		if rec.Kind != want.kind || rec.Model != "resnet32" || rec.NF != 2 || rec.Batch != want.batch || rec.Threads != 1 ||
			rec.ImgPerS == nil || *rec.ImgPerS <= 0 || rec.Kernel != asm.Kernel() {
			t.Errorf("line %d: %q", i, lines[i])
		}
	}
	if code, _, stderr := runCapture("bench", "--what", "infer", "--width", "3"); code != 2 || !strings.Contains(stderr, "--width 3") {
		t.Errorf("odd width: exit %d, stderr %q", code, stderr)
	}
}
