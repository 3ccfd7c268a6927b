package data_test

import (
	"fmt"

	"github.com/glmc/glmc/data"
)

func ExampleLongTailCounts() {
	// CIFAR-10 at imbalance factor 100: 5000 images per class before the split.
	counts := data.LongTailCounts(5000, 10, 100)
	total := 0
	for _, n := range counts {
		total += n
	}
	fmt.Println(counts, total)
	// Output: [5000 2997 1796 1077 645 387 232 139 83 50] 12406
}

func ExampleLoadLongTailed() {
	// The data `glmc train --dataset synthetic --imbalance-factor 10` uses.
	train, test, err := data.LoadLongTailed("synthetic", "", 10, 3407)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(train.ClassCounts())
	fmt.Println(test.ClassCounts())
	fmt.Println(train.Classes[:3])
	// Output:
	// [500 387 299 232 179 139 107 83 64 50]
	// [100 100 100 100 100 100 100 100 100 100]
	// [disc-0 square-0 triangle-0]
}

// A GLMC training epoch: each step takes a uniformly shuffled batch and a
// class-weighted batch, each with two augmented views.
func ExampleZip() {
	full, _, err := data.Synthetic(data.SyntheticConfig{Seed: 1, TrainPerClass: 40, TestPerClass: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	train, err := data.LongTail(full, 10, 3407)
	if err != nil {
		fmt.Println(err)
		return
	}
	info, _ := data.Lookup("synthetic")
	const seed = 3407
	weighted, err := data.NewWeightedSampler(train.Labels, len(train.Classes), 0.2, seed)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := data.LoaderConfig{
		Dataset: train, Sampler: data.ShuffleSampler{N: train.Len(), Seed: seed},
		BatchSize: 64, Transform: data.TrainTransform(info), Views: 2, Workers: 2, Seed: seed,
	}
	uniform, _ := data.NewLoader(cfg)
	cfg.Sampler, cfg.Stream = weighted, 1
	balanced, _ := data.NewLoader(cfg)

	epoch, resumeAt := 0, 0
	for step := range data.Zip(epoch, resumeAt, uniform, balanced) {
		org, inv := step[0], step[1]
		fmt.Println(org.Index, org.Views[0].Shape, org.Views[1].Shape, len(inv.Labels))
	}
	// Output:
	// 0 [64 3 32 32] [64 3 32 32] 64
	// 1 [64 3 32 32] [64 3 32 32] 64
	// 2 [31 3 32 32] [31 3 32 32] 31
}
