package autograd

import (
	"math"

	"github.com/glmc/glmc/tensor"
)

// Softmax normalises exp(v) to sum to 1 along axis.
func Softmax(v *Var, axis int) *Var {
	y := tensor.Softmax(v.Value, axis)
	return Custom("Softmax", y, []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		// dx = y·(g - Σ g·y), the sum along axis.
		dot := tensor.SumAxes(tensor.Mul(g, y), true, axis)
		return grads(tensor.Mul(y, tensor.Sub(g, dot)))
	})
}

// LogSoftmax returns v - logsumexp(v) along axis, stable for large logits.
func LogSoftmax(v *Var, axis int) *Var {
	y := tensor.LogSoftmax(v.Value, axis)
	return Custom("LogSoftmax", y, []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		// dx = g - softmax·Σ g, the sum along axis.
		sum := tensor.SumAxes(g, true, axis)
		return grads(tensor.Sub(g, tensor.Mul(tensor.Exp(y), sum)))
	})
}

// CrossEntropy is the cross-entropy of logits (N, C) against soft targets
// (N, C) (rows of probabilities, such as mixed or re-weighted one-hot
// labels), averaged over the batch: -mean_n Σ_c target·log_softmax(logits).
// It equals torch.nn.functional.cross_entropy with probability targets and
// is differentiable in both arguments.
func CrossEntropy(logits, target *Var) *Var {
	return Neg(Mean(SumAxes(Mul(LogSoftmax(logits, 1), target), false, 1)))
}

// CosineSimilarity returns the cosine of the angle between a and b along
// axis (the axis is removed), as torch.nn.functional.cosine_similarity: each
// operand is divided by its norm clamped below at eps, so zero vectors give
// 0 instead of NaN. a and b must broadcast.
func CosineSimilarity(a, b *Var, axis int, eps float32) *Var {
	unit := func(x *Var) *Var {
		// Clamping the squared norm before the square root keeps the
		// gradient finite at zero vectors.
		sq := SumAxes(Mul(x, x), true, axis)
		return Div(x, Sqrt(Clamp(sq, eps*eps, float32(math.Inf(1)))))
	}
	return SumAxes(Mul(unit(a), unit(b)), false, axis)
}
