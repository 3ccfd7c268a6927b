package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/glmc/glmc/glmc"
)

// TestTrainResNeXt trains a narrow resnext50_32x4d (width 16: grouped
// convolutions of one channel per group in its first stage) for one epoch
// and evaluates its checkpoint: eval reads the architecture and the groups
// off the file and scores the best epoch as training did.
func TestTrainResNeXt(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: trains an epoch")
	}
	out := filepath.Join(t.TempDir(), "run")
	code, _, stderr := runCapture("train", "--dataset", "synthetic", "--arch", "resnext50_32x4d", "--width", "16",
		"--blocks", "1,1,1,1", "--epochs", "1", "--batch-size", "32", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var summary struct{ Best struct{ Top1 float64 } }
	if err := json.Unmarshal(b, &summary); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCapture("eval", "--checkpoint", filepath.Join(out, glmc.BestFile), "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var got evalReport
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Arch != "resnext50_32x4d" || got.Width != 16 || got.Top1 != summary.Best.Top1 {
		t.Errorf("eval --json %s: want arch resnext50_32x4d, width 16, top-1 %v as training's best epoch", stdout, summary.Best.Top1)
	}
}
