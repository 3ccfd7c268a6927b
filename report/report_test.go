package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/glmc"
)

// epochs is the length of the test runs: more than the two points of a
// legend's line, so that curves and legend lines can be told apart.
const epochs = 3

// testRuns are a GLMC and a cross-entropy run of the same tiny model on
// the synthetic data, made once: their folders hold what glmc train
// writes.
var testRuns = sync.OnceValues(func() (dirs [2]string, err error) {
	root, err := os.MkdirTemp("", "glmc-report-")
	if err != nil {
		return dirs, err
	}
	train, test, err := data.Synthetic(data.SyntheticConfig{TrainPerClass: 40, TestPerClass: 8, Size: 16})
	if err != nil {
		return dirs, err
	}
	if train, err = data.LongTail(train, 10, 1); err != nil {
		return dirs, err
	}
	for i, method := range []string{glmc.MethodGLMC, glmc.MethodCE} {
		cfg := glmc.DefaultConfig()
		cfg.Dataset, cfg.ImbalanceFactor, cfg.Seed, cfg.Method = "synthetic", 10, 1, method
		cfg.Width, cfg.Blocks = 4, []int{1, 1, 1}
		cfg.Epochs, cfg.BatchSize, cfg.LR = epochs, 32, 0.05
		dirs[i] = filepath.Join(root, method)
		t, err := glmc.NewTrainer(cfg, train, test, glmc.Options{Dir: dirs[i]})
		if err != nil {
			return dirs, err
		}
		if _, err := t.Run(context.Background()); err != nil {
			return dirs, err
		}
	}
	return dirs, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if dirs, err := testRuns(); err == nil {
		os.RemoveAll(filepath.Dir(dirs[0]))
	}
	os.Exit(code)
}

// readRuns reads the test runs, GLMC first.
func readRuns(t *testing.T) []Run {
	t.Helper()
	dirs, err := testRuns()
	if err != nil {
		t.Fatalf("making the runs: %v", err)
	}
	var runs []Run
	for _, dir := range dirs {
		r, notes, err := ReadRun(dir)
		if err != nil || len(notes) > 0 {
			t.Fatalf("ReadRun(%s): %v %q", dir, err, notes)
		}
		if len(r.Records) != epochs || r.State == nil {
			t.Fatalf("ReadRun(%s): %d records, state %v", dir, len(r.Records), r.State)
		}
		runs = append(runs, r)
	}
	return runs
}

// svgImage is what the tests read back from an SVG: its size in pixels,
// its paths and its texts.
type svgImage struct {
	width, height float64
	paths         []svgPath
	texts         []string
}

type svgPath struct {
	points int    // M and L commands of d: the vertices of a polyline or polygon
	arcs   int    // A commands of d: circles are drawn with them
	stroke string // stroke colour, "" for none
	fill   string // fill colour, "" for none
}

// parseSVG reads b as SVG, failing the test if it is not.
func parseSVG(t *testing.T, b []byte) svgImage {
	t.Helper()
	var im svgImage
	dec := xml.NewDecoder(bytes.NewReader(b))
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not SVG: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch el.Name.Local {
			case "svg":
				// Sizes are in points; 72 points are 96 pixels.
				w, err1 := strconv.ParseFloat(strings.TrimSuffix(attr["width"], "pt"), 64)
				h, err2 := strconv.ParseFloat(strings.TrimSuffix(attr["height"], "pt"), 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("svg size %q x %q", attr["width"], attr["height"])
				}
				im.width, im.height = w*96/72, h*96/72
			case "path":
				d := attr["d"]
				p := svgPath{points: strings.Count(d, "M") + strings.Count(d, "L"), arcs: strings.Count(d, "A")}
				for decl := range strings.SplitSeq(attr["style"], ";") {
					k, v, _ := strings.Cut(decl, ":")
					switch strings.TrimSpace(k) {
					case "stroke":
						p.stroke = v
					case "fill":
						p.fill = v
					}
				}
				if !strings.Contains(attr["style"], "fill:") {
					p.fill = "#000000" // the default, which the writer leaves out
				}
				if p.fill == "none" {
					p.fill = ""
				}
				im.paths = append(im.paths, p)
			case "text":
				inText = true
				im.texts = append(im.texts, "")
			}
		case xml.CharData:
			if inText {
				im.texts[len(im.texts)-1] += string(el)
			}
		case xml.EndElement:
			if el.Name.Local == "text" {
				inText = false
			}
		}
	}
	return im
}

// count returns how many paths keep.
func (im svgImage) count(keep func(svgPath) bool) int {
	n := 0
	for _, p := range im.paths {
		if keep(p) {
			n++
		}
	}
	return n
}

// checkSize fails unless the image is w×h pixels.
func (im svgImage) checkSize(t *testing.T, w, h int) {
	t.Helper()
	if int(im.width+0.5) != w || int(im.height+0.5) != h {
		t.Errorf("size %.1fx%.1f, want %dx%d", im.width, im.height, w, h)
	}
}

// hex is c as the SVG writes colours.
func hex(c color.Color) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02X%02X%02X", r>>8, g>>8, b>>8)
}

func render(t *testing.T, im Image, draw func(io.Writer, Image) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := draw(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestCurvesSeries overlays the two runs: each must have one curve of
// `epochs` points per series, in its own colour, and its label.
func TestCurvesSeries(t *testing.T) {
	runs := readRuns(t)
	for _, n := range runs[0].State.TrainCounts {
		if n > 100 {
			t.Fatalf("training counts %v: the test wants no many-shot class", runs[0].State.TrainCounts)
		}
	}
	// Metrics written before null existed hold 0 for a group without
	// classes: that must draw no curve either.
	runs[0].Records = slices.Clone(runs[0].Records)
	for i := range runs[0].Records {
		runs[0].Records[i].Many = glmc.GroupAccuracy{Valid: true}
	}
	labels := Labels(runs)
	if !slices.Equal(labels, []string{"method=glmc", "method=ce"}) {
		t.Errorf("labels %q, want method=glmc and method=ce", labels)
	}
	b := render(t, Image{Format: "svg", Width: 900, Height: 700}, func(w io.Writer, im Image) error { return Curves(w, im, runs, labels) })
	im := parseSVG(t, b)
	im.checkSize(t, 900, 700)
	// top-1, medium and few (no many-shot class), loss, lr, and α for
	// GLMC only.
	for i, want := range []int{6, 5} {
		got := im.count(func(p svgPath) bool { return p.stroke == hex(runColor(i)) && p.points == epochs })
		if got != want {
			t.Errorf("run %s: %d curves, want %d", labels[i], got, want)
		}
		if !slices.Contains(im.texts, labels[i]) {
			t.Errorf("no legend entry %q in %q", labels[i], im.texts)
		}
	}
	if slices.Contains(im.texts, "many") || !slices.Contains(im.texts, "few") {
		t.Errorf("legend %q: want few and not many, whose curves are not drawn", im.texts)
	}
}

// TestPNGSize checks that every plot decodes as a PNG of the size asked.
func TestPNGSize(t *testing.T) {
	runs := readRuns(t)
	names, err := data.ClassNames("synthetic", "")
	if err != nil {
		t.Fatal(err)
	}
	im := Image{Format: "png", Width: 640, Height: 480}
	for name, draw := range map[string]func(io.Writer, Image) error{
		"curves":    func(w io.Writer, im Image) error { return Curves(w, im, runs[:1], []string{"glmc"}) },
		"per_class": func(w io.Writer, im Image) error { return PerClass(w, im, runs[0], names) },
		"confusion": func(w io.Writer, im Image) error {
			return Confusion(w, im, "c", [][]int{{1, 0}, {2, 3}}, []string{"a", "b"})
		},
	} {
		img, err := png.Decode(bytes.NewReader(render(t, im, draw)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
			t.Errorf("%s: %v, want 640x480", name, b)
		}
	}
}

// TestPerClassBars counts the bars of each colour: one per class in the
// training-count panel (grey) and one per class of each shot group at the
// best epoch, plus the group's legend box; the last epoch's dots appear
// when the last epoch is not the best.
func TestPerClassBars(t *testing.T) {
	run := readRuns(t)[0]
	names, err := data.ClassNames("synthetic", "")
	if err != nil {
		t.Fatal(err)
	}
	classes := len(run.State.TrainCounts)
	var perGroup [3]int // by the thresholds of the official code: >100, 21..100, ≤20
	for _, n := range run.State.TrainCounts {
		switch {
		case n > 100:
			perGroup[0]++
		case n > 20:
			perGroup[1]++
		default:
			perGroup[2]++
		}
	}
	// Make the first epoch the best, so that the last one gets its dots.
	run.Records = slices.Clone(run.Records)
	run.Records[0].Top1 = 101
	b := render(t, Image{Format: "svg", Width: 1000, Height: 600}, func(w io.Writer, im Image) error { return PerClass(w, im, run, names) })
	im := parseSVG(t, b)
	im.checkSize(t, 1000, 600)
	for s, n := range perGroup {
		want := 0
		if n > 0 {
			want = n + 1 // and the legend's box
		}
		if got := im.count(func(p svgPath) bool { return p.fill == hex(shotColors[s]) && p.points == 4 }); got != want {
			t.Errorf("%s: %d bars, want %d", glmc.Shot(s), got, want)
		}
	}
	if got := im.count(func(p svgPath) bool { return p.fill == hex(color.Gray{Y: 0xa0}) && p.points == 4 }); got != classes {
		t.Errorf("%d training-count bars, want %d", got, classes)
	}
	if got := im.count(func(p svgPath) bool { return p.fill == "#000000" && p.arcs > 0 }); got != classes+1 {
		t.Errorf("%d last-epoch dots, want %d and the legend's", got, classes)
	}
	for _, name := range names {
		if !slices.Contains(im.texts, name) {
			t.Errorf("no tick label %q", name)
		}
	}
	if !slices.Contains(im.texts, fmt.Sprintf("last epoch %d", epochs)) {
		t.Errorf("no legend entry for the last epoch in %q", im.texts)
	}
}

// TestConfusionNormalisesRows checks the printed percentages of a small
// matrix (a class without samples prints none), and that past 99 classes
// no cell is labelled and only every k-th class is named.
func TestConfusionNormalisesRows(t *testing.T) {
	counts := [][]int{{2, 1, 1}, {0, 0, 0}, {0, 3, 1}}
	b := render(t, Image{Format: "svg", Width: 500, Height: 500}, func(w io.Writer, im Image) error {
		return Confusion(w, im, "test", counts, []string{"cat", "dog", "emu"})
	})
	im := parseSVG(t, b)
	im.checkSize(t, 500, 500)
	var cells []string
	for _, s := range im.texts {
		if _, err := strconv.Atoi(s); err == nil {
			cells = append(cells, s)
		}
	}
	if want := []string{"50", "25", "25", "0", "75", "25"}; !slices.Equal(cells, want) {
		t.Errorf("cells %q, want %q", cells, want)
	}

	const k = 120
	big := make([][]int, k)
	names := make([]string, k)
	for c := range big {
		big[c] = make([]int, k)
		big[c][c], big[c][(c+1)%k] = 3, 1
		names[c] = fmt.Sprintf("class-%d", c)
	}
	b = render(t, Image{Format: "svg", Width: 800, Height: 800}, func(w io.Writer, im Image) error {
		return Confusion(w, im, "test", big, names)
	})
	im = parseSVG(t, b)
	named := 0
	for _, s := range im.texts {
		if _, err := strconv.Atoi(s); err == nil {
			t.Fatalf("cell text %q with %d classes", s, k)
		}
		if strings.HasPrefix(s, "class-") {
			named++
		}
	}
	if want := 2 * 40; named != want { // every 3rd class on each axis
		t.Errorf("%d class names on the axes, want %d", named, want)
	}
}

// TestReadRunBadInput damages copies of a run folder: each case reads
// what is left, with a note, or fails with a message naming the folder.
func TestReadRunBadInput(t *testing.T) {
	dirs, err := testRuns()
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := os.ReadFile(filepath.Join(dirs[0], glmc.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		damage  func(dir string) error
		records int
		state   bool
		inNote  string // "" for no note
		inErr   string // "" for success
	}{
		{"intact", func(string) error { return nil }, epochs, true, "", ""},
		{"torn last line", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, glmc.MetricsFile), metrics[:len(metrics)-40], 0o644)
		}, epochs - 1, true, "line 3 is cut short", ""},
		{"garbage line", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, glmc.MetricsFile), append([]byte("{\"epoch\":\n"), metrics...), 0o644)
		}, 0, true, "line 1 is not a complete epoch record", ""},
		{"no checkpoint", func(dir string) error {
			for _, f := range []string{glmc.LastStateFile, glmc.LastFile, glmc.BestFile} {
				if err := os.Remove(filepath.Join(dir, f)); err != nil {
					return err
				}
			}
			return nil
		}, epochs, false, "no readable checkpoint", ""},
		{"only best.safetensors", func(dir string) error {
			if err := os.WriteFile(filepath.Join(dir, glmc.LastStateFile), []byte("{"), 0o644); err != nil {
				return err
			}
			return os.Remove(filepath.Join(dir, glmc.LastFile))
		}, epochs, true, "", ""},
		{"no metrics yet", func(dir string) error { return os.Remove(filepath.Join(dir, glmc.MetricsFile)) }, 0, true, "no metrics.jsonl", ""},
		{"empty folder", func(dir string) error {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
					return err
				}
			}
			return nil
		}, 0, false, "", "no finished epoch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.CopyFS(dir, os.DirFS(dirs[0])); err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(dir); err != nil {
				t.Fatal(err)
			}
			run, notes, err := ReadRun(dir)
			if tc.inErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.inErr) || !strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line naming %s and %q", err, dir, tc.inErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Records) != tc.records || (run.State != nil) != tc.state {
				t.Errorf("%d records, state %v; want %d, %v", len(run.Records), run.State != nil, tc.records, tc.state)
			}
			note := strings.Join(notes, "\n")
			if (tc.inNote == "") != (note == "") || !strings.Contains(note, tc.inNote) {
				t.Errorf("notes %q, want %q", notes, tc.inNote)
			}
		})
	}
}

// TestLabelsAndMixedDatasets names runs by their differing settings and
// notes runs of different datasets.
func TestLabelsAndMixedDatasets(t *testing.T) {
	runs := readRuns(t)
	other := runs[1]
	st := *other.State
	st.Config.Dataset, st.Config.LR = "cifar10", 0.1
	other.State = &st
	mixed := []Run{runs[0], other, {Dir: "/x/partial"}}
	if got, want := Labels(mixed), []string{"dataset=synthetic, method=glmc, lr=0.05", "dataset=cifar10, method=ce, lr=0.1", "partial"}; !slices.Equal(got, want) {
		t.Errorf("labels %q, want %q", got, want)
	}
	if got := Labels(runs[:1]); !slices.Equal(got, []string{"glmc"}) {
		t.Errorf("single run labelled %q, want its folder's name", got)
	}
	if n := MixedDatasets(mixed); !strings.Contains(n, "different datasets") || !strings.Contains(n, "cifar10") {
		t.Errorf("note %q", n)
	}
	if n := MixedDatasets(runs); n != "" {
		t.Errorf("one dataset: note %q", n)
	}
}
