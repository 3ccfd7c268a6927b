package optim

import (
	"fmt"
	"math"
)

// A Schedule gives the learning rate of each 0-based epoch. Schedules are
// pure functions of the epoch, so a resumed run needs no scheduler state.
type Schedule interface {
	LR(epoch int) float64
}

// Cosine is torch.optim.lr_scheduler.CosineAnnealingLR(T_max=Epochs,
// eta_min=Min) stepped once after each epoch, in its closed form:
//
//	lr(e) = Min + (Base − Min)·(1 + cos(π·e/Epochs))/2
//
// so lr(0) = Base and lr(Epochs) = Min; past Epochs the rate rises again,
// as PyTorch's does. It is the official GLMC Trainer's CIFAR schedule.
type Cosine struct {
	Base   float64 // rate of epoch 0
	Min    float64 // rate of epoch Epochs (eta_min)
	Epochs int     // half period T_max, ≥ 1
}

// LR returns the rate of epoch (≥ 0).
func (c Cosine) LR(epoch int) float64 {
	checkSchedule("Cosine", epoch, c.Epochs)
	return c.Min + (c.Base-c.Min)*(1+math.Cos(math.Pi*float64(epoch)/float64(c.Epochs)))/2
}

// Paco is the official GLMC Trainer's schedule for ImageNet-LT and
// iNaturalist 2018: PaCo's paco_adjust_learning_rate, a linear warm-up
// then a cosine decay,
//
//	paco(e) = Base/Warmup·(e+1)                                      e ≤ Warmup
//	paco(e) = Base·½(1 + cos(π·(e−Warmup+1)/(Epochs−Warmup+1)))      e > Warmup
//
// with the official timing: the Trainer calls it after epoch e's training
// and validation, so epoch 0 runs at the optimiser's initial rate Base and
// epoch e ≥ 1 at paco(e−1). The official quirks stay: the warm-up reaches
// (Warmup+1)/Warmup·Base (1.1·Base for 10) at epoch Warmup+1, and the
// cosine never reaches 0.
type Paco struct {
	Base   float64 // the --lr flag
	Warmup int     // warm-up epochs, ≥ 1 (10 in the official code)
	Epochs int     // total epochs, ≥ 1
}

// LR returns the rate of epoch (≥ 0).
func (p Paco) LR(epoch int) float64 {
	checkSchedule("Paco", epoch, p.Epochs)
	if p.Warmup < 1 {
		panic(fmt.Sprintf("optim: Paco with Warmup %d: want ≥ 1", p.Warmup))
	}
	if epoch == 0 {
		return p.Base
	}
	e := epoch - 1 // the epoch whose end set this rate
	if e <= p.Warmup {
		// Same operation order as the official code, so the warm-up rates agree to the bit.
		return p.Base / float64(p.Warmup) * float64(e+1)
	}
	return p.Base * (0.5 * (1 + math.Cos(math.Pi*float64(e-p.Warmup+1)/float64(p.Epochs-p.Warmup+1))))
}

// checkSchedule panics on a schedule that no validated flag set can build
// or an epoch a training loop cannot reach.
func checkSchedule(name string, epoch, epochs int) {
	if epochs < 1 {
		panic(fmt.Sprintf("optim: %s with Epochs %d: want ≥ 1", name, epochs))
	}
	if epoch < 0 {
		panic(fmt.Sprintf("optim: %s.LR(%d): negative epoch", name, epoch))
	}
}
