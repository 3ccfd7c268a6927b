package glmc

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// Shot is a class's group by its number of training images, as in the
// official validate (and most long-tailed papers).
type Shot int

const (
	Many   Shot = iota // more than 100 training images
	Medium             // 21 to 100
	Few                // at most 20
)

// ShotOf returns the group of a class with n training images.
func ShotOf(n int) Shot {
	switch {
	case n > 100:
		return Many
	case n > 20:
		return Medium
	default:
		return Few
	}
}

// String returns "many", "medium" or "few".
func (s Shot) String() string {
	switch s {
	case Many:
		return "many"
	case Medium:
		return "medium"
	case Few:
		return "few"
	}
	return fmt.Sprintf("Shot(%d)", int(s))
}

// topK is the k of the top-k accuracy, as the official accuracy(topk=(1, 5)).
const topK = 5

// Accumulator gathers evaluation metrics batch by batch from logits and
// labels: per class, how many samples it saw and how many were right at
// top-1 and at top-5, and the confusion counts. It keeps counts only, no
// predictions, so memory does not grow with the test set (the C×C
// confusion counts are 8 MB at 1000 classes). The zero value is not
// usable; make one with NewAccumulator. It is not safe for concurrent use.
type Accumulator struct {
	trainCounts []int // (C) training images per class, for the shot groups
	seen        []int // (C) evaluated samples per true class
	hit1, hit5  []int // (C) of those, right at top-1 and at top-5
	confusion   []int // (C, C) samples per (true class, top-1 prediction)
}

// NewAccumulator returns an empty accumulator for classes whose training
// counts are trainCounts (one per class; they only decide the
// many/medium/few groups). An error reports no classes or a negative
// count.
func NewAccumulator(trainCounts []int) (*Accumulator, error) {
	if len(trainCounts) == 0 {
		return nil, fmt.Errorf("glmc: metrics: no classes")
	}
	for c, n := range trainCounts {
		if n < 0 {
			return nil, fmt.Errorf("glmc: metrics: class %d has %d training images", c, n)
		}
	}
	k := len(trainCounts)
	return &Accumulator{
		trainCounts: append([]int(nil), trainCounts...),
		seen:        make([]int, k), hit1: make([]int, k), hit5: make([]int, k),
		confusion: make([]int, k*k),
	}, nil
}

// Add scores one batch: logits (N, C) with C the number of classes, and
// the true labels (N). A sample is right at top-k when its class is among
// the k largest logits, ties going to the lower class index (so top-1 is
// the first maximum, as torch.max). With fewer than 5 classes top-5 counts
// the k = C largest, so every sample is right: the official code, whose
// torch.topk(5) fails there, is no guide. An error (shape, label out of
// range, NaN logit) leaves the accumulator unchanged.
func (a *Accumulator) Add(logits *tensor.Tensor, labels []int) error {
	classes := len(a.seen)
	if len(logits.Shape) != 2 || logits.Shape[1] != classes {
		return fmt.Errorf("glmc: metrics: logits of shape %v, want (N, %d)", logits.Shape, classes)
	}
	if logits.Shape[0] != len(labels) {
		return fmt.Errorf("glmc: metrics: %d rows of logits, %d labels", logits.Shape[0], len(labels))
	}
	for n, y := range labels {
		if y < 0 || y >= classes {
			return fmt.Errorf("glmc: metrics: sample %d: label %d outside [0, %d)", n, y, classes)
		}
		for c, v := range logits.Data[n*classes : (n+1)*classes] {
			if math.IsNaN(float64(v)) {
				return fmt.Errorf("glmc: metrics: sample %d: logit of class %d is NaN", n, c)
			}
		}
	}
	for n, y := range labels {
		row := logits.Data[n*classes : (n+1)*classes]
		// rank = how many classes come before y in the order "larger
		// logit first, lower index first among equals".
		rank, pred := 0, 0
		for c, v := range row {
			if v > row[y] || (v == row[y] && c < y) {
				rank++
			}
			if v > row[pred] {
				pred = c
			}
		}
		a.seen[y]++
		a.confusion[y*classes+pred]++
		if rank == 0 {
			a.hit1[y]++
		}
		if rank < topK {
			a.hit5[y]++
		}
	}
	return nil
}

// GroupAccuracy is the class-balanced top-1 accuracy of a many, medium or
// few group, or none for a group without an evaluated class (few at
// imbalance factor 10, say). None is JSON null and prints as "–": a 0
// would read as every class of the group wrong.
type GroupAccuracy struct {
	Percent float64 // the mean, 0 when !Valid
	Valid   bool    // whether the group had a class to average
}

// noGroup is how a GroupAccuracy without a group prints.
const noGroup = "–"

// String is the percentage with two decimals, or "–" for none.
func (g GroupAccuracy) String() string {
	if !g.Valid {
		return noGroup
	}
	return strconv.FormatFloat(g.Percent, 'f', 2, 64)
}

// MarshalJSON writes the percentage, or null for none.
func (g GroupAccuracy) MarshalJSON() ([]byte, error) {
	if !g.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(g.Percent)
}

// UnmarshalJSON reads a percentage or null. Files written before null
// existed hold 0 for an empty group, which reads as a valid 0.
func (g *GroupAccuracy) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*g = GroupAccuracy{}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("glmc: group accuracy %s: want a number or null", b)
	}
	*g = GroupAccuracy{Percent: v, Valid: true}
	return nil
}

// Result is the metrics of everything added so far. Accuracies are
// percentages. The JSON names are those of `glmc eval --json`.
type Result struct {
	Samples int     `json:"samples"`
	Top1    float64 `json:"top1"` // percent of samples right at top-1
	Top5    float64 `json:"top5"` // percent of samples right at top-5
	// PerClass is each class's top-1 accuracy, 0 for a class without
	// evaluated samples (Support tells them apart).
	PerClass []float64 `json:"per_class"`
	Support  []int     `json:"support"` // evaluated samples per class
	// Many, Medium and Few are the means of PerClass over the classes of
	// each group that have evaluated samples (the official validate's
	// class-balanced averages), none (JSON null) for a group without such
	// classes.
	Many   GroupAccuracy `json:"many"`
	Medium GroupAccuracy `json:"medium"`
	Few    GroupAccuracy `json:"few"`
	// ManyClasses, MediumClasses and FewClasses count the classes behind
	// each of those means.
	ManyClasses   int `json:"many_classes"`
	MediumClasses int `json:"medium_classes"`
	FewClasses    int `json:"few_classes"`
	// Confusion counts the samples of each true class (row) by their
	// top-1 prediction (column).
	Confusion [][]int `json:"confusion"`
}

// Result returns the metrics so far. With no samples at all Top1 and Top5
// are 0 and every group is none.
func (a *Accumulator) Result() Result {
	k := len(a.seen)
	r := Result{PerClass: make([]float64, k), Support: append([]int(nil), a.seen...), Confusion: make([][]int, k)}
	for c := range k {
		r.Confusion[c] = append([]int(nil), a.confusion[c*k:(c+1)*k]...)
	}
	var hit1, hit5 int
	var sums [3]float64 // per Shot
	var groups [3]int   // per Shot
	for c, n := range a.seen {
		r.Samples += n
		hit1 += a.hit1[c]
		hit5 += a.hit5[c]
		if n == 0 {
			continue
		}
		r.PerClass[c] = 100 * float64(a.hit1[c]) / float64(n)
		s := ShotOf(a.trainCounts[c])
		sums[s] += r.PerClass[c]
		groups[s]++
	}
	if r.Samples > 0 {
		r.Top1 = 100 * float64(hit1) / float64(r.Samples)
		r.Top5 = 100 * float64(hit5) / float64(r.Samples)
	}
	var means [3]GroupAccuracy
	for s, k := range groups {
		if k > 0 {
			means[s] = GroupAccuracy{Percent: sums[s] / float64(k), Valid: true}
		}
	}
	r.Many, r.Medium, r.Few = means[Many], means[Medium], means[Few]
	r.ManyClasses, r.MediumClasses, r.FewClasses = groups[Many], groups[Medium], groups[Few]
	return r
}

// Reset forgets every sample added, for the next evaluation.
func (a *Accumulator) Reset() {
	clear(a.seen)
	clear(a.hit1)
	clear(a.hit5)
	clear(a.confusion)
}

// Evaluate scores the fc_cb logits of m in eval mode on every batch of
// loader (its epoch 0), without recording gradients; trainCounts (one per
// class) decide the many/medium/few groups. It leaves m in eval mode.
func Evaluate(m *nn.Model, loader *data.Loader, trainCounts []int) (Result, error) {
	acc, err := NewAccumulator(trainCounts)
	if err != nil {
		return Result{}, err
	}
	m.Train(false)
	a := tensor.NewArena() // every batch's pass reuses the storage of the first
	defer a.Free()
	for b := range loader.Batches(0, 0) {
		if err = b.Err; err != nil {
			break
		}
		if err = acc.Add(m.Infer(a, b.Views[0]), b.Labels); err != nil {
			err = fmt.Errorf("%w (evaluation batch %d)", err, b.Index)
			break
		}
	}
	return acc.Result(), err
}
