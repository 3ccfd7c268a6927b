package glmc

import (
	"fmt"
	"math"

	"github.com/glmc/glmc/tensor"
)

// MixUp returns λ·x + (1−λ)·xr: the official MixUp of view 1 of the
// uniform batch (x) with view 1 of the re-balanced batch (xr). As in
// PyTorch, λ and 1−λ are rounded to float32 and each product is rounded
// before the sum. x and xr must have the same shape; the inputs are not
// modified.
func MixUp(x, xr *tensor.Tensor, lambda float64) *tensor.Tensor { return mixUp(nil, x, xr, lambda) }

// mixUp is MixUp with the result from the arena.
func mixUp(arena *tensor.Arena, x, xr *tensor.Tensor, lambda float64) *tensor.Tensor {
	if !tensor.SameShape(x, xr) {
		panic(fmt.Sprintf("glmc: MixUp: shapes %v and %v differ", x.Shape, xr.Shape))
	}
	a, b := float32(lambda), float32(1-lambda)
	out := arena.New(x.Shape...)
	for i, v := range x.Data {
		// The conversions forbid fusing into one FMA, which would round once
		// (Go may fuse on arm64), so every platform gives PyTorch's bits.
		out.Data[i] = float32(a*v) + float32(b*xr.Data[i])
	}
	return out
}

// CutMix returns x with the box of every image and channel replaced by
// xr's pixels: the official CutMix of view 2 of the uniform batch (x) with
// view 2 of the re-balanced batch (xr), one box for the whole batch. x and
// xr must be (N, C, H, W) tensors of the same shape and the box must lie in
// the H×W image; the inputs are not modified (the official code pastes into
// x in place).
func CutMix(x, xr *tensor.Tensor, box Box) *tensor.Tensor { return cutMix(nil, x, xr, box) }

// cutMix is CutMix with the result from the arena.
func cutMix(arena *tensor.Arena, x, xr *tensor.Tensor, box Box) *tensor.Tensor {
	if len(x.Shape) != 4 || !tensor.SameShape(x, xr) {
		panic(fmt.Sprintf("glmc: CutMix: want two (N, C, H, W) tensors of one shape, got %v and %v", x.Shape, xr.Shape))
	}
	h, w := x.Shape[2], x.Shape[3]
	if box.R0 < 0 || box.R0 > box.R1 || box.R1 > h || box.C0 < 0 || box.C0 > box.C1 || box.C1 > w {
		panic(fmt.Sprintf("glmc: CutMix: box %+v outside the %d×%d image", box, h, w))
	}
	out := arena.Clone(x)
	for plane := 0; plane < x.Shape[0]*x.Shape[1]; plane++ {
		for r := box.R0; r < box.R1; r++ {
			at := (plane*h+r)*w + box.C0
			copy(out.Data[at:at+box.C1-box.C0], xr.Data[at:])
		}
	}
	return out
}

// LabelWeights returns the official per-class label weights
// w_c = n_c^−τ / Σ_k n_k^−τ · C for training counts n and label weighting τ
// (the --label-weighting flag): the weights sum to C, so τ = 0 gives all
// ones. They are computed in float64 and rounded to float32 at the end, as
// the official numpy code does before making a FloatTensor. An error
// reports a class without training images or a non-finite τ.
func LabelWeights(counts []int, tau float64) ([]float32, error) {
	if len(counts) == 0 {
		return nil, fmt.Errorf("glmc: label weights: no classes")
	}
	if math.IsNaN(tau) || math.IsInf(tau, 0) {
		return nil, fmt.Errorf("glmc: label weights: label weighting %v is not a finite number", tau)
	}
	raw := make([]float64, len(counts))
	sum := 0.0
	for c, n := range counts {
		if n <= 0 {
			return nil, fmt.Errorf("glmc: label weights: class %d has %d training images, want at least 1", c, n)
		}
		raw[c] = 1 / math.Pow(float64(n), tau)
		sum += raw[c]
	}
	w := make([]float32, len(counts))
	for c, v := range raw {
		w[c] = float32(v / sum * float64(len(counts)))
	}
	return w, nil
}

// SoftLabels returns the step's soft labels, (N, C) with C = len(weights):
// target = λ·onehot(y) + (1−λ)·onehot(yr) and
// targetW = λ·w·onehot(y) + (1−λ)·w·onehot(yr), for the uniform batch's
// labels y and the re-balanced batch's labels yr. Both the MixUp and the
// CutMix batch use these (the official code mixes CutMix labels with λ, not
// with the pasted area). Rows of target sum to 1; rows of targetW are not
// renormalised. The arithmetic is PyTorch's: float32 products, then the sum.
// It panics if y and yr differ in length or a label is outside [0, C).
func SoftLabels(y, yr []int, weights []float32, lambda float64) (target, targetW *tensor.Tensor) {
	if len(y) != len(yr) {
		panic(fmt.Sprintf("glmc: SoftLabels: %d uniform labels, %d re-balanced", len(y), len(yr)))
	}
	classes := len(weights)
	a, b := float32(lambda), float32(1-lambda)
	target, targetW = tensor.New(len(y), classes), tensor.New(len(y), classes)
	for n := range y {
		if y[n] < 0 || y[n] >= classes || yr[n] < 0 || yr[n] >= classes {
			panic(fmt.Sprintf("glmc: SoftLabels: row %d: labels %d, %d outside [0, %d)", n, y[n], yr[n], classes))
		}
		row, rowW := target.Data[n*classes:(n+1)*classes], targetW.Data[n*classes:(n+1)*classes]
		// Added term by term in PyTorch's order so that a row whose two
		// labels agree gets float32(λ)+float32(1−λ), as PyTorch does.
		row[y[n]] = a
		row[yr[n]] += b
		rowW[y[n]] = float32(a * weights[y[n]])
		rowW[yr[n]] += float32(b * weights[yr[n]])
	}
	return target, targetW
}
