package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
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
	got := evalJSON(t, filepath.Join(out, glmc.BestFile))
	if got.Arch != "resnext50_32x4d" || got.Width != 16 || got.Top1 != summary.Best.Top1 {
		t.Errorf("eval --json %+v: want arch resnext50_32x4d, width 16, top-1 %v as training's best epoch", got, summary.Best.Top1)
	}
}

// TestTrainFolderCIFARRecipe trains a small resnet32 on a folder of 8×8
// PNG files with --transform cifar10, checks that the run records the
// recipe and the data folder, and that eval of its checkpoint, taking
// both from the run, scores the best epoch as training did; a recipe
// that cannot apply is a usage error naming it.
func TestTrainFolderCIFARRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: trains an epoch")
	}
	root := t.TempDir()
	for c, counts := range [][2]int{{12, 3}, {6, 3}} {
		for split, n := range map[string]int{"train": counts[0], "test": counts[1]} {
			for i := range n {
				writePNG(t, filepath.Join(root, split, fmt.Sprintf("class%d", c), fmt.Sprintf("%d.png", i)), 8, uint8(40*c+i))
			}
		}
	}
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--dataset", "folder", "--data-dir", root, "--image-size", "8", "--transform", "cifar10",
		"--imbalance-factor", "2", "--width", "4", "--blocks", "1,1,1", "--epochs", "1", "--batch-size", "4", "--out", out, "--quiet"}
	code, _, stderr := runCapture(args...)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	var summary, last struct {
		Config glmc.Config
		Best   struct{ Top1 float64 }
	}
	for file, v := range map[string]any{glmc.SummaryFile: &summary, glmc.LastStateFile: &last} {
		b, err := os.ReadFile(filepath.Join(out, file))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	if last.Config.Transform != "cifar10" {
		t.Errorf("last.json config transform %q, want cifar10", last.Config.Transform)
	}
	req, err := parseEval([]string{"--checkpoint", filepath.Join(out, glmc.BestFile)})
	if err != nil || req.transform != "cifar10" || req.files.Size != 8 || req.dataDir != root {
		t.Errorf("eval of the checkpoint: transform %q, image size %d, data in %q (%v), want the run's cifar10, 8 and %s",
			req.transform, req.files.Size, req.dataDir, err, root)
	}
	if treq, err := parseTrain([]string{"--resume", "--out", out}); err != nil || treq.dataDir != root || treq.cfg.Transform != "cifar10" {
		t.Errorf("train --resume: data in %q, transform %q (%v), want the run's %s and cifar10", treq.dataDir, treq.cfg.Transform, err, root)
	}
	if got := evalJSON(t, filepath.Join(out, glmc.BestFile)); got.Top1 != summary.Best.Top1 || got.Samples != 6 {
		t.Errorf("eval --json %+v: want top-1 %v on 6 images, as training's best epoch", got, summary.Best.Top1)
	}
	// The official ImageNet transform at 8 pixels is another evaluation.
	code, _, stderr = runCapture("eval", "--checkpoint", filepath.Join(out, glmc.BestFile), "--transform", "folder")
	if code != 0 {
		t.Errorf("eval --transform folder: exit %d: %s", code, stderr)
	}
	// The recipe takes the images as they decode: one of another size
	// stops training, named.
	odd := filepath.Join(root, "train", "class0", "odd.png")
	writePNG(t, odd, 9, 1)
	args[len(args)-2] = filepath.Join(t.TempDir(), "run")
	if code, _, stderr := runCapture(args...); code != 1 || !strings.Contains(stderr, odd+": a 9x9 image, want 8x8") {
		t.Errorf("train with a 9x9 image: exit %d, stderr %q, want 1 and the image named", code, stderr)
	}
	for _, tc := range []struct{ args []string }{
		{append(args[:len(args):len(args)], "--transform", "fashion-mnist")},
		{[]string{"train", "--dataset", "synthetic", "--transform", "cifar10"}},
		{[]string{"eval", "--checkpoint", filepath.Join(out, glmc.BestFile), "--transform", "imagenet-lt"}},
	} {
		if code, _, stderr := runCapture(tc.args...); code != 2 || !strings.Contains(stderr, "--transform") {
			t.Errorf("%q: exit %d, stderr %q, want 2 and the flag named", tc.args, code, stderr)
		}
	}
}

// writePNG writes a side×side PNG whose pixels depend on tint.
func writePNG(t *testing.T, path string, side int, tint uint8) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = tint + uint8(i*7)
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// evalJSON runs `glmc eval --checkpoint checkpoint --json` and returns its
// report.
func evalJSON(t *testing.T, checkpoint string) evalReport {
	t.Helper()
	code, stdout, stderr := runCapture("eval", "--checkpoint", checkpoint, "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var got evalReport
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	return got
}
