package glmc

import (
	"fmt"
	"slices"
	"testing"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/internal/disttest"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// shardPair returns rows [lo, hi) of every batch of p.
func shardPair(p Pair, lo, hi int) Pair {
	rows := func(x *tensor.Tensor) *tensor.Tensor { return tensor.Narrow(x, 0, lo, hi-lo) }
	return Pair{X1: rows(p.X1), X2: rows(p.X2), XR1: rows(p.XR1), XR2: rows(p.XR2), Y: p.Y[lo:hi], YR: p.YR[lo:hi]}
}

// stepPair is the random global batch of 7 images of step s.
func stepPair(s int) Pair {
	r := tensor.NewRNG(3, uint64(s))
	x := func() *tensor.Tensor { return tensor.RandN(r, 7, 3, 8, 8) }
	y := func() []int {
		out := make([]int, 7)
		for i := range out {
			out[i] = r.Intn(3)
		}
		return out
	}
	return Pair{X1: x(), X2: x(), XR1: x(), XR2: x(), Y: y(), YR: y()}
}

// TestLearnerGroupStepsMatchWholeBatch takes two GLMC steps and a CE step
// on a global batch of 7 with 1 learner and with 2, 3 and 4 replicas
// (synchronised batch norm, shards of 3/4, 2/2/3 and 1/2/2/2 images).
// After every step the replicas must hold the same bits, and those must be
// the single learner's weights, buffers, momentum and loss within the
// parity tolerance.
func TestLearnerGroupStepsMatchWholeBatch(t *testing.T) {
	const steps = 3
	step := func(l *Learner, s int, p Pair) float32 {
		t.Helper()
		var loss float32
		var err error
		if s < 2 {
			var terms Terms
			terms, err = l.GLMCStep(p, Draw(1, 0, s, 8, 8), 0.5)
			loss = terms.Total.Value.Data[0]
		} else {
			loss, err = l.CEStep(p.X1, p.Y)
		}
		if err != nil {
			t.Errorf("step %d: %v", s, err)
		}
		return loss
	}
	snapshot := func(l *Learner, loss float32) map[string][]float32 {
		out := map[string][]float32{"loss": {loss}}
		for _, e := range nn.StateDict(l.Model) {
			if tt := e.Tensor(); tt != nil {
				out[e.Name] = slices.Clone(tt.Data)
			}
		}
		for k, v := range l.Opt.State() {
			out[k] = slices.Clone(v.Data)
		}
		return out
	}
	whole := tinyLearner(t)
	var want []map[string][]float32
	for s := range steps {
		want = append(want, snapshot(whole, step(whole, s, stepPair(s))))
	}
	for p := 2; p <= 4; p++ {
		t.Run(fmt.Sprintf("P=%d", p), func(t *testing.T) {
			groups := disttest.Join(t, p)
			got := make([][]map[string][]float32, p)
			errs := disttest.OnEach(p, func(r int) error {
				l := tinyLearner(t)
				l.Group = groups[r]
				l.Model.SetReducer(groups[r])
				for s := range steps {
					lo, hi := data.Shard(7, r, p)
					got[r] = append(got[r], snapshot(l, step(l, s, shardPair(stepPair(s), lo, hi))))
				}
				return nil
			})
			for r, err := range errs {
				if err != nil {
					t.Fatalf("rank %d: %v", r, err)
				}
			}
			for s := range steps {
				for name, v := range got[0][s] {
					for r := 1; r < p; r++ {
						if !slices.Equal(got[r][s][name], v) {
							t.Errorf("step %d: rank %d's %s differs from rank 0's", s, r, name)
						}
					}
					golden.Compare(t, fmt.Sprintf("step %d %s", s, name), v, want[s][name])
				}
			}
		})
	}
}
