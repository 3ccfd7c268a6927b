package nn

import (
	"fmt"
	"math"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// BatchNorm2d is torch.nn.BatchNorm2d(C) with its defaults (eps 1e-5,
// momentum 0.1, affine, tracking running statistics).
//
// In training mode it normalises each channel with the mean and the biased
// variance of the batch (over N, H, W) and then updates the running
// statistics: running = (1 − momentum)·running + momentum·batch, where the
// batch variance is the unbiased one (divided by N·H·W − 1), and increments
// NumBatchesTracked. In eval mode it normalises with the running statistics.
type BatchNorm2d struct {
	Eps, Momentum     float64
	Weight            *autograd.Var  // (C) γ, initialised to 1
	Bias              *autograd.Var  // (C) β, initialised to 0
	RunningMean       *tensor.Tensor // (C), initialised to 0
	RunningVar        *tensor.Tensor // (C), initialised to 1
	NumBatchesTracked int64          // training-mode forwards so far
	training          bool
}

// NewBatchNorm2d returns a BatchNorm2d over c channels in training mode,
// initialised as PyTorch does (γ 1, β 0, running mean 0, running var 1).
func NewBatchNorm2d(c int) *BatchNorm2d {
	return &BatchNorm2d{
		Eps: 1e-5, Momentum: 0.1,
		Weight: autograd.Param(tensor.Ones(c)), Bias: autograd.Param(tensor.New(c)),
		RunningMean: tensor.New(c), RunningVar: tensor.Ones(c),
		training: true,
	}
}

// Forward normalises x (N, C, H, W).
func (bn *BatchNorm2d) Forward(x *autograd.Var) *autograd.Var { return bn.forward(x, nil, false) }

// Train selects batch statistics (true) or running statistics (false).
func (bn *BatchNorm2d) Train(on bool) { bn.training = on }

// Visit visits weight, bias, running_mean, running_var and
// num_batches_tracked, PyTorch's order.
func (bn *BatchNorm2d) Visit(prefix string, fn func(Entry)) {
	fn(Entry{Name: prefix + "weight", Param: bn.Weight})
	fn(Entry{Name: prefix + "bias", Param: bn.Bias})
	fn(Entry{Name: prefix + "running_mean", Buffer: bn.RunningMean})
	fn(Entry{Name: prefix + "running_var", Buffer: bn.RunningVar})
	fn(Entry{Name: prefix + "num_batches_tracked", Count: &bn.NumBatchesTracked})
}

// Parameters returns γ and β.
func (bn *BatchNorm2d) Parameters() []*autograd.Var { return parameters(bn) }

// forward computes bn(x), then adds res (x's shape) if it is not nil, then
// applies ReLU if relu is set, as one op: the tail of a residual block,
// relu(bn(conv(h)) + shortcut), is a single pass over the data.
func (bn *BatchNorm2d) forward(x, res *autograd.Var, relu bool) *autograd.Var {
	sh := x.Shape()
	if len(sh) != 4 || sh[1] != bn.Weight.Value.Numel() {
		panic(fmt.Sprintf("nn: BatchNorm2d over %d channels applied to shape %v, want (N, %[1]d, H, W)", bn.Weight.Value.Numel(), sh))
	}
	if res != nil && !tensor.SameShape(res.Value, x.Value) {
		panic(fmt.Sprintf("nn: BatchNorm2d: residual of shape %v added to output of shape %v", res.Shape(), sh))
	}
	g := bnShape{n: sh[0], c: sh[1], hw: sh[2] * sh[3]}
	if bn.training && g.n*g.hw < 2 {
		panic(fmt.Sprintf("nn: BatchNorm2d in training mode needs more than 1 value per channel, got input %v", sh))
	}
	mean, invstd := make([]float32, g.c), make([]float32, g.c)
	if bn.training {
		bnStatistics(g, mean, invstd, x.Value.Data, bn.Eps, bn.RunningMean.Data, bn.RunningVar.Data, bn.Momentum)
		bn.NumBatchesTracked++
	} else {
		for c := range g.c {
			mean[c] = bn.RunningMean.Data[c]
			invstd[c] = float32(1 / math.Sqrt(float64(bn.RunningVar.Data[c])+bn.Eps))
		}
	}
	y := tensor.New(sh...)
	var resData []float32
	inputs := []*autograd.Var{x, bn.Weight, bn.Bias}
	if res != nil {
		resData = res.Value.Data
		inputs = append(inputs, res)
	}
	gamma, beta := bn.Weight.Value.Data, bn.Bias.Value.Data
	bnForward(g, y.Data, x.Value.Data, resData, mean, invstd, gamma, beta, relu)
	training := bn.training
	return autograd.Custom("BatchNorm2d", y, inputs, func(gy *tensor.Tensor) []*tensor.Tensor {
		dx := tensor.New(sh...)
		dgamma, dbeta := tensor.New(g.c), tensor.New(g.c)
		var dres *tensor.Tensor
		if res != nil && res.RequiresGrad() {
			dres = tensor.New(sh...)
		}
		var mask []float32
		if relu {
			mask = y.Data
		}
		bnBackward(g, dx.Data, dgamma.Data, dbeta.Data, data(dres), gy.Data, mask, x.Value.Data, mean, invstd, gamma, training)
		return []*tensor.Tensor{dx, dgamma, dbeta, dres}[:len(inputs)]
	})
}

// bnShape is an NCHW tensor seen as C channels of N planes of HW values.
type bnShape struct{ n, c, hw int }

// plane returns the values of channel c in image n.
func (g bnShape) plane(t []float32, n, c int) []float32 {
	at := (n*g.c + c) * g.hw
	return t[at : at+g.hw]
}

// bnStatistics computes the batch mean and 1/√(biased var + eps) of every
// channel of x, accumulating in float64 as PyTorch does, and updates the
// running statistics with the unbiased variance.
//
//	mean, invstd, runMean, runVar (C); x (N, C, H, W)
func bnStatistics(g bnShape, mean, invstd, x []float32, eps float64, runMean, runVar []float32, momentum float64) {
	count := float64(g.n * g.hw)
	parallelFor(g.c, func(c int) {
		var sum float64
		for n := range g.n {
			sum += float64(sum32(g.plane(x, n, c)))
		}
		m := sum / count
		var sq float64
		for n := range g.n {
			sq += float64(sumSquaredDev(g.plane(x, n, c), float32(m)))
		}
		v := sq / count
		mean[c], invstd[c] = float32(m), float32(1/math.Sqrt(v+eps))
		runMean[c] = float32(momentum*m + (1-momentum)*float64(runMean[c]))
		runVar[c] = float32(momentum*sq/(count-1) + (1-momentum)*float64(runVar[c]))
	})
}

// bnForward computes y = (x − mean)·invstd·γ + β, plus res when it is not
// nil, then max(·, 0) when relu is set, channel by channel.
//
//	y, x, res (N, C, H, W); mean, invstd, gamma, beta (C)
func bnForward(g bnShape, y, x, res, mean, invstd, gamma, beta []float32, relu bool) {
	parallelFor(g.c, func(c int) {
		a := invstd[c] * gamma[c]
		b := beta[c] - mean[c]*a
		for n := range g.n {
			yp, xp := g.plane(y, n, c), g.plane(x, n, c)
			var rp []float32
			if res != nil {
				rp = g.plane(res, n, c)
			}
			affinePlane(yp, xp, rp, a, b, relu)
		}
	})
}

// bnBackward computes the gradients of bnForward for the upstream gradient
// gy, overwriting dx, dgamma, dbeta and dres (skipped when nil). mask is
// the forward output y when ReLU was applied (the gradient passes where y >
// 0), else nil. In training mode the statistics depend on x:
//
//	dx = γ·invstd·(g − mean(g) − x̂·mean(g·x̂)),  x̂ = (x − mean)·invstd,
//
// with g the gradient after the ReLU mask and the means over (N, H, W); in
// eval mode dx = γ·invstd·g.
//
//	dx, dres, gy, mask, x (N, C, H, W); dgamma, dbeta, mean, invstd, gamma (C)
func bnBackward(g bnShape, dx, dgamma, dbeta, dres, gy, mask, x, mean, invstd, gamma []float32, training bool) {
	count := float64(g.n * g.hw)
	parallelFor(g.c, func(c int) {
		m := mean[c]
		var sg, sgx float64
		for n := range g.n {
			var dr []float32
			if dres != nil {
				dr = g.plane(dres, n, c)
			}
			s, sx := bnGradSums(g.plane(gy, n, c), maskPlane(g, mask, n, c), g.plane(x, n, c), dr, m)
			sg += float64(s)
			sgx += float64(sx)
		}
		is := float64(invstd[c])
		dbeta[c] = float32(sg)
		dgamma[c] = float32(sgx * is)
		a := float64(gamma[c]) * is
		var p, q float64
		if training {
			// dx = a·g − a·is²·sgx/count·(x − m) − a·sg/count
			p = -a * is * is * sgx / count
			q = -p*float64(m) - a*sg/count
		}
		for n := range g.n {
			bnGradPlane(g.plane(dx, n, c), g.plane(gy, n, c), maskPlane(g, mask, n, c), g.plane(x, n, c),
				float32(a), float32(p), float32(q))
		}
	})
}

// maskPlane is the plane of the ReLU mask, or nil without one.
func maskPlane(g bnShape, mask []float32, n, c int) []float32 {
	if mask == nil {
		return nil
	}
	return g.plane(mask, n, c)
}
