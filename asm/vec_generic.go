package asm

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
