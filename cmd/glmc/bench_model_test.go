package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/glmc/glmc/asm"
)

// quickBench runs `glmc bench --json` of the kinds what at width 2 on one
// thread, each figure timed for a moment only, and returns its lines.
func quickBench(t *testing.T, what string) []string {
	t.Helper()
	defer func(d time.Duration) { benchBudget = d }(benchBudget)
	benchBudget = time.Millisecond
	code, stdout, stderr := runCapture("bench", "--what", what, "--width", "2", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	return strings.Split(strings.TrimSpace(stdout), "\n")
}

// TestBenchModelJSON runs the train and infer measurements on the
// narrowest resnet32 and checks their records against the fields of
// ../shared/bench/torch_bench.py.
func TestBenchModelJSON(t *testing.T) {
	lines := quickBench(t, "train,infer")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2: %q", len(lines), lines)
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
			PeakRSS *float64 `json:"peak_rss_mb"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatalf("line %q: %v", lines[i], err)
		}
		if rec.Kind != want.kind || rec.Model != "resnet32" || rec.NF != 2 || rec.Batch != want.batch || rec.Threads != 1 ||
			rec.ImgPerS == nil || *rec.ImgPerS <= 0 || rec.Kernel != asm.Kernel() {
			t.Errorf("line %d: %q", i, lines[i])
		}
		if _, reported := peakRSS(); reported && (rec.PeakRSS != nil) != (rec.Kind == "glmc_train_step") ||
			rec.PeakRSS != nil && *rec.PeakRSS < 1 {
			t.Errorf("line %d: peak_rss_mb %v, want a size in MiB on the training record alone", i, rec.PeakRSS)
		}
	}
	if code, _, stderr := runCapture("bench", "--what", "infer", "--width", "3"); code != 2 || !strings.Contains(stderr, "--width 3") {
		t.Errorf("odd width: exit %d, stderr %q", code, stderr)
	}
}

// TestBenchLTInferJSON runs the infer measurement of each ImageNet-LT
// architecture on 32×32 images and checks its record against the fields
// of tools/bench/torch_lt.py's lt_infer kind, and that --arch goes with
// nothing that would time something else.
func TestBenchLTInferJSON(t *testing.T) {
	defer func(d time.Duration, side int) { benchBudget, benchLTSide = d, side }(benchBudget, benchLTSide)
	benchBudget, benchLTSide = time.Millisecond, 32
	archs := ltArchs
	if testing.Short() {
		archs = []string{"resnext50_32x4d"} // building a 25M-weight model takes seconds under -race
	}
	for _, arch := range archs {
		code, stdout, stderr := runCapture("bench", "--what", "infer", "--arch", arch, "--threads", "1", "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", arch, code, stderr)
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("%s: %q: %v", arch, stdout, err)
		}
		want := map[string]any{"kind": "lt_infer", "model": arch, "batch": float64(8), "threads": float64(1), "kernel": asm.Kernel()}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s = %v, want %v (%s)", k, r[k], v, stdout)
			}
		}
		if g, ok := r["img_per_s"].(float64); !ok || g <= 0 {
			t.Errorf("img_per_s %v (%s)", r["img_per_s"], stdout)
		}
		if len(r) != len(want)+1 {
			t.Errorf("fields %v, want those of torch_lt.py: %v and img_per_s", r, want)
		}
	}
	for _, tc := range []struct {
		args     []string
		inStderr string
	}{
		{[]string{"--what", "infer", "--arch", "resnet50"}, `--arch "resnet50"`},
		{[]string{"--what", "train,infer", "--arch", "resnext50_32x4d"}, "--what train,infer"},
		{[]string{"--what", "conv", "--arch", "resnet50_lt"}, "--what conv"},
		{[]string{"--what", "infer", "--arch", "resnext50_32x4d", "--width", "16"}, "--width"},
	} {
		if code, _, stderr := runCapture(append([]string{"bench"}, tc.args...)...); code != 2 || !strings.Contains(stderr, tc.inStderr) {
			t.Errorf("%q: exit %d, stderr %q, want 2 and %q", tc.args, code, stderr, tc.inStderr)
		}
	}
}

// TestBenchConvJSON runs the conv measurement at the narrowest width and
// checks its records against the fields of torch_bench.py's conv kind:
// every shape of resnet32 in each of the three passes.
func TestBenchConvJSON(t *testing.T) {
	lines := quickBench(t, "conv")
	passes := []string{"fwd", "bwd_data", "bwd_weights"}
	shapes := convShapes(2)
	if len(lines) != len(shapes)*len(passes) {
		t.Fatalf("%d lines, want %d: %q", len(lines), len(shapes)*len(passes), lines)
	}
	for i, line := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		s := shapes[i/len(passes)]
		want := map[string]any{"kind": "conv", "cin": float64(s[0]), "cout": float64(s[1]), "hw": float64(s[2]), "stride": float64(s[3]),
			"pass": passes[i%len(passes)], "nf": float64(2), "batch": float64(64), "threads": float64(1), "kernel": asm.Kernel()}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("line %d: %s = %v, want %v (%s)", i, k, r[k], v, line)
			}
		}
		if g, ok := r["gflops"].(float64); !ok || g <= 0 {
			t.Errorf("line %d: gflops %v", i, r["gflops"])
		}
	}
}

// BenchmarkGLMCStep times the step of `glmc bench --what train` (Learner.GLMCStep
// of resnet32, two batches of 64) after one warm-up step, and reports its
// allocations: a step should take its buffers from the arena the first
// step filled, not from the heap. Run it with -benchtime 3x; a step of
// width 64 takes seconds.
func BenchmarkGLMCStep(b *testing.B) { benchWidths(b, 2*benchTrainBatch, newTrainStep) }

// BenchmarkInfer times the forward pass of `glmc bench --what infer`
// (resnet32 in eval mode, fc_cb logits of a batch of 256, no gradients)
// and reports its allocations, which should be almost none once the
// first pass has filled the arena the passes reuse.
func BenchmarkInfer(b *testing.B) { benchWidths(b, benchInferBatch, newInferPass) }

// benchWidths times, at widths 16 and 64, the call that newCall makes for
// the width, after one warm-up call, reporting allocations and images per
// second for images images per call.
func benchWidths(b *testing.B, images int, newCall func(width int) func()) {
	for _, width := range []int{16, 64} {
		b.Run(fmt.Sprintf("resnet32_w%d", width), func(b *testing.B) {
			call := newCall(width)
			call()
			b.ReportAllocs()
			for b.Loop() {
				call()
			}
			b.ReportMetric(float64(images*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
