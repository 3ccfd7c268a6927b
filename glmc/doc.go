// Package glmc is the GLMC method (Global and Local Mixture Consistency
// cumulative learning, Du et al., CVPR 2023) as the official code
// (ynu-yangpeng/GLMC, GLMC-2023/) does it: the pieces of one training
// step, the trainer of whole runs and the evaluation metrics.
//
// # One step
//
// A step takes a batch from the uniform loader and one from the
// class-weighted loader, two augmented views of each (x₁, x₂ and x̃₁, x̃₂,
// labels y and ỹ), and:
//
//  1. draws λ and the CutMix box (Draw, or Draws filled in by hand);
//  2. mixes the images: MixUp(x₁, x̃₁, λ) and CutMix(x₂, x̃₂, box);
//  3. mixes the labels: SoftLabels gives λ·onehot(y) + (1−λ)·onehot(ỹ) and
//     the same with one-hots multiplied by LabelWeights (w_c ∝ n_c^−τ, summing
//     to the class count, not renormalised after mixing). The CutMix batch
//     uses the very same labels as the MixUp batch: the official code keeps λ
//     for CutMix instead of the pasted area.
//  4. runs the model's Heads in training mode on the MixUp batch and then
//     on the CutMix batch (batch-norm statistics move in both) and passes
//     the two sets of outputs to Loss, with α = Alpha(epoch, epochs) and γ
//     the contrast weight.
//
// The loss is
//
//	α·(CE(fc₁, y) + CE(fc₂, y)) + (1−α)·(CE(fc_cb₁, y_w) + CE(fc_cb₂, y_w))
//	  + γ·(−mean cos(p₁, sg z₂) − mean cos(p₂, sg z₁))
//
// where index 1 is the MixUp pass, 2 the CutMix pass, CE the soft-label
// cross-entropy averaged over the batch, sg stop-gradient, and the cosines
// are averaged over the batch and summed over the two directions (no ½).
//
// Learner.GLMCStep does all of that and the SGD update; Learner.CEStep is
// the plain cross-entropy baseline.
//
// # Training
//
// Trainer runs a whole run from a Config (the flags of `glmc train`;
// DefaultConfig is the paper's CIFAR-10-LT recipe): the two loaders, the
// official warm-up and cosine learning rate, an evaluation after every
// epoch, and a run folder with MetricsFile, checkpoints written atomically
// (LastFile, BestFile) and the Summary. Every random choice derives from
// (seed, epoch, step, sample), so a run is bit-identical for any number
// of threads, and a resumed one bit-identical to one that never stopped.
//
// With Options.Group a Trainer is one rank of a data-parallel run (Group
// says how): --batch-size stays the global batch, every rank takes its
// shard of each step's batches, gradients are summed over the ranks and
// batch norm is synchronised, so P ranks train as one process with the
// whole batch, to rounding.
//
// # Evaluation
//
// Evaluate scores a model's fc_cb logits on a test loader. Its
// Accumulator collects top-1, top-5 and per-class accuracy batch by batch,
// and the many/medium/few-shot means of the per-class accuracies (more than
// 100, 21 to 100, at most 20 training images), as the official validate.
package glmc
