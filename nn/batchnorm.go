package nn

import (
	"fmt"
	"math"
	"slices"

	"github.com/glmc/glmc/asm"
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
//
// Under Model.SetReducer it is synchronised batch norm, PyTorch's
// SyncBatchNorm: the training-mode statistics and the two per-channel sums
// of backward are summed over the replicas, so P replicas with a share of
// the batch each compute what one process computes with the whole batch.
type BatchNorm2d struct {
	Eps, Momentum     float64
	Weight            *autograd.Var  // (C) γ, initialised to 1
	Bias              *autograd.Var  // (C) β, initialised to 0
	RunningMean       *tensor.Tensor // (C), initialised to 0
	RunningVar        *tensor.Tensor // (C), initialised to 1
	NumBatchesTracked int64          // training-mode forwards so far
	training          bool
	sync              *bnSync // nil for batch statistics of this process alone
}

// Reducer sums a buffer over the replicas of a data-parallel group, in
// place, every replica getting the same bits; dist.Group is one. Every
// replica calls it the same number of times with the same lengths.
type Reducer interface {
	AllReduceSum(buf []float32) error
}

// bnSync is what the batch norms of a model share when synchronised: the
// Reducer and its first error. After an error the layers fall back to
// their own batch, as the replicas no longer agree anyway.
type bnSync struct {
	r   Reducer
	err error
}

// reduce sums vs over the replicas through float32, the collective's
// type; without synchronisation (or after a failure) it leaves vs as they
// are.
func (s *bnSync) reduce(vs []float64) {
	if s == nil || s.err != nil {
		return
	}
	buf := make([]float32, len(vs))
	for i, v := range vs {
		buf[i] = float32(v)
	}
	if err := s.r.AllReduceSum(buf); err != nil {
		s.err = fmt.Errorf("nn: synchronised batch norm: %w", err)
		return
	}
	for i, v := range buf {
		vs[i] = float64(v)
	}
}

// SetReducer synchronises every batch norm of m over the replicas r sums
// across (synchronised batch norm), or, with r nil, returns them to the
// batch of this process alone. A failed sum does not stop the forward or
// backward pass it happens in: ReducerErr reports it.
func (m *Model) SetReducer(r Reducer) {
	var s *bnSync
	if r != nil {
		s = &bnSync{r: r}
	}
	eachBatchNorm(m.Trunk, func(bn *BatchNorm2d) { bn.sync = s })
}

// ReducerErr returns the first failure of the Reducer since SetReducer,
// nil if there was none. A step that saw one must not update the weights.
func (m *Model) ReducerErr() error {
	var err error
	eachBatchNorm(m.Trunk, func(bn *BatchNorm2d) {
		if err == nil && bn.sync != nil {
			err = bn.sync.err
		}
	})
	return err
}

// eachBatchNorm calls fn for every BatchNorm2d in m.
func eachBatchNorm(m Module, fn func(*BatchNorm2d)) {
	switch m := m.(type) {
	case *BatchNorm2d:
		fn(m)
	case *Sequential:
		for _, l := range m.Layers {
			eachBatchNorm(l, fn)
		}
	case *BasicBlockA:
		fn(m.BN1)
		fn(m.BN2)
		eachBatchNorm(m.Shortcut, fn)
	case *ResidualBlock:
		eachBatchNorm(m.Function, fn)
		eachBatchNorm(m.Shortcut, fn)
	}
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
	g := bn.check(sh, res)
	if bn.training && g.n*g.hw < 2 {
		panic(fmt.Sprintf("nn: BatchNorm2d in training mode needs more than 1 value per channel, got input %v", sh))
	}
	mean, invstd := make([]float32, g.c), make([]float32, g.c)
	var count float64 // values per channel in the (global) batch
	if bn.training {
		count = bnStatistics(g, mean, invstd, x.Value.Data, bn.Eps, bn.RunningMean.Data, bn.RunningVar.Data, bn.Momentum, bn.sync)
		bn.NumBatchesTracked++
	} else {
		bn.runningStatistics(mean, invstd)
	}
	y := x.Arena().Empty(sh...) // every element written
	var resData []float32
	inputs := []*autograd.Var{x, bn.Weight, bn.Bias}
	if res != nil {
		resData = res.Value.Data
		inputs = append(inputs, res)
	}
	gamma, beta := bn.Weight.Value.Data, bn.Bias.Value.Data
	newEpilogue(g, mean, invstd, gamma, beta, resData, relu).planes(y.Data, x.Value.Data)
	training, sync := bn.training, bn.sync
	return autograd.Custom("BatchNorm2d", y, inputs, func(gy *tensor.Tensor) []*tensor.Tensor {
		// bnBackward writes every element of all four.
		dx := x.Arena().Empty(sh...)
		dgamma, dbeta := x.Arena().Empty(g.c), x.Arena().Empty(g.c)
		var dres *tensor.Tensor
		if res != nil && res.RequiresGrad() {
			dres = x.Arena().Empty(sh...)
		}
		var mask []float32
		if relu {
			mask = y.Data
		}
		bnBackward(g, dx.Data, dgamma.Data, dbeta.Data, data(dres), gy.Data, mask, x.Value.Data, mean, invstd, gamma, training, count, sync)
		return []*tensor.Tensor{dx, dgamma, dbeta, dres}[:len(inputs)]
	})
}

// check panics unless the batch norm applies to an input of shape sh,
// with a residual res (nil for none) of the same shape, and returns the
// input's bnShape.
func (bn *BatchNorm2d) check(sh []int, res *autograd.Var) bnShape {
	if len(sh) != 4 || sh[1] != bn.Weight.Value.Numel() {
		panic(fmt.Sprintf("nn: BatchNorm2d over %d channels applied to shape %v, want (N, %[1]d, H, W)", bn.Weight.Value.Numel(), sh))
	}
	if res != nil && !slices.Equal(res.Shape(), sh) {
		panic(fmt.Sprintf("nn: BatchNorm2d: residual of shape %v added to output of shape %v", res.Shape(), sh))
	}
	return bnShape{n: sh[0], c: sh[1], hw: sh[2] * sh[3]}
}

// runningStatistics sets mean and invstd (C) to the running mean and
// 1/√(running var + eps), what eval mode normalises with.
func (bn *BatchNorm2d) runningStatistics(mean, invstd []float32) {
	for c := range mean {
		mean[c] = bn.RunningMean.Data[c]
		invstd[c] = float32(1 / math.Sqrt(float64(bn.RunningVar.Data[c])+bn.Eps))
	}
}

// bnShape is an NCHW tensor seen as C channels of N planes of HW values.
type bnShape struct{ n, c, hw int }

// plane returns the values of channel c in image n.
func (g bnShape) plane(t []float32, n, c int) []float32 {
	at := (n*g.c + c) * g.hw
	return t[at : at+g.hw]
}

// forPlanes calls fn(n, c) for every plane, on up to asm.Threads()
// goroutines that each take a block of channels and sweep it image by
// image, in memory order: on small maps a channel's planes lie far apart,
// and visiting them channel by channel would fetch from a new place every
// few vectors. Each channel still sees its planes in image order, whatever
// the number of goroutines, so per-channel sums keep their order.
func (g bnShape) forPlanes(fn func(n, c int)) {
	t := min(asm.Threads(), g.c)
	parallelFor(t, func(w int) {
		lo, hi := g.c*w/t, g.c*(w+1)/t
		for n := range g.n {
			for c := lo; c < hi; c++ {
				fn(n, c)
			}
		}
	})
}

// bnStatistics computes the batch mean and 1/√(biased var + eps) of every
// channel of x, accumulating in float64 as PyTorch does, updates the
// running statistics with the unbiased variance, and returns the number of
// values per channel. With sync the sums and the count are those of the
// replicas' whole batch: the sums first, then the squared deviations from
// the global mean, as SyncBatchNorm.
//
//	mean, invstd, runMean, runVar (C); x (N, C, H, W)
func bnStatistics(g bnShape, mean, invstd, x []float32, eps float64, runMean, runVar []float32, momentum float64, sync *bnSync) float64 {
	// sums[c] is channel c's sum, then its squared deviations; the last
	// element is the count.
	sums := make([]float64, g.c+1)
	sums[g.c] = float64(g.n * g.hw)
	g.forPlanes(func(n, c int) { sums[c] += float64(sum32(g.plane(x, n, c))) })
	sync.reduce(sums)
	count := sums[g.c]
	m := make([]float64, g.c)
	for c := range g.c {
		m[c], sums[c] = sums[c]/count, 0
		mean[c] = float32(m[c])
	}
	g.forPlanes(func(n, c int) { sums[c] += float64(asm.SumSquaredDev(g.plane(x, n, c), mean[c])) })
	sync.reduce(sums[:g.c])
	for c := range g.c {
		sq := sums[c]
		invstd[c] = float32(1 / math.Sqrt(sq/count+eps))
		runMean[c] = float32(momentum*m[c] + (1-momentum)*float64(runMean[c]))
		runVar[c] = float32(momentum*sq/(count-1) + (1-momentum)*float64(runVar[c]))
	}
	return count
}

// epilogue is the forward pass of a batch norm once its statistics are
// known: y = (x − mean)·invstd·γ + β, computed as a·x + b per channel,
// plus res when it is not nil, then max(·, 0) when relu is set. A batch
// norm applies it over the whole tensor (planes); a convolution followed
// by an eval-mode batch norm applies it to pieces of its output as it
// writes them, while they are in cache (see convBN), with the same bits.
type epilogue struct {
	g    bnShape
	a, b []float32 // (C)
	res  []float32 // (N, C, H, W) or nil
	relu bool
}

// newEpilogue returns the epilogue of a batch norm over g.
//
//	mean, invstd, gamma, beta (C); res (N, C, H, W) or nil
func newEpilogue(g bnShape, mean, invstd, gamma, beta, res []float32, relu bool) *epilogue {
	e := &epilogue{g: g, a: make([]float32, g.c), b: make([]float32, g.c), res: res, relu: relu}
	for c := range g.c {
		e.a[c] = invstd[c] * gamma[c]
		e.b[c] = beta[c] - mean[c]*e.a[c]
	}
	return e
}

// planes sets y to the epilogue of x, plane by plane on parallel
// goroutines (y may be x).
//
//	y, x (N, C, H, W)
func (e *epilogue) planes(y, x []float32) {
	e.g.forPlanes(func(n, c int) {
		at := (n*e.g.c + c) * e.g.hw
		e.apply(y, x, at, at+e.g.hw)
	})
}

// apply sets y[lo:hi] to the epilogue of x[lo:hi] (y may be x), a range
// within one plane that starts at a multiple of asm.VecBlock from the
// plane's start and ends at one or at the plane's end: its values then
// get the bits that planes gives them.
//
//	y, x (N, C, H, W)
func (e *epilogue) apply(y, x []float32, lo, hi int) {
	c := lo / e.g.hw % e.g.c
	var r []float32
	if e.res != nil {
		r = e.res[lo:hi]
	}
	asm.Affine(y[lo:hi], x[lo:hi], r, e.a[c], e.b[c], e.relu)
}

// bnBackward computes the gradients of the forward pass (epilogue) for the upstream gradient
// gy, overwriting dx, dgamma, dbeta and dres (skipped when nil). mask is
// the forward output y when ReLU was applied (the gradient passes where y >
// 0), else nil. In training mode the statistics depend on x:
//
//	dx = γ·invstd·(g − mean(g) − x̂·mean(g·x̂)),  x̂ = (x − mean)·invstd,
//
// with g the gradient after the ReLU mask and the means over (N, H, W) of
// the count values per channel; in eval mode dx = γ·invstd·g. With sync
// the two sums behind the means are those of all replicas (count is then
// the global one), while dgamma and dbeta stay this replica's, summed with
// the other weight gradients.
//
//	dx, dres, gy, mask, x (N, C, H, W); dgamma, dbeta, mean, invstd, gamma (C)
func bnBackward(g bnShape, dx, dgamma, dbeta, dres, gy, mask, x, mean, invstd, gamma []float32, training bool, count float64, sync *bnSync) {
	// The first pass stores the masked gradient where the second reads it
	// back: in dres when it is wanted, else in dx (then overwritten in
	// place), so the second pass reads two planes instead of three. Without
	// a mask or dres it reads gy.
	masked := dres
	if masked == nil && mask != nil {
		masked = dx
	}
	sums := make([]float64, 2*g.c) // Σg of channel c at c, Σg·(x − mean) at C+c
	g.forPlanes(func(n, c int) {
		s, sx := asm.GradSums(optPlane(g, masked, n, c), g.plane(gy, n, c), optPlane(g, mask, n, c), g.plane(x, n, c), mean[c])
		sums[c] += float64(s)
		sums[g.c+c] += float64(sx)
	})
	for c := range g.c {
		dbeta[c] = float32(sums[c])
		dgamma[c] = float32(sums[g.c+c] * float64(invstd[c]))
	}
	if training {
		sync.reduce(sums)
	}
	grad := gy
	if masked != nil {
		grad = masked
	}
	a, p, q := make([]float32, g.c), make([]float32, g.c), make([]float32, g.c) // dx = a·g + p·x + q per channel
	for c := range g.c {
		sg, sgx := sums[c], sums[g.c+c]
		is := float64(invstd[c])
		ac := float64(gamma[c]) * is
		a[c] = float32(ac)
		if training {
			// dx = a·g − a·is²·sgx/count·(x − m) − a·sg/count
			pc := -ac * is * is * sgx / count
			p[c], q[c] = float32(pc), float32(-pc*float64(mean[c])-ac*sg/count)
		}
	}
	g.forPlanes(func(n, c int) {
		asm.Combine(g.plane(dx, n, c), g.plane(grad, n, c), g.plane(x, n, c), a[c], p[c], q[c])
	})
}

// optPlane is the plane of an optional tensor t, or nil without one.
func optPlane(g bnShape, t []float32, n, c int) []float32 {
	if t == nil {
		return nil
	}
	return g.plane(t, n, c)
}
