package data

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

func TestLongTailCountsMatchOfficial(t *testing.T) {
	// Lists printed by the official formula in Python:
	// [int(n * (1/IF) ** (i / (C-1))) for i in range(C)].
	assert.Equal(t, []int{5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50}, LongTailCounts(5000, 10, 100))
	assert.Equal(t, []int{6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60}, LongTailCounts(6000, 10, 100))
	cifar100 := []int{500, 477, 455, 434, 415, 396, 378, 361, 344, 328, 314, 299, 286, 273, 260, 248, 237, 226, 216, 206,
		197, 188, 179, 171, 163, 156, 149, 142, 135, 129, 123, 118, 112, 107, 102, 98, 93, 89, 85, 81, 77, 74, 70, 67, 64,
		61, 58, 56, 53, 51, 48, 46, 44, 42, 40, 38, 36, 35, 33, 32, 30, 29, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
		15, 15, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8, 7, 7, 7, 6, 6, 6, 6, 5, 5, 5, 5}
	assert.Equal(t, cifar100, LongTailCounts(500, 100, 100))
	for _, tc := range []struct {
		nMax, classes int
		factor        float64
		total         int
	}{
		{5000, 10, 100, 12406}, {5000, 10, 50, 13996}, {5000, 10, 10, 20431}, {5000, 10, 1, 50000},
		{500, 100, 100, 10847}, {500, 100, 50, 12608}, {500, 100, 10, 19573},
	} {
		assert.Equal(t, tc.total, sum(LongTailCounts(tc.nMax, tc.classes, tc.factor)), "%+v", tc)
	}
	assert.Panics(t, func() { LongTailCounts(10, 10, 0.5) })
	assert.Panics(t, func() { LongTailCounts(10, 1, 10) })
}

// cifarLikeLabels returns labels i mod classes for n images: class c's j-th
// image is then image j·classes + c, which makes expected indices easy to
// write from numpy's permutations.
func cifarLikeLabels(n, classes int) []int {
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % classes
	}
	return labels
}

func TestLongTailIndicesAreTheOfficialSelection(t *testing.T) {
	// numpy 1.24: np.random.seed(3407); then for each class in order
	// idx = np.random.choice(5000, count, replace=False); printed: the
	// first five and last three of idx and its sum.
	want := []struct {
		first, last []int
		sum         int
	}{
		{[]int{3855, 4849, 4388, 2008, 3828}, []int{2515, 4676, 3435}, 12497500},
		{[]int{4735, 4972, 3273, 1242, 2080}, []int{369, 4456, 3266}, 7681120},
		{[]int{303, 3964, 2249, 564, 282}, []int{4796, 3592, 1799}, 4475107},
		{[]int{4323, 3089, 2762, 3624, 674}, []int{2822, 558, 611}, 2714336},
		{[]int{2762, 2442, 2729, 1956, 1405}, []int{1662, 1321, 4209}, 1632062},
		{[]int{379, 339, 4306, 4498, 2870}, []int{83, 3610, 1552}, 952531},
		{[]int{2059, 3715, 3324, 3794, 1652}, []int{4125, 1011, 2103}, 538191},
		{[]int{4514, 656, 2492, 3738, 3148}, []int{305, 1913, 3119}, 339833},
		{[]int{365, 3123, 1411, 3764, 1393}, []int{1530, 1503, 4905}, 198364},
		{[]int{1252, 1985, 4774, 3599, 4462}, []int{1292, 971, 1320}, 110913},
	}
	keep, err := LongTailIndices(cifarLikeLabels(50000, 10), 10, 100, 3407)
	require.NoError(t, err)
	require.Len(t, keep, 12406)
	counts := LongTailCounts(5000, 10, 100)
	at := 0
	for c, w := range want {
		part := keep[at : at+counts[c]]
		at += counts[c]
		pos := make([]int, len(part)) // position within the class
		s := 0
		for i, idx := range part {
			require.Equal(t, c, idx%10, "class-major order")
			pos[i] = idx / 10
			s += pos[i]
		}
		assert.Equal(t, w.first, pos[:5], "class %d", c)
		assert.Equal(t, w.last, pos[len(pos)-3:], "class %d", c)
		assert.Equal(t, w.sum, s, "class %d", c)
	}
}

func TestLongTailDrawsWithoutReplacementAndRepeats(t *testing.T) {
	// Two-byte images holding their own index.
	d := &Dataset{Name: "toy", Channels: 2, Height: 1, Width: 1, Classes: classNames("c", 4)}
	for i := range 400 {
		d.Labels = append(d.Labels, (i*7)%4)
		d.Images = append(d.Images, uint8(i>>8), uint8(i))
	}
	a, err := LongTail(d, 10, 1)
	require.NoError(t, err)
	b, err := LongTail(d, 10, 1)
	require.NoError(t, err)
	c, err := LongTail(d, 10, 2)
	require.NoError(t, err)

	assert.Equal(t, a.Images, b.Images, "same seed, same subset")
	assert.NotEqual(t, a.Images, c.Images, "another seed, another subset")
	assert.Equal(t, LongTailCounts(100, 4, 10), a.ClassCounts())
	seen := map[int]bool{}
	for i := range a.Len() {
		img := a.Image(i)
		v := int(img[0])<<8 | int(img[1])
		assert.False(t, seen[v], "image %d drawn twice", v)
		seen[v] = true
		assert.Equal(t, d.Labels[v], a.Labels[i], "label travels with its image")
	}
	// Classes come out in order, as in the official code.
	for i := 1; i < len(a.Labels); i++ {
		assert.LessOrEqual(t, a.Labels[i-1], a.Labels[i])
	}
}

func TestLongTailErrors(t *testing.T) {
	d := &Dataset{Name: "toy", Channels: 1, Height: 1, Width: 1, Classes: classNames("c", 2),
		Labels: []int{0, 0, 0, 1}, Images: make([]uint8, 4)}
	_, err := LongTail(d, 1, 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "class 1 has 1 images, the split wants 2")
	assert.Contains(t, err.Error(), "toy")
	_, err = LongTail(d, 0.5, 0)
	assert.ErrorContains(t, err, "want a finite value ≥ 1")
	_, err = LongTailIndices([]int{0, 3}, 2, 2, 0)
	assert.ErrorContains(t, err, "label 3 out of range")
	_, _, err = LoadLongTailed("synthetic", "", 10, 1<<32)
	assert.ErrorContains(t, err, "numpy seeds")
}
