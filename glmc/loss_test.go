package glmc_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

func TestAlpha(t *testing.T) {
	for _, c := range []struct {
		epoch, epochs int
		want          float64
	}{
		{0, 200, 1},
		{100, 200, 0.75},
		{199, 200, 1 - 0.995*0.995},
		{37, 50, 1 - 0.74*0.74},
		{0, 1, 1},
	} {
		if got := glmc.Alpha(c.epoch, c.epochs); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("Alpha(%d, %d) = %v, want %v", c.epoch, c.epochs, got, c.want)
		}
	}
	for _, c := range [][2]int{{-1, 10}, {10, 10}, {0, 0}} {
		assert.Panics(t, func() { glmc.Alpha(c[0], c[1]) }, "Alpha(%d, %d)", c[0], c[1])
	}
}

// lossRef is the GLMC loss in float64 straight from its definition.
func lossRef(mix, cut [4][][]float64, target, targetW [][]float64, alpha, gamma float64) float64 {
	ce := func(logits, t [][]float64) float64 {
		s := 0.0
		for n, row := range logits {
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, v)
			}
			lse := 0.0
			for _, v := range row {
				lse += math.Exp(v - m)
			}
			lse = m + math.Log(lse)
			for c, v := range row {
				s -= t[n][c] * (v - lse)
			}
		}
		return s / float64(len(logits))
	}
	cos := func(p, z [][]float64) float64 {
		s := 0.0
		for n := range p {
			var dot, pp, zz float64
			for i := range p[n] {
				dot += p[n][i] * z[n][i]
				pp += p[n][i] * p[n][i]
				zz += z[n][i] * z[n][i]
			}
			s += dot / math.Sqrt(pp) / math.Sqrt(zz)
		}
		return s / float64(len(p))
	}
	const fc, fccb, z, p = 0, 1, 2, 3
	return alpha*(ce(mix[fc], target)+ce(cut[fc], target)) +
		(1-alpha)*(ce(mix[fccb], targetW)+ce(cut[fccb], targetW)) +
		gamma*(-cos(mix[p], cut[z])-cos(cut[p], mix[z]))
}

func randomRows(r *tensor.RNG, n, k int) [][]float64 {
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, k)
		for j := range rows[i] {
			rows[i][j] = float64(float32(2 * r.Normal()))
		}
	}
	return rows
}

func asTensor(rows [][]float64) *tensor.Tensor {
	t := tensor.New(len(rows), len(rows[0]))
	for i, row := range rows {
		for j, v := range row {
			t.Data[i*len(row)+j] = float32(v)
		}
	}
	return t
}

// TestLossDefinition checks Loss against the float64 formula on random
// heads, including the pairing of the SimSiam terms (each pass's p against
// the other pass's z), and that the stop-gradient keeps every gradient
// away from z.
func TestLossDefinition(t *testing.T) {
	const n, classes, hidden = 3, 4, 5
	r := tensor.NewRNG(9)
	var raw [2][4][][]float64 // pass, head (fc, fc_cb, z, p)
	var heads [2]nn.Outputs
	for pass := range raw {
		for h, width := range []int{classes, classes, hidden, hidden} {
			raw[pass][h] = randomRows(r, n, width)
		}
		v := func(h int) *autograd.Var { return autograd.Param(asTensor(raw[pass][h])) }
		heads[pass] = nn.Outputs{FC: v(0), FCCB: v(1), Z: v(2), P: v(3)}
	}
	target, targetW := glmc.SoftLabels([]int{0, 1, 3}, []int{2, 1, 0}, []float32{0.2, 0.7, 1.1, 2}, 0.4)
	toRows := func(t *tensor.Tensor) [][]float64 {
		rows := make([][]float64, t.Shape[0])
		for i := range rows {
			for _, v := range t.Data[i*t.Shape[1] : (i+1)*t.Shape[1]] {
				rows[i] = append(rows[i], float64(v))
			}
		}
		return rows
	}
	const alpha, gamma = 0.3, 1.5
	terms := glmc.Loss(heads[0], heads[1], target, targetW, alpha, gamma)
	want := lossRef(raw[0], raw[1], toRows(target), toRows(targetW), alpha, gamma)
	if got := float64(terms.Total.Item()); math.Abs(got-want) > 1e-5*math.Abs(want) {
		t.Errorf("total %v, float64 formula %v", got, want)
	}
	parts := float64(alpha*(terms.Mix.Item()+terms.Cut.Item()) + (1-alpha)*(terms.MixW.Item()+terms.CutW.Item()) +
		gamma*terms.Consistency.Item())
	if math.Abs(parts-want) > 1e-5*math.Abs(want) {
		t.Errorf("weighted parts sum to %v, want %v", parts, want)
	}
	terms.Total.Backward()
	for pass, h := range heads {
		if h.Z.Grad != nil {
			t.Errorf("pass %d: z has a gradient", pass)
		}
		for _, v := range []*autograd.Var{h.FC, h.FCCB, h.P} {
			if v.Grad == nil {
				t.Errorf("pass %d: a head other than z has no gradient", pass)
			}
		}
	}
}

func ExampleLoss() {
	// Two passes of one sample, two classes, 2-d projections.
	v := func(x ...float32) *autograd.Var { return autograd.Param(tensor.FromSlice(x, 1, len(x))) }
	mix := nn.Outputs{FC: v(2, 0), FCCB: v(0, 1), Z: v(1, 0), P: v(1, 0)}
	cut := nn.Outputs{FC: v(1, 1), FCCB: v(0, 0), Z: v(0, 1), P: v(1, 1)}
	target, targetW := glmc.SoftLabels([]int{0}, []int{1}, []float32{0.5, 1.5}, 0.75)
	terms := glmc.Loss(mix, cut, target, targetW, glmc.Alpha(0, 200), 1)
	fmt.Printf("mix %.4f cut %.4f consistency %.4f total %.4f\n",
		terms.Mix.Item(), terms.Cut.Item(), terms.Consistency.Item(), terms.Total.Item())
	// Output: mix 0.6269 cut 0.6931 consistency -0.7071 total 0.6130
}
