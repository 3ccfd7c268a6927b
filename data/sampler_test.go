package data

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func indices(s []Sample) []int {
	out := make([]int, len(s))
	for i, x := range s {
		out[i] = x.Index
	}
	return out
}

func TestShuffleSampler(t *testing.T) {
	s := ShuffleSampler{N: 50, Seed: 1}
	e0, e1 := s.Epoch(0), s.Epoch(1)
	assert.Equal(t, e0, s.Epoch(0), "an epoch is a pure function of (seed, epoch)")
	assert.NotEqual(t, indices(e0), indices(e1))
	assert.NotEqual(t, indices(e0), indices(ShuffleSampler{N: 50, Seed: 2}.Epoch(0)))
	for _, e := range [][]Sample{e0, e1} {
		idx := indices(e)
		slices.Sort(idx)
		for i, v := range idx {
			require.Equal(t, i, v, "a permutation")
		}
		for i, x := range e {
			require.Equal(t, i, x.Key)
		}
	}
	assert.Equal(t, []Sample{{0, 0}, {1, 1}, {2, 2}}, SequentialSampler{3}.Epoch(7))
}

func TestWeightedSamplerFrequencies(t *testing.T) {
	// Classes of 400, 100, 25 and 0 images.
	var labels []int
	for c, n := range []int{400, 100, 25} {
		for range n {
			labels = append(labels, c)
		}
	}
	for _, tc := range []struct {
		q    float64
		want []float64 // n_c · n_c^−q, normalised
	}{
		{0, []float64{400.0 / 525, 100.0 / 525, 25.0 / 525, 0}},
		{1, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3, 0}},
		{0.5, []float64{20.0 / 35, 10.0 / 35, 5.0 / 35, 0}},
	} {
		s, err := NewWeightedSampler(labels, 4, tc.q, 9)
		require.NoError(t, err)
		assert.InDeltaSlice(t, tc.want, s.ClassProbabilities(), 1e-12, "q=%v", tc.q)
		assert.Equal(t, len(labels), s.Len())
		counts := make([]float64, 4)
		perImage := make([]int, len(labels))
		epochs := 40
		for e := range epochs {
			for i, x := range s.Epoch(e) {
				require.Equal(t, i, x.Key)
				counts[labels[x.Index]]++
				perImage[x.Index]++
			}
		}
		total := float64(epochs * len(labels))
		for c := range counts {
			// Binomial standard error is at most 0.5/sqrt(21000) ≈ 0.0035.
			assert.InDelta(t, tc.want[c], counts[c]/total, 0.015, "q=%v class %d", tc.q, c)
		}
		// Within a class the draw is uniform: the images of class 0
		// share its count evenly (each expects count/400 draws).
		var lo, hi int = math.MaxInt, 0
		for i := range 400 {
			lo, hi = min(lo, perImage[i]), max(hi, perImage[i])
		}
		mean := counts[0] / 400
		assert.Greater(t, float64(lo), mean-5*math.Sqrt(mean)-1)
		assert.Less(t, float64(hi), mean+5*math.Sqrt(mean)+1)
	}
	s, _ := NewWeightedSampler(labels, 4, 0.3, 9)
	assert.Equal(t, s.Epoch(3), s.Epoch(3))
	assert.NotEqual(t, s.Epoch(3), s.Epoch(4))

	_, err := NewWeightedSampler([]int{0, 5}, 4, 0, 0)
	assert.ErrorContains(t, err, "image 1: label 5 out of range 0..3")
	_, err = NewWeightedSampler([]int{0}, 1, math.NaN(), 0)
	assert.ErrorContains(t, err, "must be finite")
}

func TestShardedSamplerPartitionsEachEpoch(t *testing.T) {
	inner, err := NewWeightedSampler(cifarLikeLabels(103, 5), 5, 0.5, 3)
	require.NoError(t, err)
	for _, base := range []Sampler{ShuffleSampler{N: 103, Seed: 4}, inner} {
		full := base.Epoch(2)
		for world := 1; world <= 4; world++ {
			seen := make([]bool, len(full))
			total := 0
			for rank := range world {
				s, err := NewShardedSampler(base, rank, world)
				require.NoError(t, err)
				part := s.Epoch(2)
				require.Len(t, part, s.Len())
				total += len(part)
				for i, x := range part {
					// Local sample i is global position rank + i·world, key and all.
					require.Equal(t, full[rank+i*world], x)
					require.False(t, seen[x.Key], "position %d on two ranks", x.Key)
					seen[x.Key] = true
				}
			}
			assert.Equal(t, len(full), total, "world %d covers the epoch", world)
		}
	}
	_, err = NewShardedSampler(ShuffleSampler{N: 3}, 2, 2)
	assert.ErrorContains(t, err, "rank 2 of 2")
}
