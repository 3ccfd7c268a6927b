package glmc

import (
	"fmt"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// cosineEps is F.cosine_similarity's default eps, which the official
// SimSiamLoss uses.
const cosineEps = 1e-8

// Alpha is the cumulative-learning coefficient of the official Trainer,
// α = 1 − (epoch/epochs)² with the 0-based epoch: 1 in the first epoch,
// falling towards (but never reaching) 0 in the last. It weights the
// balanced (fc) terms; 1 − α weights the re-balanced (fc_cb) terms. It
// panics unless 0 ≤ epoch < epochs.
func Alpha(epoch, epochs int) float64 {
	if epoch < 0 || epoch >= epochs {
		panic(fmt.Sprintf("glmc: Alpha: epoch %d outside [0, %d)", epoch, epochs))
	}
	r := float64(epoch) / float64(epochs)
	return 1 - r*r
}

// Terms are the loss of one step and its parts, all scalar Vars in the
// graph of the two forward passes (call Total.Backward()). The parts are
// the unweighted terms, for logging.
type Terms struct {
	Mix  *autograd.Var // CE(fc of the MixUp pass, target)
	Cut  *autograd.Var // CE(fc of the CutMix pass, target)
	MixW *autograd.Var // CE(fc_cb of the MixUp pass, targetW)
	CutW *autograd.Var // CE(fc_cb of the CutMix pass, targetW)
	// Consistency is the SimSiam term −mean cos(p_mix, sg z_cut) −
	// mean cos(p_cut, sg z_mix): each pass's prediction against the other
	// pass's projection, gradients stopped at the projection.
	Consistency *autograd.Var
	// Total is α·(Mix+Cut) + (1−α)·(MixW+CutW) + γ·Consistency.
	Total *autograd.Var
}

// Loss is the official GLMC loss of one step from the outputs of
// nn.Model.Heads (the official model(x, train=True)) for the MixUp batch
// (mix) and for the CutMix batch (cut), the soft labels of SoftLabels
// (target, targetW, (N, classes), shared by both passes), α (Alpha) and
// the contrast weight γ. CE is the soft-label cross-entropy averaged over the
// batch, and each cosine is averaged over the batch; the two SimSiam
// directions are summed, not halved. Scalars meet float32 tensors as in
// PyTorch: α, 1−α and γ are rounded to float32.
func Loss(mix, cut nn.Outputs, target, targetW *tensor.Tensor, alpha, gamma float64) Terms {
	y, yw := autograd.Const(target), autograd.Const(targetW)
	simsiam := func(p, z *autograd.Var) *autograd.Var {
		return autograd.Neg(autograd.Mean(autograd.CosineSimilarity(p, autograd.Detach(z), 1, cosineEps)))
	}
	t := Terms{
		Mix:         autograd.CrossEntropy(mix.FC, y),
		Cut:         autograd.CrossEntropy(cut.FC, y),
		MixW:        autograd.CrossEntropy(mix.FCCB, yw),
		CutW:        autograd.CrossEntropy(cut.FCCB, yw),
		Consistency: autograd.Add(simsiam(mix.P, cut.Z), simsiam(cut.P, mix.Z)),
	}
	balanced := autograd.MulScalar(autograd.Add(t.Mix, t.Cut), float32(alpha))
	rebalanced := autograd.MulScalar(autograd.Add(t.MixW, t.CutW), float32(1-alpha))
	t.Total = autograd.Add(autograd.Add(balanced, rebalanced), autograd.MulScalar(t.Consistency, float32(gamma)))
	return t
}
