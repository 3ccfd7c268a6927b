package glmc_test

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/tensor"
)

func TestShotOf(t *testing.T) {
	for n, want := range map[int]glmc.Shot{
		5000: glmc.Many, 101: glmc.Many, 100: glmc.Medium, 21: glmc.Medium, 20: glmc.Few, 1: glmc.Few, 0: glmc.Few,
	} {
		if got := glmc.ShotOf(n); got != want {
			t.Errorf("ShotOf(%d) = %v, want %v", n, got, want)
		}
	}
}

func mustAccumulator(t *testing.T, counts []int) *glmc.Accumulator {
	t.Helper()
	a, err := glmc.NewAccumulator(counts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAccumulatorTopK(t *testing.T) {
	// Seven classes; each row's true class has the rank given in the name.
	for _, c := range []struct {
		name       string
		row        []float32
		label      int
		top1, top5 bool
		pred       int // the confusion column: the first maximum
	}{
		{"first", []float32{0, 5, 1, 2, 3, 4, -1}, 1, true, true, 1},
		{"second", []float32{0, 5, 1, 2, 3, 4, -1}, 5, false, true, 1},
		{"fifth", []float32{0, 5, 1, 2, 3, 4, -1}, 2, false, true, 1},
		{"sixth", []float32{0, 5, 1, 2, 3, 4, -1}, 0, false, false, 1},
		{"last", []float32{0, 5, 1, 2, 3, 4, -1}, 6, false, false, 1},
		// Ties go to the lower class index, as torch.max's first maximum.
		{"tie, lower index", []float32{1, 3, 3, 0, 0, 0, 0}, 1, true, true, 1},
		{"tie, higher index", []float32{1, 3, 3, 0, 0, 0, 0}, 2, false, true, 1},
		{"all equal, index 4", []float32{7, 7, 7, 7, 7, 7, 7}, 4, false, true, 0},
		{"all equal, index 5", []float32{7, 7, 7, 7, 7, 7, 7}, 5, false, false, 0},
		{"infinities", []float32{float32(math.Inf(1)), 0, 0, 0, 0, 0, float32(math.Inf(-1))}, 0, true, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := mustAccumulator(t, make([]int, 7))
			if err := a.Add(tensor.FromSlice(c.row, 1, 7), []int{c.label}); err != nil {
				t.Fatal(err)
			}
			r := a.Result()
			if (r.Top1 == 100) != c.top1 || (r.Top5 == 100) != c.top5 {
				t.Errorf("top1 %v%%, top5 %v%%, want right at top-1 %v, at top-5 %v", r.Top1, r.Top5, c.top1, c.top5)
			}
			if r.Confusion[c.label][c.pred] != 1 {
				t.Errorf("confusion row %v, want the sample in column %d", r.Confusion[c.label], c.pred)
			}
		})
	}
}

// With fewer than five classes top-5 is clamped to top-C: every sample is
// right.
func TestAccumulatorFewClasses(t *testing.T) {
	a := mustAccumulator(t, []int{10, 3, 1})
	logits := tensor.FromSlice([]float32{3, 2, 1, 3, 2, 1}, 2, 3)
	if err := a.Add(logits, []int{2, 0}); err != nil {
		t.Fatal(err)
	}
	if r := a.Result(); r.Top1 != 50 || r.Top5 != 100 {
		t.Errorf("top1 %v, top5 %v, want 50 and 100", r.Top1, r.Top5)
	}
}

func TestAccumulatorGroupsAndStreaming(t *testing.T) {
	// Classes 0, 1 many-shot; 2, 3 medium; 4 few; 5 few and never evaluated.
	counts := []int{500, 101, 100, 21, 20, 3}
	// Predictions by argmax; (label, predicted) per sample.
	samples := [][2]int{
		{0, 0}, {0, 0}, {0, 1}, {0, 0}, // class 0: 3 of 4
		{1, 1}, {1, 0}, // class 1: 1 of 2
		{2, 2},                 // class 2: 1 of 1
		{3, 0}, {3, 3}, {3, 1}, // class 3: 1 of 3
		{4, 0}, {4, 1}, // class 4: 0 of 2
	}
	logits := tensor.New(len(samples), len(counts))
	labels := make([]int, len(samples))
	for i, s := range samples {
		labels[i] = s[0]
		logits.Data[i*len(counts)+s[1]] = 1
	}
	whole := mustAccumulator(t, counts)
	if err := whole.Add(logits, labels); err != nil {
		t.Fatal(err)
	}
	r := whole.Result()
	want := glmc.Result{
		// A wrong sample's label ranks behind the prediction and the zeros
		// of lower index: 5th at worst here (label 4), so top-5 has all.
		Samples: 12, Top1: 100 * 6.0 / 12, Top5: 100,
		PerClass: []float64{75, 50, 100, 100.0 / 3, 0, 0},
		Support:  []int{4, 2, 1, 3, 2, 0},
		Many:     glmc.GroupAccuracy{Percent: 62.5, Valid: true},
		Medium:   glmc.GroupAccuracy{Percent: (100 + 100.0/3) / 2, Valid: true},
		// Every sample of the few class wrong: a valid 0, not none.
		Few:         glmc.GroupAccuracy{Percent: 0, Valid: true},
		ManyClasses: 2, MediumClasses: 2, FewClasses: 1,
		// The samples table, counted by (label, predicted).
		Confusion: [][]int{
			{3, 1, 0, 0, 0, 0},
			{1, 1, 0, 0, 0, 0},
			{0, 0, 1, 0, 0, 0},
			{1, 1, 0, 1, 0, 0},
			{1, 1, 0, 0, 0, 0},
			{0, 0, 0, 0, 0, 0},
		},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("result\n%+v\nwant\n%+v", r, want)
	}

	// Batch by batch, in uneven pieces, gives the same result.
	streamed := mustAccumulator(t, counts)
	for start := 0; start < len(samples); {
		end := min(start+1+start%4, len(samples))
		batch := tensor.FromSlice(logits.Data[start*len(counts):end*len(counts)], end-start, len(counts))
		if err := streamed.Add(batch, labels[start:end]); err != nil {
			t.Fatal(err)
		}
		start = end
	}
	if got := streamed.Result(); !reflect.DeepEqual(got, r) {
		t.Errorf("streamed %+v, whole %+v", got, r)
	}

	streamed.Reset()
	if got := streamed.Result(); got.Samples != 0 || got.Top1 != 0 || slices.ContainsFunc(got.Support, func(n int) bool { return n != 0 }) ||
		slices.ContainsFunc(got.Confusion, func(row []int) bool { return slices.ContainsFunc(row, func(n int) bool { return n != 0 }) }) {
		t.Errorf("after Reset: %+v", got)
	}
}

func TestAccumulatorErrors(t *testing.T) {
	if _, err := glmc.NewAccumulator(nil); err == nil {
		t.Error("NewAccumulator(nil): no error")
	}
	if _, err := glmc.NewAccumulator([]int{3, -1}); err == nil {
		t.Error("NewAccumulator with a negative count: no error")
	}
	a := mustAccumulator(t, []int{5, 5, 5})
	ok := tensor.FromSlice([]float32{1, 0, 0, 0, 1, 0}, 2, 3)
	nan := tensor.FromSlice([]float32{1, 0, 0, 0, float32(math.NaN()), 0}, 2, 3)
	for _, c := range []struct {
		name   string
		logits *tensor.Tensor
		labels []int
		msg    string
	}{
		{"classes", tensor.New(2, 4), []int{0, 1}, "want (N, 3)"},
		{"rank", tensor.New(6), []int{0, 1}, "want (N, 3)"},
		{"rows", ok, []int{0}, "2 rows of logits, 1 labels"},
		{"label", ok, []int{0, 3}, "sample 1: label 3"},
		{"negative label", ok, []int{-1, 0}, "sample 0: label -1"},
		{"NaN", nan, []int{0, 1}, "sample 1: logit of class 1 is NaN"},
	} {
		err := a.Add(c.logits, c.labels)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.msg)
		}
	}
	if r := a.Result(); r.Samples != 0 {
		t.Errorf("failed Adds counted %d samples", r.Samples)
	}
}

func TestResultJSON(t *testing.T) {
	a := mustAccumulator(t, []int{200, 50, 5})
	if err := a.Add(tensor.FromSlice([]float32{1, 0, 0}, 1, 3), []int{0}); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(a.Result())
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	// The names `glmc eval --json` promises (docs/formats.md).
	for _, key := range []string{"top1", "top5", "many", "medium", "few", "per_class"} {
		if _, ok := fields[key]; !ok {
			t.Errorf("JSON %s has no %q", b, key)
		}
	}
}

// TestEmptyGroups evaluates splits without a few (or many) class: those
// groups are none, JSON null and "–", while a group whose classes are all
// wrong is 0.
func TestEmptyGroups(t *testing.T) {
	// Two medium classes (class 1 always wrong) and one many class, no
	// few class.
	a := mustAccumulator(t, []int{500, 50, 30})
	if err := a.Add(tensor.FromSlice([]float32{1, 0, 0, 1, 0, 0, 0, 0, 1}, 3, 3), []int{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	r := a.Result()
	if want := (glmc.GroupAccuracy{Percent: 50, Valid: true}); r.Medium != want || r.Few.Valid || r.FewClasses != 0 {
		t.Errorf("medium %+v, few %+v (%d classes); want 50 and none", r.Medium, r.Few, r.FewClasses)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"many":100,"medium":50,"few":null`) {
		t.Errorf("JSON %s, want many 100, medium 50, few null", b)
	}

	// A class seen in training but not evaluated does not make a group.
	a = mustAccumulator(t, []int{5, 500})
	if err := a.Add(tensor.FromSlice([]float32{0, 1}, 1, 2), []int{1}); err != nil {
		t.Fatal(err)
	}
	if r := a.Result(); r.Few.Valid || r.FewClasses != 0 {
		t.Errorf("few %+v over %d classes, want none", r.Few, r.FewClasses)
	}
	// Nothing evaluated: no group at all.
	a.Reset()
	if r := a.Result(); r.Many.Valid {
		t.Errorf("after Reset: many %+v, want none", r.Many)
	}
}

func TestGroupAccuracyJSONAndString(t *testing.T) {
	for _, c := range []struct {
		g      glmc.GroupAccuracy
		json   string
		String string
	}{
		{glmc.GroupAccuracy{}, "null", "–"},
		{glmc.GroupAccuracy{Percent: 0, Valid: true}, "0", "0.00"},
		{glmc.GroupAccuracy{Percent: 100.0 / 3, Valid: true}, "33.333333333333336", "33.33"},
	} {
		b, err := json.Marshal(c.g)
		if err != nil || string(b) != c.json {
			t.Errorf("Marshal(%+v) = %s, %v; want %s", c.g, b, err, c.json)
		}
		var back glmc.GroupAccuracy
		if err := json.Unmarshal(b, &back); err != nil || back != c.g {
			t.Errorf("Unmarshal(%s) = %+v, %v; want %+v", b, back, err, c.g)
		}
		if s := c.g.String(); s != c.String {
			t.Errorf("%+v prints %q, want %q", c.g, s, c.String)
		}
	}
	// A field that is not a number or null is an error naming it.
	var g glmc.GroupAccuracy
	if err := json.Unmarshal([]byte(`"12"`), &g); err == nil || !strings.Contains(err.Error(), `"12"`) {
		t.Errorf(`Unmarshal("12"): error %v, want one quoting the value`, err)
	}
}

func ExampleAccumulator() {
	// Training counts decide the groups: 300 many, 40 medium, 8 few.
	acc, err := glmc.NewAccumulator([]int{300, 40, 8})
	if err != nil {
		panic(err)
	}
	// Two evaluation batches of logits (N, 3) and labels (N).
	batches := []struct {
		logits []float32
		labels []int
	}{
		{[]float32{2, 1, 0, 0, 2, 1}, []int{0, 1}},
		{[]float32{1, 0, 3, 2, 0, 1}, []int{2, 2}},
	}
	for _, b := range batches {
		if err := acc.Add(tensor.FromSlice(b.logits, len(b.labels), 3), b.labels); err != nil {
			panic(err)
		}
	}
	r := acc.Result()
	fmt.Printf("top1 %.1f many %v medium %v few %v per class %v\n", r.Top1, r.Many, r.Medium, r.Few, r.PerClass)
	// Output: top1 75.0 many 100.00 medium 100.00 few 50.00 per class [100 100 50]
}
