package glmc_test

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/tensor"
)

func TestMixUp(t *testing.T) {
	x := tensor.FromSlice([]float32{1, 2, 3, 4}, 1, 1, 2, 2)
	xr := tensor.FromSlice([]float32{-1, 0, 10, 4}, 1, 1, 2, 2)
	keep := slices.Clone(x.Data)
	for _, c := range []struct {
		lambda float64
		want   []float32
	}{
		{1, []float32{1, 2, 3, 4}},
		{0, []float32{-1, 0, 10, 4}},
		{0.25, []float32{-0.5, 0.5, 8.25, 4}},
	} {
		got := glmc.MixUp(x, xr, c.lambda)
		if !slices.Equal(got.Data, c.want) || !slices.Equal(got.Shape, x.Shape) {
			t.Errorf("MixUp(λ=%v) = %v, want %v", c.lambda, got, c.want)
		}
	}
	if !slices.Equal(x.Data, keep) {
		t.Error("MixUp modified its input")
	}
}

func TestCutMix(t *testing.T) {
	const n, ch, h, w = 2, 3, 5, 4
	x, xr := tensor.New(n, ch, h, w), tensor.New(n, ch, h, w)
	for i := range x.Data {
		x.Data[i] = float32(i)
		xr.Data[i] = -float32(i) - 1
	}
	keep := slices.Clone(x.Data)
	box := glmc.Box{R0: 1, C0: 2, R1: 4, C1: 4}
	got := glmc.CutMix(x, xr, box)
	for i := range got.Data {
		r, c := i/w%h, i%w
		inside := r >= box.R0 && r < box.R1 && c >= box.C0 && c < box.C1
		want := x.Data[i]
		if inside {
			want = xr.Data[i]
		}
		if got.Data[i] != want {
			t.Fatalf("element %d (row %d, col %d, inside %v) = %v, want %v", i, r, c, inside, got.Data[i], want)
		}
	}
	if !slices.Equal(x.Data, keep) {
		t.Error("CutMix modified its input")
	}
	if empty := glmc.CutMix(x, xr, glmc.Box{R0: 2, C0: 3, R1: 2, C1: 3}); !slices.Equal(empty.Data, x.Data) {
		t.Error("an empty box changed the batch")
	}
	if whole := glmc.CutMix(x, xr, glmc.Box{R1: h, C1: w}); !slices.Equal(whole.Data, xr.Data) {
		t.Error("the whole-image box did not copy every pixel")
	}
}

func TestMixPanics(t *testing.T) {
	a, b := tensor.New(1, 1, 2, 2), tensor.New(1, 1, 2, 3)
	for name, f := range map[string]func(){
		"MixUp shapes":     func() { glmc.MixUp(a, b, 0.5) },
		"CutMix shapes":    func() { glmc.CutMix(a, b, glmc.Box{}) },
		"CutMix rank":      func() { glmc.CutMix(tensor.New(2, 2), tensor.New(2, 2), glmc.Box{}) },
		"CutMix box":       func() { glmc.CutMix(a, a, glmc.Box{R1: 3, C1: 1}) },
		"CutMix reversed":  func() { glmc.CutMix(a, a, glmc.Box{R0: 1, R1: 0}) },
		"SoftLabels sizes": func() { glmc.SoftLabels([]int{0}, []int{0, 1}, []float32{1, 1}, 0.5) },
		"SoftLabels range": func() { glmc.SoftLabels([]int{2}, []int{0}, []float32{1, 1}, 0.5) },
	} {
		assert.Panics(t, f, name)
	}
}

func TestLabelWeights(t *testing.T) {
	counts := []int{5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50}
	for _, tau := range []float64{0, 0.5, 1, 1.2, 2} {
		w, err := glmc.LabelWeights(counts, tau)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for c, v := range w {
			sum += float64(v)
			want := math.Pow(float64(counts[c]), -tau)
			ratio := float64(v) / float64(w[0]) / (want / math.Pow(float64(counts[0]), -tau))
			if math.Abs(ratio-1) > 1e-6 {
				t.Errorf("τ=%v: w[%d]/w[0] off by a factor %v from (n_0/n_c)^τ", tau, c, ratio)
			}
		}
		if math.Abs(sum-float64(len(counts))) > 1e-5 {
			t.Errorf("τ=%v: weights sum to %v, want %d", tau, sum, len(counts))
		}
		if tau == 0 && slices.ContainsFunc(w, func(v float32) bool { return v != 1 }) {
			t.Errorf("τ=0: weights %v, want all 1", w)
		}
	}
	for name, c := range map[string]struct {
		counts []int
		tau    float64
	}{
		"no classes":  {nil, 1},
		"empty class": {[]int{10, 0, 3}, 1},
		"NaN τ":       {[]int{10, 3}, math.NaN()},
		"infinite τ":  {[]int{10, 3}, math.Inf(1)},
	} {
		if _, err := glmc.LabelWeights(c.counts, c.tau); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSoftLabels(t *testing.T) {
	weights := []float32{0.5, 1, 1.5}
	const lambda = 0.3
	y, yr := []int{0, 2, 1}, []int{2, 2, 0}
	target, targetW := glmc.SoftLabels(y, yr, weights, lambda)
	if !slices.Equal(target.Shape, []int{3, 3}) || !slices.Equal(targetW.Shape, []int{3, 3}) {
		t.Fatalf("shapes %v, %v, want [3 3]", target.Shape, targetW.Shape)
	}
	l, m := float32(lambda), float32(1-lambda)
	want := []float32{
		l, 0, m,
		0, 0, l + m, // both labels 2: the row still sums to 1
		m, l, 0,
	}
	wantW := []float32{
		l * 0.5, 0, m * 1.5,
		0, 0, float32(l*1.5) + float32(m*1.5), // not renormalised: the row sums to w_2
		m * 0.5, l * 1, 0,
	}
	if !slices.Equal(target.Data, want) {
		t.Errorf("target = %v, want %v", target.Data, want)
	}
	if !slices.Equal(targetW.Data, wantW) {
		t.Errorf("targetW = %v, want %v", targetW.Data, wantW)
	}
	for n := range y {
		sum := 0.0
		for _, v := range target.Data[3*n : 3*n+3] {
			sum += float64(v)
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Errorf("row %d of target sums to %v", n, sum)
		}
	}
}
