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
// eta_min=Min) stepped once per epoch, in its closed form:
//
//	lr(e) = Min + (Base − Min)·(1 + cos(π·e/Epochs))/2
//
// so lr(0) = Base and lr(Epochs) = Min; past Epochs the rate rises again,
// as PyTorch's does. The official trainer builds this scheduler but
// overwrites its rate every epoch; WarmupCosine is what it really uses.
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

// WarmupCosine is the schedule the official GLMC trainer really trains
// with (Trainer.paco_adjust_learning_rate, Warmup 10): a linear warm-up
// then a cosine decay,
//
//	lr(e) = Base/Warmup·(e+1)                                      e ≤ Warmup
//	lr(e) = Base·½(1 + cos(π·(e−Warmup+1)/(Epochs−Warmup+1)))      e > Warmup
//
// Note the official quirks it keeps: the warm-up covers Warmup+1 epochs,
// so epoch Warmup runs at (Warmup+1)/Warmup·Base (1.1·Base for 10), and the
// cosine never reaches 0 (epoch Epochs−1 still has a small positive rate).
type WarmupCosine struct {
	Base   float64 // peak rate (the --lr flag)
	Warmup int     // warm-up epochs, ≥ 1 (10 in the official code)
	Epochs int     // total epochs, ≥ 1
}

// LR returns the rate of epoch (≥ 0).
func (w WarmupCosine) LR(epoch int) float64 {
	checkSchedule("WarmupCosine", epoch, w.Epochs)
	if w.Warmup < 1 {
		panic(fmt.Sprintf("optim: WarmupCosine with Warmup %d: want ≥ 1", w.Warmup))
	}
	if epoch <= w.Warmup {
		// Same operation order as the official code, so the warm-up rates agree to the bit.
		return w.Base / float64(w.Warmup) * float64(epoch+1)
	}
	return w.Base * (0.5 * (1 + math.Cos(math.Pi*float64(epoch-w.Warmup+1)/float64(w.Epochs-w.Warmup+1))))
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
