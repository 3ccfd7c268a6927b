package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/glmc/glmc/glmc"
)

// svgSize matches the size of an SVG written by the plots, in points.
var svgSize = regexp.MustCompile(`<svg width="([0-9.]+)pt" height="([0-9.]+)pt"`)

// TestPlot draws the three plots of a run as SVG: each file must be there,
// at the size asked (600x450 points are 800x600 pixels), with the class
// names.
func TestPlot(t *testing.T) {
	run := copyRun(t)
	out := filepath.Join(t.TempDir(), "plots")
	code, stdout, stderr := runCapture("plot", run, "--out", out, "--format", "svg", "--size", "800x600")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"curves", "per_class", "confusion"} {
		path := filepath.Join(out, name+".svg")
		if !strings.Contains(stdout, "wrote "+path) {
			t.Errorf("output %q does not name %s", stdout, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if m := svgSize.FindStringSubmatch(string(b)); m == nil || m[1] != "600" || m[2] != "450" {
			t.Errorf("%s: size %q, want 600pt x 450pt", name, m)
		}
		if name != "curves" && !strings.Contains(string(b), ">square-1</text>") {
			t.Errorf("%s: no class name square-1", name)
		}
	}
	if strings.Contains(stdout, "note:") {
		t.Errorf("notes for an intact run: %q", stdout)
	}

	// A names file, blank lines skipped; with the wrong number of names
	// the classes are numbered.
	names := filepath.Join(t.TempDir(), "names.txt")
	for _, tc := range []struct {
		file, inSVG, note string
	}{
		{"a0\na1\n\na2\na3\na4\na5\na6\na7\na8\na9\n", ">a3</text>", ""},
		{"a0\na1\n", ">3</text>", "note: class names: 2 class names for 10 classes; classes are numbered"},
	} {
		if err := os.WriteFile(names, []byte(tc.file), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCapture("plot", run, "--out", out, "--format", "svg", "--plots", "per_class", "--class-names", names)
		b, err := os.ReadFile(filepath.Join(out, "per_class.svg"))
		if code != 0 || err != nil || !strings.Contains(string(b), tc.inSVG) || !strings.Contains(stdout, tc.note) {
			t.Errorf("names %q: exit %d %s, stdout %q, want %s in the SVG and the note %q", tc.file, code, stderr, stdout, tc.inSVG, tc.note)
		}
	}
}

// TestPlotBadInput gives glmc plot bad command lines and damaged folders:
// usage errors and folders with nothing to plot fail with one line; a
// folder with something to plot gets notes and its plots.
func TestPlotBadInput(t *testing.T) {
	run := copyRun(t)
	torn := copyRun(t)
	metrics := filepath.Join(torn, glmc.MetricsFile)
	b, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(metrics, append(b, `{"epoch":2,"lr":`...), 0o644); err != nil {
		t.Fatal(err)
	}
	other := copyRun(t) // claims to be a CIFAR-10 run, whose data are not here
	var st map[string]any
	if b, err = os.ReadFile(filepath.Join(other, glmc.LastStateFile)); err != nil || json.Unmarshal(b, &st) != nil {
		t.Fatalf("last.json: %v", err)
	}
	st["config"].(map[string]any)["dataset"] = "cifar10"
	if b, err = json.Marshal(st); err != nil || os.WriteFile(filepath.Join(other, glmc.LastStateFile), b, 0o644) != nil {
		t.Fatal(err)
	}
	damaged := copyRun(t) // its state has 3 training counts for 10 classes
	if b, err = os.ReadFile(filepath.Join(damaged, glmc.LastStateFile)); err != nil || json.Unmarshal(b, &st) != nil {
		t.Fatalf("last.json: %v", err)
	}
	st["train_counts"] = []int{5, 4, 3}
	if b, err = json.Marshal(st); err != nil || os.WriteFile(filepath.Join(damaged, glmc.LastStateFile), b, 0o644) != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	out := t.TempDir()
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		inStderr string
		inStdout []string // notes
		written  []string // files in out
	}{
		{"no folder", []string{"plot"}, 2, "want at least one run folder", nil, nil},
		{"two folders, no --out", []string{"plot", run, torn}, 2, "--out is required", nil, nil},
		{"bad size", []string{"plot", run, "--size", "big"}, 2, `--size "big": want WIDTHxHEIGHT`, nil, nil},
		{"bad format", []string{"plot", run, "--format", "gif"}, 2, `format "gif": want png or svg`, nil, nil},
		{"bad plot", []string{"plot", run, "--plots", "curves,roc"}, 2, `unknown plot "roc"`, nil, nil},
		{"empty folder", []string{"plot", empty}, 1, "nothing to plot: report: " + empty + ": no finished epoch", nil, nil},
		{"missing folder", []string{"plot", filepath.Join(empty, "nope"), "--out", out}, 1, "not a run folder", nil, nil},
		{"torn line and an empty folder", []string{"plot", torn, empty, "--out", out, "--plots", "curves,per_class"}, 0, "",
			[]string{"line 2 is cut short", empty + ": no finished epoch"}, []string{"curves.png", "per_class.png"}},
		{"mixed datasets", []string{"plot", "--out", out, run, other, "--plots", "per_class,confusion"}, 0, "",
			[]string{"different datasets", "class names: cifar10: no cifar-10-batches-bin", other + ": no confusion matrix"},
			[]string{"per_class-run.png", "per_class-run-2.png", "confusion-run.png"}},
		{"state of another split", []string{"plot", damaged, "--out", out}, 0, "",
			[]string{"per-class: " + damaged + ": epoch 1 has 10 per-class accuracies for 3 classes",
				"confusion: 10 rows for 3 class names"}, []string{"curves.png"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(out)
			code, stdout, stderr := runCapture(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.inStderr) || strings.Count(stderr, "\n") > 1 {
				t.Fatalf("exit %d, stderr %q; want exit %d and one line with %q", code, stderr, tc.code, tc.inStderr)
			}
			for _, n := range tc.inStdout {
				if !strings.Contains(stdout, "note: ") || !strings.Contains(stdout, n) {
					t.Errorf("stdout %q has no note %q", stdout, n)
				}
			}
			entries, _ := os.ReadDir(out)
			var files []string
			for _, e := range entries {
				files = append(files, e.Name())
			}
			slices.Sort(files)
			want := slices.Sorted(slices.Values(tc.written))
			if !slices.Equal(files, want) {
				t.Errorf("wrote %q, want %q", files, want)
			}
		})
	}
}

// TestTrainPlot trains one epoch with --plot: the run folder gets its
// curves as a PNG of the default size.
func TestTrainPlot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := runCapture(withArgs(tinyTrain, "--epochs", "1", "--quiet", "--plot", "--out", dir)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(filepath.Join(dir, "curves.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("curves.png is %v, want 1200x900", b)
	}
}
