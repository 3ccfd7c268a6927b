package tensor

// walk visits an index space in row-major order on behalf of several
// operands, each of which sees the space through its own strides (0 along a
// broadcast dimension). Broadcasting, reductions, permutations and box
// copies are all walks; they differ only in their strides and in what they
// do with each inner run.
//
// Dimensions of extent 1 are dropped and neighbouring dimensions that every
// operand lays out contiguously are merged, so the inner run is as long as
// the layouts allow (a same-shape element-wise op is a single run).
type walk struct {
	shape   []int   // collapsed extents; the last one is the inner run
	strides [][]int // strides[k][d]: step of operand k along collapsed dimension d
}

// newWalk collapses the index space shape as seen by operands with the
// given strides (each of len(shape)).
func newWalk(shape []int, strides ...[]int) walk {
	w := walk{strides: make([][]int, len(strides))}
	for _, d := range shape {
		if d == 0 {
			w.shape = []int{0}
			for k := range w.strides {
				w.strides[k] = []int{0}
			}
			return w
		}
	}
	for d, ext := range shape {
		if ext == 1 {
			continue
		}
		last := len(w.shape) - 1
		merge := last >= 0
		for k := range strides {
			merge = merge && w.strides[k][last] == strides[k][d]*ext
		}
		if merge {
			w.shape[last] *= ext
			for k := range strides {
				w.strides[k][last] = strides[k][d]
			}
			continue
		}
		w.shape = append(w.shape, ext)
		for k := range strides {
			w.strides[k] = append(w.strides[k], strides[k][d])
		}
	}
	if len(w.shape) == 0 { // every extent is 1: a single element
		w.shape = []int{1}
		for k := range w.strides {
			w.strides[k] = []int{0}
		}
	}
	return w
}

// n is the length of an inner run.
func (w walk) n() int { return w.shape[len(w.shape)-1] }

// step is operand k's stride along the inner run.
func (w walk) step(k int) int { return w.strides[k][len(w.shape)-1] }

// each calls fn with every operand's offset at the start of each inner run,
// in row-major order. fn must not keep off.
func (w walk) each(fn func(off []int)) {
	if w.n() == 0 {
		return
	}
	outer := len(w.shape) - 1
	off := make([]int, len(w.strides))
	idx := make([]int, outer)
	for {
		fn(off)
		d := outer - 1
		for ; d >= 0; d-- {
			idx[d]++
			for k, s := range w.strides {
				off[k] += s[d]
			}
			if idx[d] < w.shape[d] {
				break
			}
			idx[d] = 0
			for k, s := range w.strides {
				off[k] -= s[d] * w.shape[d]
			}
		}
		if d < 0 {
			return
		}
	}
}

// stridesOf returns the row-major strides of a contiguous tensor of shape s.
func stridesOf(s []int) []int {
	st := make([]int, len(s))
	acc := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= s[i]
	}
	return st
}

// broadcastStrides returns the strides with which a contiguous tensor of
// shape from is read when broadcast to shape to (from is aligned at its
// last dimension; broadcast dimensions get stride 0).
func broadcastStrides(from, to []int) []int {
	st := make([]int, len(to))
	src := stridesOf(from)
	off := len(to) - len(from)
	for i, d := range from {
		if d != 1 {
			st[off+i] = src[i]
		}
	}
	return st
}
