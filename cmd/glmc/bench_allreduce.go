package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/glmc/glmc/dist"
)

// allReduceReps is how many all-reduces benchAllReduce times after one
// warm-up: a count fixed in advance, as every rank must make the same
// calls, and few enough for a width-64 model on 1 GbE (about 0.5 s each).
const allReduceReps = 10

// benchAllReduce times the ring all-reduce of the buffer a data-parallel
// training step sums: the gradients of the resnet32 of width o.width and
// the loss. Every rank of the launch (explicit flags or a launcher) runs
// it; rank 0 prints the time of one all-reduce and the bus bandwidth,
// 2(P−1)/P · bytes / time, the rate each rank's link carried, which is
// comparable across P and with the link's speed.
func benchAllReduce(o benchOptions, emit func(map[string]any)) error {
	launch, err := dist.Detect(os.Getenv, o.launch)
	if err != nil {
		return err
	}
	if launch.WorldSize < 2 {
		return usageError{fmt.Errorf("--what allreduce: want at least two ranks, each a glmc bench with --rank and --world-size (or under a launcher)")}
	}
	cfg, err := launch.Config()
	if err != nil {
		return err
	}
	cfg.JoinTimeout, cfg.Timeout = time.Minute, time.Minute
	g, err := dist.Join(context.Background(), cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	n := 1 // the loss
	for _, p := range benchModel(o).Parameters() {
		n += p.Value.Numel()
	}
	buf := make([]float32, n)
	if err := g.AllReduceSum(buf); err != nil { // warm-up, and every rank is here
		return err
	}
	start := time.Now()
	for range allReduceReps {
		if err := g.AllReduceSum(buf); err != nil {
			return err
		}
	}
	sec := time.Since(start).Seconds() / allReduceReps
	if g.Rank() == 0 {
		p := float64(g.Size())
		emit(map[string]any{"kind": "allreduce", "ranks": g.Size(), "nf": o.width, "floats": n,
			"ms": math.Round(sec*1e6) / 1e3, "busbw_mb_s": sig4(2 * (p - 1) / p * float64(4*n) / sec / 1e6)})
	}
	return nil
}
