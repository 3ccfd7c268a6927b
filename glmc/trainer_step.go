package glmc

import (
	"fmt"
	"math"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/optim"
	"github.com/glmc/glmc/tensor"
)

// Learner is a model with what a training step changes besides it: the
// optimiser, the optional MaxNorm projection, and the method's constants.
// The Trainer drives one; `glmc bench` times its steps on random batches.
type Learner struct {
	Model   *nn.Model
	Opt     *optim.SGD
	MaxNorm *optim.MaxNorm // projection of fc_cb after every step; nil for none
	Weights []float32      // (classes) label weights of the re-balanced soft labels (LabelWeights)
	Gamma   float64        // contrast weight γ of the consistency term
	// Group, when not nil, makes the learner one replica of a
	// data-parallel group whose batches are its shards of global batches:
	// each step back-propagates the loss weighted by the shard's share of
	// the global batch, then sums the gradients and the loss over the
	// group, so every replica takes the step of the global batch's mean
	// loss and the replicas stay bit-identical. nil for one process.
	Group nn.Reducer

	flat  []float32     // the gradients and loss a Group step sums, reused across steps
	arena *tensor.Arena // the storage of a step's graph, reused by the next step
}

// Pair is the input of one GLMC step: two augmented views of a batch from
// the uniform loader and of one from the class-weighted loader, all of
// one shape.
type Pair struct {
	X1, X2   *tensor.Tensor // (N, C, H, W) views 1 and 2 of the uniform batch
	XR1, XR2 *tensor.Tensor // (N, C, H, W) views 1 and 2 of the re-balanced batch
	Y, YR    []int          // (N) labels of the uniform and of the re-balanced batch
}

// PairOf returns the Pair of the batches that data.Zip yields for a step
// from the uniform and the class-weighted loader (each with Views: 2). It
// panics if a batch has fewer than two views or the batches differ in size.
func PairOf(uniform, weighted *data.Batch) Pair {
	if len(uniform.Views) < 2 || len(weighted.Views) < 2 || len(uniform.Labels) != len(weighted.Labels) {
		panic(fmt.Sprintf("glmc: PairOf: want two views of equal batches, got %d and %d views of %d and %d images",
			len(uniform.Views), len(weighted.Views), len(uniform.Labels), len(weighted.Labels)))
	}
	return Pair{X1: uniform.Views[0], X2: uniform.Views[1], XR1: weighted.Views[0], XR2: weighted.Views[1],
		Y: uniform.Labels, YR: weighted.Labels}
}

// NonFiniteLossError reports a step whose loss was NaN or infinite; the
// step changed nothing.
type NonFiniteLossError struct{ Loss float32 }

// Error says what the loss was and what usually helps.
func (e NonFiniteLossError) Error() string {
	return fmt.Sprintf("loss is %v (diverged: a lower --lr may help)", e.Loss)
}

// GLMCStep is one official GLMC step on p with the draws d and the
// cumulative coefficient α (Alpha): MixUp of the first views and CutMix of
// the second, both with λ; the shared soft labels; the two training-mode
// passes (batch-norm statistics move in both); the loss; then, as the
// official Trainer, zero the gradients, back-propagate, take the SGD step
// and, when set, project fc_cb. It returns the loss terms. A non-finite
// loss returns a NonFiniteLossError before anything is updated, though the
// two passes have already moved the batch-norm running statistics (and,
// with a Group, the gradients hold the failed step's). With a Group,
// Total holds the global batch's loss, the other terms the shard's.
//
// The step's graph, the Terms included, lives in storage that the next
// step of l reuses (see tensor.Arena), so that training allocates its
// activations and gradients once rather than every step: read the Terms
// before the next step.
func (l *Learner) GLMCStep(p Pair, d Draws, alpha float64) (Terms, error) {
	a := l.nextArena()
	target, targetW := SoftLabels(p.Y, p.YR, l.Weights, d.Lambda)
	mix := l.Model.Heads(autograd.ConstIn(a, mixUp(a, p.X1, p.XR1, d.Lambda)))
	cut := l.Model.Heads(autograd.ConstIn(a, cutMix(a, p.X2, p.XR2, d.Box)))
	terms := Loss(mix, cut, target, targetW, alpha, l.Gamma)
	return terms, l.update(terms.Total, len(p.Y))
}

// CEStep is one step of the plain cross-entropy baseline: the fc_cb
// logits of x (N, C, H, W) in training mode against the one-hot labels y,
// then the same update as GLMCStep. It returns the loss (with a Group, the
// global batch's).
func (l *Learner) CEStep(x *tensor.Tensor, y []int) (float32, error) {
	classes := l.Model.Config.NumClasses
	onehot := tensor.New(len(y), classes)
	for n, c := range y {
		onehot.Data[n*classes+c] = 1
	}
	loss := autograd.CrossEntropy(l.Model.Forward(autograd.ConstIn(l.nextArena(), x)), autograd.Const(onehot))
	err := l.update(loss, len(y))
	return loss.Value.Data[0], err
}

// freeArena gives the storage of the last step back to the system, for
// evaluation, which needs other storage; the next step maps it again.
func (l *Learner) freeArena() { l.arena.Free() }

// nextArena returns the arena of a new step, giving back the storage of
// the previous one.
func (l *Learner) nextArena() *tensor.Arena {
	if l.arena == nil {
		l.arena = tensor.NewArena()
	}
	l.arena.Reset()
	return l.arena
}

// update back-propagates a finite loss of a batch of n samples and steps
// the optimiser. With a Group the loss is known to be finite only once it
// is summed, so every replica back-propagates first and all fail together.
func (l *Learner) update(loss *autograd.Var, n int) error {
	if l.Group != nil {
		if err := l.backwardShard(loss, n); err != nil {
			return err
		}
	}
	if v := loss.Value.Data[0]; math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return NonFiniteLossError{v}
	}
	if l.Group == nil {
		l.Opt.ZeroGrad()
		loss.Backward()
	}
	l.Opt.Step()
	if l.MaxNorm != nil {
		l.MaxNorm.Project()
	}
	return nil
}

// backwardShard back-propagates the loss of a shard of n samples weighted
// by n/B, B the global batch (shards differ in size when B is not a
// multiple of the world size), so that the sums over the group are the
// gradients and the loss of the global batch's mean loss; it leaves those
// sums in the gradients and in loss.
func (l *Learner) backwardShard(loss *autograd.Var, n int) error {
	global := []float32{float32(n)}
	if err := l.Group.AllReduceSum(global); err != nil {
		return fmt.Errorf("glmc: global batch size: %w", err)
	}
	share := float32(float64(n) / float64(global[0]))
	l.Opt.ZeroGrad()
	loss.BackwardWith(tensor.Full(share, loss.Value.Shape...))
	if err := l.Model.ReducerErr(); err != nil {
		return err
	}
	// Parameters outside the graph (the heads CE leaves unused) have no
	// gradient on any replica.
	var grads []*tensor.Tensor
	buf := l.flat[:0]
	for _, p := range l.Model.Parameters() {
		if p.Grad != nil {
			grads = append(grads, p.Grad)
			buf = append(buf, p.Grad.Data...)
		}
	}
	buf = append(buf, share*loss.Value.Data[0])
	l.flat = buf
	if err := l.Group.AllReduceSum(buf); err != nil {
		return fmt.Errorf("glmc: gradients: %w", err)
	}
	for _, g := range grads {
		buf = buf[copy(g.Data, buf):]
	}
	loss.Value.Data[0] = buf[0]
	return nil
}
