package tensor

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPermute(t *testing.T) {
	x := randT(1, 2, 3, 4)
	perms := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, p := range perms {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			got := Permute(x, p...)
			shape := []int{x.Shape[p[0]], x.Shape[p[1]], x.Shape[p[2]]}
			want := make([]float64, x.Numel())
			for i := range want {
				o := unravel(i, shape)
				var src [3]int
				for d := range 3 {
					src[p[d]] = o[d]
				}
				want[i] = float64(x.Data[(src[0]*3+src[1])*4+src[2]])
			}
			requireClose(t, got, shape, want, 0)
			requireEqual(t, x, Permute(got, InversePerm(p)...), "inverse permutation")
		})
	}
	requireEqual(t, Permute(x, 0, 2, 1), Transpose(x, 1, -1))
	requirePanic(t, "not a permutation", func() { Permute(x, 0, 1, 1) })
	requirePanic(t, "3 dimensions", func() { Permute(x, 0, 1) })
}

// boxRef returns the value of out at multi-index o for a box copy: src is
// read at o - dstAt + srcAt when that lies inside the box, else 0.
func boxRef(src *Tensor, outShape, dstAt, srcAt, size []int) []float64 {
	want := make([]float64, numel(outShape))
	for i := range want {
		o := unravel(i, outShape)
		s := make([]int, len(o))
		inside := true
		for d := range o {
			r := o[d] - dstAt[d]
			inside = inside && r >= 0 && r < size[d]
			s[d] = r + srcAt[d]
		}
		if inside {
			f := 0
			for d, e := range src.Shape {
				f = f*e + s[d]
			}
			want[i] = float64(src.Data[f])
		}
	}
	return want
}

func TestCropNarrowPad(t *testing.T) {
	x := randT(2, 3, 4, 5)
	zero := []int{0, 0, 0}
	t.Run("Crop", func(t *testing.T) {
		start, size := []int{1, 0, 2}, []int{2, 3, 3}
		requireClose(t, Crop(x, start, size), size, boxRef(x, size, zero, start, size), 0)
		requirePanic(t, "does not fit", func() { Crop(x, []int{2, 0, 0}, []int{2, 1, 1}) })
	})
	for axis := range 3 {
		t.Run(fmt.Sprintf("Narrow%d", axis), func(t *testing.T) {
			start, size := make([]int, 3), append([]int(nil), x.Shape...)
			start[axis], size[axis] = 1, x.Shape[axis]-2
			requireClose(t, Narrow(x, axis, 1, size[axis]), size, boxRef(x, size, zero, start, size), 0)
		})
	}
	requirePanic(t, "out of range", func() { Narrow(x, 1, 3, 2) })
	t.Run("Pad", func(t *testing.T) {
		pads := [][2]int{{0, 1}, {2, 0}, {1, 3}}
		shape := []int{4, 6, 9}
		requireClose(t, Pad(x, pads), shape, boxRef(x, shape, []int{0, 2, 1}, zero, x.Shape), 0)
		requireEqual(t, x, Crop(Pad(x, pads), []int{0, 2, 1}, x.Shape), "crop undoes pad")
		requirePanic(t, "negative padding", func() { Pad(x, [][2]int{{0, 0}, {0, -1}, {0, 0}}) })
	})
}

func TestConcatStack(t *testing.T) {
	a, b, c := randT(1, 2, 3), randT(2, 2, 1), randT(3, 2, 4)
	got := Concat(1, a, b, c)
	require.Equal(t, []int{2, 8}, got.Shape)
	for i, part := range []*Tensor{a, b, c} {
		start := []int{0, []int{0, 3, 4}[i]}
		requireEqual(t, part, Crop(got, start, part.Shape), "part ", i)
	}
	requireEqual(t, Concat(0, Transpose(a, 0, 1), Transpose(b, 0, 1)), Transpose(Concat(-1, a, b), 0, 1))
	requirePanic(t, "does not match", func() { Concat(0, a, c) })

	x, y := randT(4, 2, 3), randT(5, 2, 3)
	for axis := range 3 {
		s := Stack(axis, x, y)
		require.Equal(t, 2, s.Shape[axis])
		requireEqual(t, x, Narrow(s, axis, 0, 1).Reshape(2, 3), "first of axis ", axis)
		requireEqual(t, y, Narrow(s, axis, 1, 1).Reshape(2, 3), "second of axis ", axis)
	}
	requireEqual(t, Stack(2, x, y), Stack(-1, x, y))
	requirePanic(t, "differ", func() { Stack(0, x, c) })
}

func TestIndexSelectAdd(t *testing.T) {
	x := randT(6, 4, 3, 2)
	idx := []int{2, 0, 2, 1}
	for axis := range 3 {
		t.Run(fmt.Sprint(axis), func(t *testing.T) {
			ids := idx[:min(4, x.Shape[axis]+1)]
			if axis == 2 {
				ids = []int{1, 1, 0}
			}
			got := IndexSelect(x, axis, ids)
			parts := make([]*Tensor, len(ids))
			for i, k := range ids {
				parts[i] = Narrow(x, axis, k, 1)
			}
			requireEqual(t, Concat(axis, parts...), got)

			// IndexAdd is the adjoint: <IndexSelect(x), y> == <x, IndexAdd(0, y)>.
			y := randT(7, got.Shape...)
			acc := ZerosLike(x)
			IndexAdd(acc, axis, ids, y)
			var l, r float64
			for i := range y.Data {
				l += float64(got.Data[i]) * float64(y.Data[i])
			}
			for i := range x.Data {
				r += float64(x.Data[i]) * float64(acc.Data[i])
			}
			require.InDelta(t, l, r, 1e-4)
		})
	}
	requirePanic(t, "out of range", func() { IndexSelect(x, 0, []int{4}) })
	requirePanic(t, "source", func() { IndexAdd(x, 0, []int{1}, New(2, 3, 2)) })
}
