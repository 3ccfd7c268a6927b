package tensor

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
)

// RNG is a seeded pseudo-random stream (xoshiro256**). Streams are derived,
// never shared: NewRNG(seed, epoch, index, purpose) gives the same numbers
// whatever goroutine asks and in whatever order, which is what makes
// training reproducible to the bit under any amount of parallelism.
//
// An RNG is not safe for concurrent use; derive one per goroutine or sample.
type RNG struct {
	s [4]uint64
}

// NewRNG returns the stream named by seed and any number of stream ids
// (for example epoch, sample index and a purpose constant). Different id
// lists give statistically independent streams.
func NewRNG(seed uint64, stream ...uint64) *RNG {
	// Mix the ids into one key with splitmix64 so that (1,2) and (2,1)
	// differ, then expand the key into the 256-bit state.
	k := splitmix(seed ^ 0x6a09e667f3bcc908)
	for _, id := range stream {
		k = splitmix(k ^ splitmix(id+0x9e3779b97f4a7c15))
	}
	r := &RNG{}
	for i := range r.s {
		k += 0x9e3779b97f4a7c15
		r.s[i] = splitmix(k)
	}
	return r
}

func splitmix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Uint64 returns 64 uniformly random bits.
func (r *RNG) Uint64() uint64 {
	s := &r.s
	out := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return out
}

// Float64 returns a uniform value in [0, 1) with 53 random bits.
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) * 0x1p-53 }

// Float32 returns a uniform value in [0, 1) with 24 random bits.
func (r *RNG) Float32() float32 { return float32(r.Uint64()>>40) * 0x1p-24 }

// Intn returns a uniform integer in [0, n) without modulo bias (Lemire's
// method). It panics if n <= 0.
func (r *RNG) Intn(n int) int {
	if n <= 0 {
		panic("tensor: RNG.Intn: n must be positive")
	}
	bound := uint64(n)
	hi, lo := bits.Mul64(r.Uint64(), bound)
	if lo < bound {
		thresh := -bound % bound
		for lo < thresh {
			hi, lo = bits.Mul64(r.Uint64(), bound)
		}
	}
	return int(hi)
}

// Normal returns a standard normal value (Box–Muller on two uniforms, so
// every call consumes exactly two Uint64s and streams stay aligned).
func (r *RNG) Normal() float64 {
	u1 := 1 - r.Float64() // in (0, 1]: log is finite
	u2 := r.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Gamma returns a Gamma(shape, 1) value (Marsaglia–Tsang; shape < 1 boosted
// by U^(1/shape)). It panics if shape <= 0.
func (r *RNG) Gamma(shape float64) float64 {
	if !(shape > 0) {
		panic("tensor: RNG.Gamma: shape must be positive")
	}
	if shape < 1 {
		u := 1 - r.Float64()
		return r.Gamma(shape+1) * math.Pow(u, 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.Normal()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := 1 - r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

// Beta returns a Beta(a, b) value, as X/(X+Y) with X~Gamma(a), Y~Gamma(b).
func (r *RNG) Beta(a, b float64) float64 {
	x := r.Gamma(a)
	y := r.Gamma(b)
	return x / (x + y)
}

// Categorical returns index i with probability weights[i]/sum(weights).
// Weights must be non-negative with a positive, finite sum.
func (r *RNG) Categorical(weights []float64) int {
	total := 0.0
	for _, w := range weights {
		if !(w >= 0) {
			panic("tensor: RNG.Categorical: negative or NaN weight")
		}
		total += w
	}
	if !(total > 0) || math.IsInf(total, 0) {
		panic("tensor: RNG.Categorical: weights must have a positive finite sum")
	}
	u := r.Float64() * total
	acc := 0.0
	last := 0
	for i, w := range weights {
		if w == 0 {
			continue
		}
		acc += w
		last = i
		if u < acc {
			return i
		}
	}
	return last // u landed on the rounding slack at the top
}

// Perm returns a uniformly random permutation of 0..n-1 (Fisher–Yates).
func (r *RNG) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// MarshalBinary saves the stream position, so a resumed run continues it.
func (r *RNG) MarshalBinary() ([]byte, error) {
	b := make([]byte, 32)
	for i, v := range r.s {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b, nil
}

// UnmarshalBinary restores a position saved by MarshalBinary.
func (r *RNG) UnmarshalBinary(b []byte) error {
	if len(b) != 32 {
		return errors.New("tensor: RNG state must be 32 bytes")
	}
	for i := range r.s {
		r.s[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	if r.s == [4]uint64{} {
		return errors.New("tensor: RNG state is all zero")
	}
	return nil
}
