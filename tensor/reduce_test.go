package tensor

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// refReduce folds t over the axes marked in reduced with f, in float64.
func refReduce(t *Tensor, reduced []bool, init float64, f func(acc, v float64) float64) ([]int, []float64) {
	kept := make([]int, t.Dim())
	for i, d := range t.Shape {
		kept[i] = d
		if reduced[i] {
			kept[i] = 1
		}
	}
	out := make([]float64, numel(kept))
	for i := range out {
		out[i] = init
	}
	for i, v := range t.Data {
		o := flatIn(unravel(i, t.Shape), kept)
		out[o] = f(out[o], float64(v))
	}
	return kept, out
}

// axisSubsets lists every subset of the axes of a dim-dimensional tensor,
// each with a mask, with the empty subset written as "all axes".
func axisSubsets(dim int) (sets [][]int, masks [][]bool) {
	for m := 0; m < 1<<dim; m++ {
		var axes []int
		mask := make([]bool, dim)
		for a := range dim {
			if m>>a&1 == 1 || m == 0 {
				mask[a] = true
				if m != 0 {
					axes = append(axes, a)
				}
			}
		}
		sets, masks = append(sets, axes), append(masks, mask)
	}
	return sets, masks
}

func TestReduceAxes(t *testing.T) {
	ops := []struct {
		name string
		f    func(t *Tensor, keepdim bool, axes ...int) *Tensor
		init float64
		fold func(acc, v float64) float64
		mean bool
	}{
		{"SumAxes", SumAxes, 0, func(a, v float64) float64 { return a + v }, false},
		{"MeanAxes", MeanAxes, 0, func(a, v float64) float64 { return a + v }, true},
		{"MaxAxes", MaxAxes, math.Inf(-1), math.Max, false},
	}
	shapes := [][]int{{5}, {3, 4}, {2, 3, 4}, {3, 1, 5}, {2, 3, 2, 5}, {70, 33}}
	for _, op := range ops {
		for si, shape := range shapes {
			x := randT(uint64(si), shape...)
			sets, masks := axisSubsets(len(shape))
			for i, axes := range sets {
				for _, keep := range []bool{true, false} {
					t.Run(fmt.Sprintf("%s/%v/axes%v/keep=%v", op.name, shape, axes, keep), func(t *testing.T) {
						kept, want := refReduce(x, masks[i], op.init, op.fold)
						if op.mean {
							n := float64(x.Numel() / numel(kept))
							for j := range want {
								want[j] /= n
							}
						}
						shape := kept
						if !keep {
							shape = ReducedShape(x.Shape, false, axes...)
						}
						requireClose(t, op.f(x, keep, axes...), shape, want, 1e-5)
					})
				}
			}
		}
	}
}

func TestReduceNegativeAxes(t *testing.T) {
	x := randT(1, 2, 3, 4)
	requireEqual(t, SumAxes(x, false, 2, 0), SumAxes(x, false, -1, -3))
	requireEqual(t, MaxAxes(x, true, 1), MaxAxes(x, true, -2))
	requirePanic(t, "axis 3 out of range", func() { SumAxes(x, false, 3) })
	requirePanic(t, "repeated", func() { SumAxes(x, false, 1, -2) })
	requirePanic(t, "empty axis", func() { MaxAxes(New(2, 0), false, 1) })
	requireEqual(t, New(2, 1), SumAxes(New(2, 0), true, 1), "sum over an empty axis")
}

func TestReduceAll(t *testing.T) {
	x := randT(4, 3, 7)
	var s float64
	m := math.Inf(-1)
	for _, v := range x.Data {
		s += float64(v)
		m = math.Max(m, float64(v))
	}
	require.InDelta(t, s, float64(Sum(x)), 1e-5)
	require.InDelta(t, s/21, float64(Mean(x)), 1e-6)
	require.Equal(t, float32(m), Max(x))
	require.Equal(t, Sum(x), SumAxes(x, false).Data[0])
	require.Equal(t, []int{}, SumAxes(x, false).Shape)
	require.True(t, math.IsNaN(float64(Max(FromSlice([]float32{1, float32(math.NaN()), 3}, 3)))))
	requirePanic(t, "empty tensor", func() { Max(New(0)) })
}

func TestArgMax(t *testing.T) {
	x := randT(9, 3, 4, 5)
	for axis := range 3 {
		got := ArgMax(x, axis)
		outer, n, inner := splitAt(x.Shape, axis)
		require.Len(t, got, outer*inner)
		for o := range outer {
			for j := range inner {
				best := 0
				for i := range n {
					if x.Data[(o*n+i)*inner+j] > x.Data[(o*n+best)*inner+j] {
						best = i
					}
				}
				require.Equal(t, best, got[o*inner+j], "axis %d at (%d, %d)", axis, o, j)
			}
		}
	}
	nan := float32(math.NaN())
	ties := FromSlice([]float32{1, 3, 3, 0, 2, nan, 5, nan}, 2, 4)
	require.Equal(t, []int{1, 1}, ArgMax(ties, -1), "first of ties, first NaN")
	requirePanic(t, "is empty", func() { ArgMax(New(2, 0), 1) })
}

func TestSumToBroadcastToAdjoint(t *testing.T) {
	// <BroadcastTo(x), y> == <x, SumTo(y)> for every broadcast pair.
	for i, c := range broadcastCases {
		out := BroadcastShapes(c.a, c.b)
		x, y := randT(uint64(i), c.a...), randT(uint64(i+100), out...)
		bx := BroadcastTo(x, out...)
		_, want := refBinary(x, New(out...), func(v, _ float64) float64 { return v })
		requireClose(t, bx, out, want, 0)
		sy := SumTo(y, c.a...)
		require.True(t, slices.Equal(c.a, sy.Shape), "SumTo shape %v, want %v", sy.Shape, c.a)
		var l, r float64
		for j := range y.Data {
			l += float64(bx.Data[j]) * float64(y.Data[j])
		}
		for j := range x.Data {
			r += float64(x.Data[j]) * float64(sy.Data[j])
		}
		require.InDelta(t, l, r, 1e-4*(1+math.Abs(l)), "case %v→%v", c.a, out)
	}
	requirePanic(t, "broadcast", func() { SumTo(New(2, 3), 3, 1) })
	requirePanic(t, "broadcast", func() { BroadcastTo(New(2, 3), 3, 3) })
}
