package nn

import (
	"fmt"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// BenchmarkConv times the three passes of one convolution (forward, input
// gradient, weight gradient) at the shapes of ResNet-32 (batch 64; widths
// 16, the classic net, and 64, the official GLMC net) and reports GFLOP/s,
// counting 2·N·OC·OH·OW·IC·KH·KW per pass.
func BenchmarkConv(b *testing.B) {
	for _, width := range []int{16, 64} {
		for _, c := range []struct {
			name           string
			in, out, size  int
			kernel, stride int
		}{
			{"stem", 3, width, 32, 3, 1},
			{"32x32", width, width, 32, 3, 1},
			{"16x16", 2 * width, 2 * width, 16, 3, 1},
			{"8x8", 4 * width, 4 * width, 8, 3, 1},
			{"32to16_s2", width, 2 * width, 32, 3, 2},
			{"16to8_s2", 2 * width, 4 * width, 16, 3, 2},
		} {
			const n = 64
			rng := tensor.NewRNG(1)
			x := tensor.RandN(rng, n, c.in, c.size, c.size)
			w := tensor.RandN(rng, c.out, c.in, c.kernel, c.kernel)
			pad := c.kernel / 2
			y := FunctionalConv2d(autograd.Const(x), autograd.Const(w), nil, c.stride, pad).Value
			gy := tensor.RandN(rng, y.Shape...)
			flops := 2 * float64(y.Numel()) * float64(c.in*c.kernel*c.kernel)
			for _, pass := range []struct {
				name string
				call func()
			}{
				{"fwd", func() { FunctionalConv2d(autograd.Const(x), autograd.Const(w), nil, c.stride, pad) }},
				{"bwd_data", func() { Conv2dInputGrad(x.Shape, w, gy, c.stride, pad) }},
				{"bwd_weights", func() { Conv2dWeightGrad(x, w.Shape, gy, c.stride, pad) }},
			} {
				b.Run(fmt.Sprintf("w%d/%s/%s", width, c.name, pass.name), func(b *testing.B) {
					for b.Loop() {
						pass.call()
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkTrainStep runs one GLMC-style forward and backward of the four
// heads of resnet32 (batch 64, 32×32) and reports images per second.
func BenchmarkTrainStep(b *testing.B) {
	for _, width := range []int{16, 64} {
		b.Run(fmt.Sprintf("resnet32_w%d", width), func(b *testing.B) {
			const n = 64
			rng := tensor.NewRNG(1)
			m, err := NewModel(Config{Arch: "resnet32", NumClasses: 10, Width: width}, rng)
			if err != nil {
				b.Fatal(err)
			}
			x := autograd.Const(tensor.RandN(rng, n, 3, 32, 32))
			target := tensor.Softmax(tensor.RandN(rng, n, 10), 1)
			b.ResetTimer()
			for b.Loop() {
				glmcLoss(m.Heads(x), target, target).Backward()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
