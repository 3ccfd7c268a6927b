package data

import (
	"fmt"
	"math"
	"sort"

	"github.com/glmc/glmc/tensor"
)

// Stream purposes of the samplers (see tensor.NewRNG): a sampler's order
// for an epoch is a function of (seed, purpose, epoch) only, so it can be
// recomputed on resume and on every data-parallel rank.
const (
	purposeShuffle  uint64 = 0x5417f1e
	purposeWeighted uint64 = 0x3e16473d
	purposeAugment  uint64 = 0xa0963e7
)

// Sample is one draw of a sampler.
type Sample struct {
	Index int // into the dataset
	// Key is the sample's position in the epoch's full, unsharded order. It
	// keys the sample's augmentation stream, so an image gets the same crop
	// and flip whichever rank, worker or batch handles it.
	Key int
}

// Sampler decides which images an epoch visits, in which order.
type Sampler interface {
	// Len is the number of samples per epoch.
	Len() int
	// Epoch returns the samples of one epoch. It is a pure function of the
	// sampler and epoch, and safe for concurrent use.
	Epoch(epoch int) []Sample
}

// SequentialSampler visits images 0..N−1 in order every epoch (evaluation).
type SequentialSampler struct{ N int }

// Len is N.
func (s SequentialSampler) Len() int { return s.N }

// Epoch returns 0..N−1.
func (s SequentialSampler) Epoch(int) []Sample {
	out := make([]Sample, s.N)
	for i := range out {
		out[i] = Sample{i, i}
	}
	return out
}

// ShuffleSampler visits every image once per epoch in a fresh random order,
// PyTorch's shuffle=True.
type ShuffleSampler struct {
	N    int
	Seed uint64
}

// Len is N.
func (s ShuffleSampler) Len() int { return s.N }

// Epoch returns a permutation of 0..N−1 drawn from (Seed, epoch).
func (s ShuffleSampler) Epoch(epoch int) []Sample {
	perm := tensor.NewRNG(s.Seed, purposeShuffle, uint64(epoch)).Perm(s.N)
	out := make([]Sample, s.N)
	for i, j := range perm {
		out[i] = Sample{j, i}
	}
	return out
}

// WeightedSampler draws N images per epoch with replacement, image i with
// weight n_{y_i}^−q (n_c images in class c, q the resample weighting), as
// the official code's WeightedRandomSampler does. q = 0 is uniform over
// images; q = 1 is uniform over classes.
type WeightedSampler struct {
	n        int
	seed     uint64
	byClass  [][]int   // image indices of each class
	cumClass []float64 // cumulative class probabilities, last = 1
}

// NewWeightedSampler builds the sampler for a training set's labels.
func NewWeightedSampler(labels []int, classes int, q float64, seed uint64) (*WeightedSampler, error) {
	if len(labels) == 0 || classes < 1 {
		return nil, fmt.Errorf("data: weighted sampler: want images and classes, got %d and %d", len(labels), classes)
	}
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return nil, fmt.Errorf("data: weighted sampler: resample weighting %v must be finite", q)
	}
	s := &WeightedSampler{n: len(labels), seed: seed, byClass: make([][]int, classes)}
	for i, y := range labels {
		if y < 0 || y >= classes {
			return nil, fmt.Errorf("data: weighted sampler: image %d: label %d out of range 0..%d", i, y, classes-1)
		}
		s.byClass[y] = append(s.byClass[y], i)
	}
	// A class's total weight is n_c · n_c^−q: drawing the class by that and
	// then an image of it uniformly is the per-image draw, in O(log C).
	total := 0.0
	s.cumClass = make([]float64, classes)
	for c, idx := range s.byClass {
		if n := float64(len(idx)); n > 0 {
			total += n * math.Pow(n, -q)
		}
		s.cumClass[c] = total
	}
	last := 0 // last class with images: its cumulative value must be exactly 1
	for c := range s.cumClass {
		s.cumClass[c] /= total
		if len(s.byClass[c]) > 0 {
			last = c
		}
	}
	for c := last; c < classes; c++ {
		s.cumClass[c] = 1
	}
	return s, nil
}

// Len is the number of training images, as in the official code.
func (s *WeightedSampler) Len() int { return s.n }

// ClassProbabilities returns the probability of drawing each class.
func (s *WeightedSampler) ClassProbabilities() []float64 {
	p := make([]float64, len(s.cumClass))
	prev := 0.0
	for c, v := range s.cumClass {
		p[c], prev = v-prev, v
	}
	return p
}

// Epoch draws the epoch's samples from (seed, epoch).
func (s *WeightedSampler) Epoch(epoch int) []Sample {
	r := tensor.NewRNG(s.seed, purposeWeighted, uint64(epoch))
	out := make([]Sample, s.n)
	for i := range out {
		u := r.Float64()
		// The first class whose cumulative probability exceeds u; empty
		// classes repeat their predecessor's value and are never chosen.
		c := sort.Search(len(s.cumClass), func(c int) bool { return s.cumClass[c] > u })
		idx := s.byClass[c]
		out[i] = Sample{idx[r.Intn(len(idx))], i}
	}
	return out
}

// ShardedSampler gives data-parallel rank Rank of World its share of
// another sampler's epoch: the samples at positions Rank, Rank+World, ...
// The shares of all ranks are disjoint and cover the epoch, every rank
// computes the same full order, and when the global batch size is a
// multiple of World, local batch b of every rank is a slice of global
// batch b. Keys stay global, so augmentation does not depend on World.
type ShardedSampler struct {
	inner       Sampler
	rank, world int
}

// NewShardedSampler wraps s for one rank.
func NewShardedSampler(s Sampler, rank, world int) (*ShardedSampler, error) {
	if world < 1 || rank < 0 || rank >= world {
		return nil, fmt.Errorf("data: sharded sampler: rank %d of %d: want 0 ≤ rank < world", rank, world)
	}
	return &ShardedSampler{s, rank, world}, nil
}

// Len is this rank's share of the inner sampler's Len.
func (s *ShardedSampler) Len() int {
	return (s.inner.Len() - s.rank + s.world - 1) / s.world
}

// Epoch returns this rank's samples of the epoch.
func (s *ShardedSampler) Epoch(epoch int) []Sample {
	all := s.inner.Epoch(epoch)
	out := make([]Sample, 0, s.Len())
	for i := s.rank; i < len(all); i += s.world {
		out = append(out, all[i])
	}
	return out
}
