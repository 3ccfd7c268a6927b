package nn

import (
	"math"

	"github.com/glmc/glmc/asm"
)

// The loops below work on one contiguous plane (one channel of one image,
// or any run of values) and are the element-wise core of the layers. They
// are written so that the compiler removes the bounds checks from the loop
// bodies; each keeps a fixed order of operations, so results are
// reproducible.

// sum32 is Σ x in float32, in the fixed order of asm.Sum.
func sum32(x []float32) float32 { return asm.Sum(x) }

// sumSquaredDev is Σ (x − m)², with four interleaved partial sums so the
// additions pipeline.
func sumSquaredDev(x []float32, m float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v := x[i : i+4 : i+4]
		d0, d1, d2, d3 := v[0]-m, v[1]-m, v[2]-m, v[3]-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(x); i++ {
		d := x[i] - m
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// passIfPositive returns g where the ReLU output y is positive and 0
// elsewhere: PyTorch's ReLU gradient, which is 0 at y = 0. It uses the sign
// of y's bits instead of a branch, which a ReLU mask would mispredict half
// of the time: −bits(y) has its sign bit set exactly when bits(y) > 0, that
// is, when y > 0 (ReLU outputs are never −0). NaN outputs pass g through.
func passIfPositive(g, y float32) float32 {
	keep := uint32(-int32(math.Float32bits(y)) >> 31)
	return math.Float32frombits(math.Float32bits(g) & keep)
}

// affinePlane sets y = x·a + b, plus r when r is not nil, then max(·, 0)
// when relu is set. y may be x.
func affinePlane(y, x, r []float32, a, b float32, relu bool) {
	x = x[:len(y)]
	switch {
	case r == nil && !relu:
		for i := range y {
			y[i] = x[i]*a + b
		}
	case r == nil:
		for i := range y {
			y[i] = max(x[i]*a+b, 0)
		}
	case !relu:
		r = r[:len(y)]
		for i := range y {
			y[i] = x[i]*a + b + r[i]
		}
	default:
		r = r[:len(y)]
		for i := range y {
			y[i] = max(x[i]*a+b+r[i], 0)
		}
	}
}

// bnGradSums returns Σ g and Σ g·(x − m), where g is gy masked by the ReLU
// output mask (when mask is not nil); it stores g in dr when dr is not nil.
func bnGradSums(gy, mask, x, dr []float32, m float32) (sg, sgx float32) {
	x = x[:len(gy)]
	if mask == nil && dr == nil {
		for i, g := range gy {
			sg += g
			sgx += g * (x[i] - m)
		}
		return sg, sgx
	}
	for i, g := range gy {
		if mask != nil {
			g = passIfPositive(g, mask[i])
		}
		if dr != nil {
			dr[i] = g
		}
		sg += g
		sgx += g * (x[i] - m)
	}
	return sg, sgx
}

// bnGradPlane sets dx = a·g + p·x + q, with g the masked gradient as in
// bnGradSums.
func bnGradPlane(dx, gy, mask, x []float32, a, p, q float32) {
	gy, x = gy[:len(dx)], x[:len(dx)]
	if mask == nil {
		for i := range dx {
			dx[i] = a*gy[i] + p*x[i] + q
		}
		return
	}
	mask = mask[:len(dx)]
	for i := range dx {
		dx[i] = a*passIfPositive(gy[i], mask[i]) + p*x[i] + q
	}
}
