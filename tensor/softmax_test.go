package tensor

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// refSoftmax computes softmax or log-softmax along axis in float64.
func refSoftmax(t *Tensor, axis int, log bool) []float64 {
	outer, n, inner := splitAt(t.Shape, axis)
	out := make([]float64, t.Numel())
	for o := range outer {
		for j := range inner {
			at := func(i int) int { return (o*n+i)*inner + j }
			m := math.Inf(-1)
			for i := range n {
				m = math.Max(m, float64(t.Data[at(i)]))
			}
			var s float64
			for i := range n {
				s += math.Exp(float64(t.Data[at(i)]) - m)
			}
			for i := range n {
				v := float64(t.Data[at(i)]) - m - math.Log(s)
				if !log {
					v = math.Exp(v)
				}
				out[at(i)] = v
			}
		}
	}
	return out
}

func TestSoftmax(t *testing.T) {
	for _, shape := range [][]int{{7}, {3, 4}, {2, 3, 4}, {2, 1, 5}} {
		x := MulScalar(randT(uint64(len(shape)), shape...), 5)
		for axis := range shape {
			for _, log := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/axis%d/log=%v", shape, axis, log), func(t *testing.T) {
					f := Softmax
					if log {
						f = LogSoftmax
					}
					requireClose(t, f(x, axis), shape, refSoftmax(x, axis, log), 1e-6)
					requireEqual(t, f(x, axis), f(x, axis-len(shape)), "negative axis")
				})
			}
		}
	}
}

func TestSoftmaxExtremes(t *testing.T) {
	inf := float32(math.Inf(1))
	x := FromSlice([]float32{1000, 1001, 999, -inf, 0, -inf}, 2, 3)
	s, ls := Softmax(x, 1), LogSoftmax(x, 1)
	requireClose(t, s, x.Shape, refSoftmax(x, 1, false), 1e-6)
	require.Equal(t, float32(0), s.Data[3], "exp(-Inf) is 0")
	require.Equal(t, float32(1), s.Data[4])
	require.InDelta(t, -1.4076, ls.Data[0], 1e-4, "large logits stay finite")
	require.True(t, math.IsInf(float64(ls.Data[3]), -1))
	allInf := Softmax(Full(-inf, 1, 3), 1)
	require.True(t, math.IsNaN(float64(allInf.Data[0])), "softmax of all -Inf is NaN, as in PyTorch")
}
