// Package nprand reproduces the parts of numpy's legacy RandomState that the
// official long-tailed CIFAR splits depend on, bit for bit: MT19937 seeded
// with init_genrand, bounded integers by masked rejection, and permutation
// as numpy's Fisher–Yates shuffle from the end.
//
// It exists so that, given the real CIFAR files and the official seed, the
// subset of training images is exactly the one the reference code trains on.
// It is not a general-purpose generator: use tensor.RNG for everything else.
package nprand

import "fmt"

const (
	n         = 624
	m         = 397
	matrixA   = 0x9908b0df
	upperMask = 0x80000000
	lowerMask = 0x7fffffff
)

// RandomState is numpy's legacy np.random.RandomState restricted to the
// calls the dataset splits make. It is not safe for concurrent use.
type RandomState struct {
	mt  [n]uint32
	pos int // next word of mt to temper; n means "regenerate first"
}

// New returns the state numpy builds for np.random.seed(seed) or
// RandomState(seed) with an integer seed: MT19937 init_genrand. numpy
// accepts seeds from 0 to 2^32−1, which is exactly uint32.
func New(seed uint32) *RandomState {
	r := &RandomState{pos: n}
	r.mt[0] = seed
	for i := 1; i < n; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	return r
}

// Uint32 is MT19937's genrand_int32, numpy's next_uint32.
func (r *RandomState) Uint32() uint32 {
	if r.pos >= n {
		r.generate()
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// Uint64 is numpy's next_uint64 for MT19937: two 32-bit outputs, the first
// in the high half.
func (r *RandomState) Uint64() uint64 {
	hi := uint64(r.Uint32())
	return hi<<32 | uint64(r.Uint32())
}

func (r *RandomState) generate() {
	for i := 0; i < n; i++ {
		y := r.mt[i]&upperMask | r.mt[(i+1)%n]&lowerMask
		v := r.mt[(i+m)%n] ^ y>>1
		if y&1 != 0 {
			v ^= matrixA
		}
		r.mt[i] = v
	}
	r.pos = 0
}

// Interval returns a uniform integer in [0, max], numpy's random_interval:
// draw 32-bit (or, above 2^32−1, 64-bit) outputs, keep the bits under the
// smallest all-ones mask covering max, and reject values above max.
func (r *RandomState) Interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	mask |= mask >> 32
	if max <= 0xffffffff {
		for {
			if v := uint64(r.Uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		if v := r.Uint64() & mask; v <= max {
			return v
		}
	}
}

// Permutation is np.random.permutation(n): 0..n−1 shuffled in place from
// the last element down, swapping element i with Interval(i).
func (r *RandomState) Permutation(n int) []int {
	if n < 0 {
		panic(fmt.Sprintf("nprand: Permutation(%d): negative length", n))
	}
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(r.Interval(uint64(i)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// Choice is np.random.choice(n, k, replace=False) without probabilities,
// which numpy's legacy generator computes as permutation(n)[:k]: the whole
// permutation is drawn even when k is small, and that is what keeps later
// draws aligned with numpy.
func (r *RandomState) Choice(n, k int) ([]int, error) {
	if k < 0 || k > n {
		return nil, fmt.Errorf("nprand: cannot take %d samples without replacement from %d", k, n)
	}
	return r.Permutation(n)[:k], nil
}
