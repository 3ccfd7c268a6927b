package autograd_test

import (
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
	"github.com/stretchr/testify/require"
)

// mlp is a 2-layer perceptron, logits = tanh(x·W1ᵀ + b1)·W2ᵀ + b2.
type mlp struct {
	w1, b1, w2, b2 *autograd.Var // (H, 2), (H), (2, H), (2)
}

func newMLP(seed uint64, hidden int) *mlp {
	r := tensor.NewRNG(seed)
	return &mlp{
		w1: autograd.Param(tensor.RandN(r, hidden, 2)),
		b1: autograd.Param(tensor.New(hidden)),
		w2: autograd.Param(tensor.MulScalar(tensor.RandN(r, 2, hidden), 0.5)),
		b2: autograd.Param(tensor.New(2)),
	}
}

func (m *mlp) params() []*autograd.Var { return []*autograd.Var{m.w1, m.b1, m.w2, m.b2} }

func (m *mlp) forward(x *autograd.Var) *autograd.Var {
	h := autograd.Tanh(autograd.Add(autograd.MatMulT(x, m.w1, false, true), m.b1))
	return autograd.Add(autograd.MatMulT(h, m.w2, false, true), m.b2)
}

// trainXOR fits XOR with plain gradient descent and returns the final loss.
func trainXOR(m *mlp, steps int) float32 {
	x := autograd.Const(tensor.FromSlice([]float32{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2))
	y := autograd.Const(tensor.FromSlice([]float32{1, 0, 0, 1, 0, 1, 1, 0}, 4, 2)) // one-hot XOR
	const lr = 0.5
	var loss float32
	for range steps {
		autograd.ZeroGrad(m.params()...)
		l := autograd.CrossEntropy(m.forward(x), y)
		l.Backward()
		loss = l.Item()
		for _, p := range m.params() {
			for i, g := range p.Grad.Data {
				p.Value.Data[i] -= lr * g
			}
		}
	}
	return loss
}

func TestMLPLearnsXOR(t *testing.T) {
	steps := 3000
	m := newMLP(1, 8)
	loss := trainXOR(m, steps)
	t.Logf("loss after %d steps: %g", steps, loss)
	require.Less(t, loss, float32(1e-3), "final loss")

	// Every point is classified right, with confidence.
	var logits *autograd.Var
	x := autograd.Const(tensor.FromSlice([]float32{0, 0, 0, 1, 1, 0, 1, 1}, 4, 2))
	autograd.NoGrad(m.params(), func() { logits = m.forward(x) })
	require.Equal(t, []int{0, 1, 1, 0}, tensor.ArgMax(logits.Value, 1))
	p := tensor.Softmax(logits.Value, 1)
	for i, c := range []int{0, 1, 1, 0} {
		require.Greater(t, p.Data[2*i+c], float32(0.98))
	}

	// Training is reproducible to the bit.
	again := newMLP(1, 8)
	require.Equal(t, loss, trainXOR(again, steps))
	for i, p := range m.params() {
		require.Equal(t, p.Value.Data, again.params()[i].Value.Data)
	}
}
