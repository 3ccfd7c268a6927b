package data

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSyntheticIsASeededFunction(t *testing.T) {
	cfg := SyntheticConfig{Seed: 4, TrainPerClass: 6, TestPerClass: 2}
	a, at, err := Synthetic(cfg)
	require.NoError(t, err)
	b, _, err := Synthetic(cfg)
	require.NoError(t, err)
	cfg.Seed = 5
	c, _, err := Synthetic(cfg)
	require.NoError(t, err)
	assert.Equal(t, a.Images, b.Images)
	assert.NotEqual(t, a.Images, c.Images)
	require.NoError(t, a.Validate())
	require.NoError(t, at.Validate())
	assert.Equal(t, 60, a.Len())
	assert.Equal(t, 20, at.Len())
	assert.Equal(t, [3]int{3, 32, 32}, [3]int{a.Channels, a.Height, a.Width})
	for _, n := range a.ClassCounts() {
		assert.Equal(t, 6, n)
	}
	assert.Equal(t, "square-0", a.Classes[1])
	assert.Equal(t, "disc-1", a.Classes[5])
	assert.NotEqual(t, a.Images[:a.ImageSize()], at.Images[:a.ImageSize()], "train and test images differ")

	_, _, err = Synthetic(SyntheticConfig{Classes: 1})
	assert.ErrorContains(t, err, "at least 2 classes")
}

// nearestCentroid is a plain pixel-space classifier: the accuracy it gets is
// a yardstick of how hard a dataset is.
func nearestCentroid(train, test *Dataset) float64 {
	size := train.ImageSize()
	counts := train.ClassCounts()
	cent := make([][]float64, len(train.Classes))
	for c := range cent {
		cent[c] = make([]float64, size)
	}
	for i, y := range train.Labels {
		for j, v := range train.Image(i) {
			cent[y][j] += float64(v) / float64(counts[y])
		}
	}
	right := 0
	for i, y := range test.Labels {
		best, bestD := -1, math.Inf(1)
		for c := range cent {
			d := 0.0
			for j, v := range test.Image(i) {
				e := float64(v) - cent[c][j]
				d += e * e
			}
			if d < bestD {
				best, bestD = c, d
			}
		}
		if best == y {
			right++
		}
	}
	return float64(right) / float64(test.Len())
}

func TestSyntheticIsLearnableButNotTrivial(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the default dataset")
	}
	train, test, err := Load("synthetic", "")
	require.NoError(t, err)
	assert.Equal(t, 5000, train.Len())
	assert.Equal(t, 1000, test.Len())
	// Chance is 10%. Class means alone get well above it, and well below
	// what a network that combines shape, colour and texture can reach.
	acc := nearestCentroid(train, test)
	t.Logf("nearest-centroid accuracy %.3f", acc)
	assert.Greater(t, acc, 0.2)
	assert.Less(t, acc, 0.5)

	// The normalisation constants are this split's statistics.
	in, err := Lookup("synthetic")
	require.NoError(t, err)
	plane := train.Height * train.Width
	for c := range 3 {
		var s, sq float64
		for i := range train.Len() {
			for _, v := range train.Image(i)[c*plane : (c+1)*plane] {
				x := float64(v) / 255
				s += x
				sq += x * x
			}
		}
		n := float64(train.Len() * plane)
		mean := s / n
		assert.InDelta(t, mean, float64(in.Mean[c]), 1e-4, "channel %d mean", c)
		assert.InDelta(t, math.Sqrt(sq/n-mean*mean), float64(in.Std[c]), 1e-4, "channel %d std", c)
	}
}
