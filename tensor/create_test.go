package tensor

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestArange(t *testing.T) {
	cases := []struct {
		start, end, step float64
		want             []float32
	}{
		{0, 5, 1, []float32{0, 1, 2, 3, 4}},
		{1, 2, 0.25, []float32{1, 1.25, 1.5, 1.75}},
		{0, 1, 0.3, []float32{0, 0.3, 0.6, 0.90000004}},
		{3, 0, -1, []float32{3, 2, 1}},
		{2, 2, 1, []float32{}},
	}
	for _, c := range cases {
		got := Arange(c.start, c.end, c.step)
		require.Equal(t, []int{len(c.want)}, got.Shape, "Arange(%v, %v, %v)", c.start, c.end, c.step)
		require.InDeltaSlice(t, c.want, got.Data, 1e-7, "Arange(%v, %v, %v)", c.start, c.end, c.step)
	}
	require.Panics(t, func() { Arange(0, 1, 0) })
	require.Panics(t, func() { Arange(0, 1, -1) })
}

func TestCreation(t *testing.T) {
	x := randT(1, 2, 3)
	requireEqual(t, New(2, 3), ZerosLike(x))
	requireEqual(t, Full(1, 2, 3), OnesLike(x))
	requireEqual(t, Full(1, 4), Ones(4))
	requireEqual(t, RandN(NewRNG(1, 2), 3, 4), RandN(NewRNG(1, 2), 3, 4), "RandN is reproducible")
	u := RandU(NewRNG(2), -2, 3, 1000)
	requireEqual(t, u, RandU(NewRNG(2), -2, 3, 1000), "RandU is reproducible")
	for _, v := range u.Data {
		require.True(t, v >= -2 && v < 3, "RandU value %v outside [-2, 3)", v)
	}
	require.InDelta(t, 0.5, float64(Mean(u)), 0.3)
}
