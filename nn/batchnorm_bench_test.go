package nn

import (
	"fmt"
	"testing"

	"github.com/glmc/glmc/tensor"
)

// BenchmarkBatchNorm times batch norm's training-mode passes at the shapes
// of ResNet-32's residual blocks (batch 64, widths 16 and 64), in the
// fused form the second BN of a block runs in: statistics, then y =
// relu(bn(x) + shortcut) (fwd); the backward of that with the ReLU mask and
// the shortcut's gradient (bwd). It reports the memory traffic the passes
// must make at the least, in GB/s: fwd reads x twice for the statistics,
// then x and the shortcut and writes y; bwd reads gy, y and x and writes
// the shortcut's gradient, then reads that and x and writes dx.
func BenchmarkBatchNorm(b *testing.B) {
	for _, width := range []int{16, 64} {
		for _, s := range []struct {
			name    string
			c, size int
		}{
			{"32x32", width, 32},
			{"16x16", 2 * width, 16},
			{"8x8", 4 * width, 8},
		} {
			const n = 64
			g := bnShape{n: n, c: s.c, hw: s.size * s.size}
			rng := tensor.NewRNG(1)
			shape := []int{n, s.c, s.size, s.size}
			x, res, gy := tensor.RandN(rng, shape...), tensor.RandN(rng, shape...), tensor.RandN(rng, shape...)
			y, dx, dres := tensor.New(shape...), tensor.New(shape...), tensor.New(shape...)
			bn := NewBatchNorm2d(s.c)
			mean, invstd := make([]float32, s.c), make([]float32, s.c)
			dgamma, dbeta := make([]float32, s.c), make([]float32, s.c)
			gamma, beta := bn.Weight.Value.Data, bn.Bias.Value.Data
			var count float64
			fwd := func() {
				count = bnStatistics(g, mean, invstd, x.Data, bn.Eps, bn.RunningMean.Data, bn.RunningVar.Data, bn.Momentum, nil)
				newEpilogue(g, mean, invstd, gamma, beta, res.Data, true).planes(y.Data, x.Data)
			}
			fwd()
			bwd := func() {
				bnBackward(g, dx.Data, dgamma, dbeta, dres.Data, gy.Data, y.Data, x.Data, mean, invstd, gamma, true, count, nil)
			}
			bytes := 4 * float64(x.Numel())
			for _, pass := range []struct {
				name    string
				call    func()
				streams float64
			}{{"fwd", fwd, 5}, {"bwd", bwd, 7}} {
				b.Run(fmt.Sprintf("w%d/%s/%s", width, s.name, pass.name), func(b *testing.B) {
					for b.Loop() {
						pass.call()
					}
					b.ReportMetric(pass.streams*bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
				})
			}
		}
	}
}
