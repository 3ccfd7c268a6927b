package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/optim"
	"github.com/glmc/glmc/tensor"
)

// The model measurements use ../shared/bench/torch_bench.py's settings:
// resnet32 with 10 classes on random 32×32 images, training batches of
// 64 (two per GLMC step) and inference batches of 256.
const (
	benchClasses    = 10
	benchTrainBatch = 64
	benchInferBatch = 256
)

// The ImageNet-LT inference measurement uses tools/bench/torch_lt.py's
// settings (those of nn's BenchmarkLTInfer): the real-size model with
// 1000 classes on batches of 8 random 224×224 images.
const (
	ltClasses    = 1000
	ltInferBatch = 8
)

// ltArchs are the architectures torch_lt.py times.
var ltArchs = []string{"resnet50_lt", "resnext50_32x4d"}

// benchLTSide is the image side of the ImageNet-LT measurement, a
// variable so that tests can time a smaller image.
var benchLTSide = 224

// benchModel returns the model that the model measurements time: the
// resnet32 of width o.width, or o.arch if it is one of ltArchs.
func benchModel(o benchOptions) *nn.Model {
	cfg := nn.Config{Arch: "resnet32", NumClasses: benchClasses, Width: o.width}
	if slices.Contains(ltArchs, o.arch) {
		cfg = nn.Config{Arch: o.arch, NumClasses: ltClasses}
	}
	m, err := nn.NewModel(cfg, tensor.NewRNG(1))
	if err != nil {
		panic(err) // runBench checked the width and the architecture
	}
	nn.MoveParametersOffHeap(m) // as glmc.NewModel does for training
	return m
}

// benchTrain times the Trainer's GLMC step (glmc.Learner.GLMCStep): MixUp
// and CutMix of two random batches, both passes through all four heads,
// the loss, backward and the SGD step. Images per second count both
// batches, as the PyTorch script does. Where the system tells, the record
// also has the process's peak resident memory so far, in whole MiB.
func benchTrain(o benchOptions, emit func(map[string]any)) {
	sec := timePerCall(2, newTrainStep(o.width))
	rec := map[string]any{"kind": "glmc_train_step", "model": "resnet32", "nf": o.width, "batch": benchTrainBatch,
		"sec_per_step": round4(sec), "img_per_s": sig4(2 * benchTrainBatch / sec)}
	if rss, ok := peakRSS(); ok {
		rec["peak_rss_mb"] = rss >> 20
	}
	emit(rec)
}

// newTrainStep returns one GLMC step of a fresh resnet32 of the given
// width on fixed random batches, each call the next step: what
// benchTrain and BenchmarkGLMCStep time.
func newTrainStep(width int) func() {
	m := benchModel(benchOptions{width: width})
	opt, err := optim.NewSGD(m.Parameters(), optim.Options{LR: 0.01, Momentum: 0.9, WeightDecay: 5e-3})
	if err != nil {
		panic(err)
	}
	counts := make([]int, benchClasses) // CIFAR-10-LT IF 100
	for c := range counts {
		counts[c] = 5000 / (1 << c)
	}
	weights, err := glmc.LabelWeights(counts, 1.2)
	if err != nil {
		panic(err)
	}
	l := glmc.Learner{Model: m, Opt: opt, Weights: weights, Gamma: 1}
	r := tensor.NewRNG(2)
	view := func() *tensor.Tensor { return tensor.RandN(r, benchTrainBatch, 3, 32, 32) }
	labels := func() []int {
		y := make([]int, benchTrainBatch)
		for i := range y {
			y[i] = r.Intn(benchClasses)
		}
		return y
	}
	p := glmc.Pair{X1: view(), X2: view(), XR1: view(), XR2: view(), Y: labels(), YR: labels()}
	step := 0
	return func() {
		if _, err := l.GLMCStep(p, glmc.Draw(1, 0, step, 32, 32), 0.5); err != nil {
			panic(fmt.Sprintf("bench: GLMC step on random data: %v", err))
		}
		step++
	}
}

// benchInfer times the evaluation forward pass (fc_cb logits, eval mode,
// no gradients) of a random batch: torch_bench.py's "infer" record for
// resnet32, torch_lt.py's "lt_infer" for the ImageNet-LT architectures.
// The record names the architecture of the model built.
func benchInfer(o benchOptions, emit func(map[string]any)) {
	m := benchModel(o)
	rec := map[string]any{"kind": "infer", "model": m.Config.Arch, "nf": m.Config.Width}
	batch, side := benchInferBatch, 32
	if m.Config.Arch != "resnet32" {
		rec = map[string]any{"kind": "lt_infer", "model": m.Config.Arch}
		batch, side = ltInferBatch, benchLTSide
	}
	sec := timePerCall(1, inferPass(m, batch, side))
	rec["batch"] = batch
	rec["img_per_s"] = sig4(float64(batch) / sec)
	emit(rec)
}

// newInferPass returns the evaluation forward pass of a fresh resnet32 of
// the given width on a fixed random batch: what BenchmarkInfer times.
func newInferPass(width int) func() {
	return inferPass(benchModel(benchOptions{width: width}), benchInferBatch, 32)
}

// inferPass returns m's evaluation forward pass on a fixed random batch
// of batch side×side images, as benchInfer times it.
func inferPass(m *nn.Model, batch, side int) func() {
	m.Train(false)
	x := tensor.RandN(tensor.NewRNG(2), batch, 3, side, side)
	a := tensor.NewArena() // as glmc.Evaluate reuses one across batches
	return func() { m.Infer(a, x) }
}

// timePerCall returns the mean seconds of call after warm-up calls,
// repeating it at least three times and until benchBudget has passed.
func timePerCall(warmUp int, call func()) float64 {
	for range warmUp {
		call()
	}
	reps, start := 0, time.Now()
	for reps < 3 || time.Since(start) < benchBudget {
		call()
		reps++
	}
	return time.Since(start).Seconds() / float64(reps)
}

func round4(v float64) float64 { return float64(int64(v*1e4+0.5)) / 1e4 }
