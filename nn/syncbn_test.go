package nn_test

import (
	"fmt"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/internal/disttest"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// TestSyncBatchNormMatchesWholeBatch trains-mode forwards and back-propagates
// a batch of 7 through one model, and shards of it through 2 and 3
// replicas with synchronised batch norm (SetReducer), for an option-A
// resnet32 and an option-B resnet18 (batch norm in the shortcut). The
// replicas' features, stacked, their running statistics and their summed
// gradients must be the whole batch's within the parity tolerance.
func TestSyncBatchNormMatchesWholeBatch(t *testing.T) {
	const batch = 7
	for _, cfg := range []nn.Config{
		{Arch: "resnet32", NumClasses: 3, Width: 4, Blocks: []int{1, 1, 1}},
		{Arch: "resnet18", NumClasses: 3, Width: 4, Blocks: []int{1, 1, 1, 1}},
	} {
		newModel := func() *nn.Model {
			m, err := nn.NewModel(cfg, tensor.NewRNG(7))
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		x := tensor.RandN(tensor.NewRNG(8), batch, 3, 8, 8)
		whole := newModel()
		w := tensor.RandN(tensor.NewRNG(9), batch, whole.FeatureDim())
		// loss = Σ f·w, a sum over images, so the shards' gradients add up
		// to the whole batch's.
		pass := func(m *nn.Model, lo, hi int) *tensor.Tensor {
			f := m.Features(autograd.Const(tensor.Narrow(x, 0, lo, hi-lo)))
			autograd.Sum(autograd.Mul(f, autograd.Const(tensor.Narrow(w, 0, lo, hi-lo)))).Backward()
			return f.Value
		}
		want := pass(whole, 0, batch)
		for _, p := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/P=%d", cfg.Arch, p), func(t *testing.T) {
				groups := disttest.Join(t, p)
				models := make([]*nn.Model, p)
				feats := make([]*tensor.Tensor, p)
				grads := make([][]float32, p)
				errs := disttest.OnEach(p, func(r int) error {
					m := newModel()
					m.SetReducer(groups[r])
					lo, hi := data.Shard(batch, r, p)
					feats[r] = pass(m, lo, hi)
					for _, q := range m.Trunk.Parameters() {
						grads[r] = append(grads[r], q.Grad.Data...)
					}
					models[r] = m
					if err := m.ReducerErr(); err != nil {
						return err
					}
					return groups[r].AllReduceSum(grads[r])
				})
				for r, err := range errs {
					if err != nil {
						t.Fatalf("rank %d: %v", r, err)
					}
				}
				var stacked []float32
				for _, f := range feats {
					stacked = append(stacked, f.Data...)
				}
				golden.Compare(t, "features", stacked, want.Data)
				var wantGrads []float32
				for _, q := range whole.Trunk.Parameters() {
					wantGrads = append(wantGrads, q.Grad.Data...)
				}
				for r, m := range models {
					golden.Compare(t, fmt.Sprintf("rank %d gradients", r), grads[r], wantGrads)
					for i, e := range nn.StateDict(m) {
						if e.Buffer != nil {
							golden.Compare(t, fmt.Sprintf("rank %d %s", r, e.Name), e.Buffer.Data, nn.StateDict(whole)[i].Buffer.Data)
						}
					}
				}
			})
		}
	}
}
