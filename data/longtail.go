package data

import (
	"fmt"
	"math"

	"github.com/glmc/glmc/data/internal/nprand"
)

// LongTailCounts returns how many training images each class keeps in the
// long-tailed split: class i keeps ⌊nMax · r^(i/(C−1))⌋ with r = 1/IF, so
// class 0 keeps nMax and the last class nMax/IF. The arithmetic is the
// official code's (float64 power, truncation), so the counts match it.
func LongTailCounts(nMax, classes int, imbalanceFactor float64) []int {
	if classes < 2 || nMax < 0 || !(imbalanceFactor >= 1) || math.IsInf(imbalanceFactor, 0) {
		panic(fmt.Sprintf("data: LongTailCounts(%d, %d, %v): want nMax ≥ 0, classes ≥ 2, finite imbalance factor ≥ 1", nMax, classes, imbalanceFactor))
	}
	r := 1 / imbalanceFactor
	counts := make([]int, classes)
	for i := range counts {
		counts[i] = int(float64(nMax) * math.Pow(r, float64(i)/float64(classes-1)))
	}
	return counts
}

// LongTailIndices returns the dataset indices the long-tailed split keeps:
// for classes 0..C−1 in order, the first count_c entries of a numpy legacy
// permutation of that class's images (in dataset order), all drawn from one
// RandomState seeded once with seed. That is what the official code does
// with np.random.seed(seed) and np.random.choice(n, k, replace=False), so
// with the real CIFAR files the kept images are exactly the official ones
// (seed 3407). LDAM-DRW's IMBALANCECIFAR shuffles each class's index array
// with np.random.shuffle after np.random.seed(0), which is the same draw:
// seed 0 gives its subset. nMax is ⌊N/C⌋, as in both.
func LongTailIndices(labels []int, classes int, imbalanceFactor float64, seed uint32) ([]int, error) {
	if classes < 2 {
		return nil, fmt.Errorf("data: long-tailed split needs at least 2 classes, got %d", classes)
	}
	if !(imbalanceFactor >= 1) || math.IsInf(imbalanceFactor, 0) {
		return nil, fmt.Errorf("data: imbalance factor %v: want a finite value ≥ 1", imbalanceFactor)
	}
	byClass := make([][]int, classes)
	for i, y := range labels {
		if y < 0 || y >= classes {
			return nil, fmt.Errorf("data: long-tailed split: image %d: label %d out of range 0..%d", i, y, classes-1)
		}
		byClass[y] = append(byClass[y], i)
	}
	counts := LongTailCounts(len(labels)/classes, classes, imbalanceFactor)
	rs := nprand.New(seed)
	var keep []int
	for c, idx := range byClass {
		sel, err := rs.Choice(len(idx), counts[c])
		if err != nil {
			return nil, fmt.Errorf("data: long-tailed split: class %d has %d images, the split wants %d", c, len(idx), counts[c])
		}
		for _, j := range sel {
			keep = append(keep, idx[j])
		}
	}
	return keep, nil
}

// LongTail returns the long-tailed subset of a (balanced) training set, see
// LongTailIndices. The subset is ordered class by class, as the official
// one is.
func LongTail(d *Dataset, imbalanceFactor float64, seed uint32) (*Dataset, error) {
	keep, err := LongTailIndices(d.Labels, len(d.Classes), imbalanceFactor, seed)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, d.Name)
	}
	return d.Subset(keep), nil
}
