package glmc

import (
	"fmt"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// MemoryEstimate is the storage one rank of a training run needs, in
// bytes, beyond the data and the program itself.
type MemoryEstimate struct {
	Parameters int64 // the weights, their gradients and SGD's momentum
	Step       int64 // one step's graph: activations and the gradients of its backward pass
	Batch      int   // images per step through the network on one rank
}

// Total is Parameters + Step.
func (m MemoryEstimate) Total() int64 { return m.Parameters + m.Step }

// EstimateMemory measures what a step of cfg on train's images takes on
// one of ranks processes: it runs a training-mode forward and backward
// pass of a fresh model of cfg at two and at four images (batch norm
// needs two values per channel) in a tensor.Arena, as the Learner does,
// and extrapolates the arena's storage linearly to the rank's share of
// the batch (twice that for GLMC, whose step runs its MixUp and its
// CutMix batch through the network before one backward pass). It changes
// no state outside the throwaway model.
func EstimateMemory(cfg Config, train *data.Dataset, ranks int) (MemoryEstimate, error) {
	m, err := nn.NewModel(nn.Config{Arch: cfg.Arch, NumClasses: len(train.Classes), Width: cfg.Width, Blocks: cfg.Blocks, InChannels: train.Channels},
		tensor.NewRNG(cfg.Seed, purposeInit))
	if err != nil {
		return MemoryEstimate{}, err
	}
	m.Train(true)
	var held [5]int64
	for n := 2; n <= 4; n += 2 {
		a := tensor.NewArena()
		x := a.New(n, train.Channels, train.Height, train.Width)
		onehot := tensor.New(n, len(train.Classes))
		for i := range n {
			onehot.Data[i*len(train.Classes)] = 1
		}
		autograd.CrossEntropy(m.Forward(autograd.ConstIn(a, x)), autograd.Const(onehot)).Backward()
		held[n] = int64(a.Held())
		a.Free()
	}
	perImage := max(held[4]-held[2], 0) / 2
	batch := (cfg.BatchSize + ranks - 1) / max(ranks, 1)
	if cfg.Method == MethodGLMC {
		batch *= 2
	}
	var params int64
	for _, p := range m.Parameters() {
		params += int64(p.Value.Numel())
	}
	return MemoryEstimate{Parameters: 3 * 4 * params, Step: held[2] + perImage*int64(batch-2), Batch: batch}, nil
}

// String says the estimate in MiB, the way glmc train prints it.
func (m MemoryEstimate) String() string {
	const mib = 1 << 20
	return fmt.Sprintf("about %d MiB: %d MiB of weights, gradients and momentum, %d MiB for a step of %d images",
		m.Total()/mib, m.Parameters/mib, m.Step/mib, m.Batch)
}
