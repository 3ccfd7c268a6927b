package glmc_test

import (
	"math"
	"testing"

	"github.com/glmc/glmc/glmc"
)

// The rate epoch e (from 0) trains at in the official train loop, written
// from GLMC-2023/Trainer.py at the official HEAD:
//
//	self.train_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=self.epochs)
//	...
//	acc1 = self.validate(epoch=epoch)
//	if self.args.dataset == 'ImageNet-LT' or self.args.dataset == 'iNaturelist2018':
//	    self.paco_adjust_learning_rate(self.optimizer, epoch, self.args)
//	else:
//	    self.train_scheduler.step()
//
// and paco_adjust_learning_rate(optimizer, epoch, args) with
// warmup_epochs = 10:
//
//	if epoch <= warmup_epochs: lr = self.lr / warmup_epochs * (epoch + 1)
//	else: lr *= 0.5 * (1. + math.cos(math.pi * (epoch - warmup_epochs + 1) / (self.epochs - warmup_epochs + 1)))
//
// Both adjust the rate after an epoch, so epoch 0 runs at args.lr.
func officialCIFARLR(lr float64, epochs, e int) float64 {
	return lr * (1 + math.Cos(math.Pi*float64(e)/float64(epochs))) / 2
}

func officialPacoLR(lr float64, epochs, e int) float64 {
	const warmup = 10
	if e == 0 {
		return lr
	}
	prev := e - 1 // the epoch after which paco_adjust_learning_rate set the rate
	if prev <= warmup {
		return lr / warmup * float64(prev+1)
	}
	return lr * 0.5 * (1 + math.Cos(math.Pi*float64(prev-warmup+1)/float64(epochs-warmup+1)))
}

// TestOfficialScheduleEveryEpoch pins the rate of every epoch of the
// default schedule of a 200-epoch CIFAR-10 run (the README's recipe) and of
// a 135-epoch ImageNet-LT run (the official recipe: lr 0.1) to the official
// formulas above.
func TestOfficialScheduleEveryEpoch(t *testing.T) {
	for _, c := range []struct {
		dataset  string
		epochs   int
		lr       float64
		official func(lr float64, epochs, e int) float64
	}{
		{"cifar10", 200, 0.01, officialCIFARLR},
		{"cifar100", 200, 0.01, officialCIFARLR},
		{"fashion-mnist", 10, 0.01, officialCIFARLR},
		{"synthetic", 20, 0.05, officialCIFARLR},
		{"imagenet-lt", 135, 0.1, officialPacoLR},
		{"ImageNet-LT", 135, 0.1, officialPacoLR},
		{"iNaturelist2018", 200, 0.1, officialPacoLR},
	} {
		cfg := glmc.DefaultConfig()
		cfg.Dataset, cfg.Epochs, cfg.LR = c.dataset, c.epochs, c.lr
		cfg.Schedule = glmc.DefaultSchedule(c.dataset)
		s := cfg.LRSchedule()
		for e := range c.epochs {
			if got, want := s.LR(e), c.official(c.lr, c.epochs, e); math.Abs(got-want) > 1e-15*c.lr {
				t.Errorf("%s (%s): epoch %d trains at %.17g, official %.17g", c.dataset, cfg.Schedule, e, got, want)
			}
		}
	}
}

// TestDefaultConfigSchedule: the default Config is the CIFAR recipe, so
// it carries CIFAR's schedule.
func TestDefaultConfigSchedule(t *testing.T) {
	cfg := glmc.DefaultConfig()
	if want := glmc.DefaultSchedule(cfg.Dataset); cfg.Schedule != want {
		t.Errorf("DefaultConfig().Schedule = %q, the official one for %s is %q", cfg.Schedule, cfg.Dataset, want)
	}
	if cfg.Schedule != glmc.ScheduleCosine {
		t.Errorf("DefaultConfig().Schedule = %q, want %q", cfg.Schedule, glmc.ScheduleCosine)
	}
}
