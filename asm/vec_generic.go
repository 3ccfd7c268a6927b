package asm

import "math"

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scaleGeneric(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// dotGeneric and sumGeneric keep eight partial sums: a fixed order that
// also shortens the dependency chain.
func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		for l := range s {
			s[l] += x[i+l] * y[i+l]
		}
	}
	t := reduce8(&s)
	for ; i < len(x); i++ {
		t += x[i] * y[i]
	}
	return t
}

func sumGeneric(x []float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		for l := range s {
			s[l] += x[i+l]
		}
	}
	t := reduce8(&s)
	for ; i < len(x); i++ {
		t += x[i]
	}
	return t
}

// reduce8 adds eight partial sums pairwise.
func reduce8(s *[8]float32) float32 {
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]))
}

func addGeneric(dst, x, y []float32) {
	x, y = x[:len(dst)], y[:len(dst)]
	for i := range dst {
		dst[i] = x[i] + y[i]
	}
}

func mulGeneric(dst, x, y []float32) {
	x, y = x[:len(dst)], y[:len(dst)]
	for i := range dst {
		dst[i] = x[i] * y[i]
	}
}

func reluGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if !(v <= 0) { // keeps NaN, like torch.relu
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}

// sumSquaredDevGeneric is what every implementation computes, bit for bit:
// assembly bodies with FMA or more lanes differed from it by an ulp or
// two, which five SGD steps of optim's TestGoldenResNet32SGD (Nesterov)
// amplified past its parity tolerances.
func sumSquaredDevGeneric(x []float32, m float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		for l := range s {
			d := v[l] - m
			s[l] += d * d
		}
	}
	t := reduce8(&s)
	for ; i < len(x); i++ {
		d := x[i] - m
		t += d * d
	}
	return t
}

func affineGeneric(dst, x, r []float32, a, b float32, relu bool) {
	x = x[:len(dst)]
	switch {
	case r == nil && !relu:
		for i := range dst {
			dst[i] = a*x[i] + b
		}
	case r == nil:
		for i := range dst {
			dst[i] = max(a*x[i]+b, 0)
		}
	case !relu:
		r = r[:len(dst)]
		for i := range dst {
			dst[i] = a*x[i] + b + r[i]
		}
	default:
		r = r[:len(dst)]
		for i := range dst {
			dst[i] = max(a*x[i]+b+r[i], 0)
		}
	}
}

// gradSumsGeneric keeps eight partial sums of each kind, as sumGeneric.
func gradSumsGeneric(dst, g, y, x []float32, m float32) (sg, sgx float32) {
	x = x[:len(g)]
	var s, sx [8]float32
	i := 0
	for ; i+8 <= len(g); i += 8 {
		for l := range s {
			v := gradAt(dst, g, y, i+l)
			s[l] += v
			sx[l] += v * (x[i+l] - m)
		}
	}
	sg, sgx = reduce8(&s), reduce8(&sx)
	for ; i < len(g); i++ {
		v := gradAt(dst, g, y, i)
		sg += v
		sgx += v * (x[i] - m)
	}
	return sg, sgx
}

// gradAt returns g[i] passed through the ReLU mask of y (if any) and
// stores it in dst (if any).
func gradAt(dst, g, y []float32, i int) float32 {
	v := g[i]
	if y != nil {
		v = passIfPositive(v, y[i])
	}
	if dst != nil {
		dst[i] = v
	}
	return v
}

// passIfPositive returns g where y's bits, as a signed integer b, are
// positive, and 0 elsewhere, without a branch (a ReLU mask would
// mispredict half of the time): -b & ^b has its sign bit set exactly when b
// > 0. This is the AVX2 kernels' VPCMPGTD against zero.
func passIfPositive(g, y float32) float32 {
	b := int32(math.Float32bits(y))
	keep := uint32((-b & ^b) >> 31)
	return math.Float32frombits(math.Float32bits(g) & keep)
}

func combineGeneric(dst, x, y []float32, a, b, c float32) {
	x, y = x[:len(dst)], y[:len(dst)]
	for i := range dst {
		dst[i] = a*x[i] + b*y[i] + c
	}
}
