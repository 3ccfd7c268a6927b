// Package optim updates parameters from their gradients: SGD with
// momentum, Nesterov momentum and coupled weight decay exactly as
// torch.optim.SGD, learning-rate schedules as pure functions of the epoch,
// and the max-norm projection of the official GLMC code.
//
// # Training loop
//
// Per epoch the trainer sets the rate from a Schedule, then per batch it
// zeroes the gradients, runs forward and backward, and steps:
//
//	opt.SetLR(sched.LR(epoch))
//	for each batch {
//		opt.ZeroGrad()
//		loss := ...; loss.Backward()
//		opt.Step()
//		maxNorm.Project() // only where a max-norm constraint is wanted
//	}
//
// # Resuming
//
// A resumed run is bit-identical to an uninterrupted one when it restores
// the parameters, SGD's momentum buffers (State / LoadState) and the
// max-norm limits (MaxNorm.State / LoadState), and takes the rate from the
// schedule again: schedules keep no state, so SetLR(sched.LR(epoch)) after
// loading is all they need.
//
// # Numerics
//
// Updates are float32, in place, element by element through the asm vector
// primitives, in the same order of operations as PyTorch's single-tensor
// SGD. They are deterministic for a given asm implementation; PyTorch's
// own kernels fuse some of these operations, so results agree with it to
// rounding, not to the bit.
package optim
