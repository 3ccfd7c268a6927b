package nn

import (
	"fmt"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// BenchmarkConv runs one convolution forward and backward (input and
// weight gradients) at the shapes of ResNet-32 (batch 64; widths 16, the
// classic net, and 64, the official GLMC net) and reports GFLOP/s,
// counting 2·N·OC·OH·OW·IC·KH·KW per pass and three passes.
func BenchmarkConv(b *testing.B) {
	for _, width := range []int{16, 64} {
		for _, c := range []struct {
			name           string
			in, out, size  int
			kernel, stride int
		}{
			{"32x32", width, width, 32, 3, 1},
			{"16x16", 2 * width, 2 * width, 16, 3, 1},
			{"8x8", 4 * width, 4 * width, 8, 3, 1},
			{"32to16_s2", width, 2 * width, 32, 3, 2},
		} {
			b.Run(fmt.Sprintf("w%d/%s", width, c.name), func(b *testing.B) {
				const n = 64
				rng := tensor.NewRNG(1)
				conv := NewConv2d(rng, c.in, c.out, c.kernel, c.stride, c.kernel/2, false)
				x := autograd.Param(tensor.RandN(rng, n, c.in, c.size, c.size))
				y := conv.Forward(x)
				gy := tensor.RandN(rng, y.Shape()...)
				flops := 3 * 2 * float64(y.Value.Numel()) * float64(c.in*c.kernel*c.kernel)
				b.ResetTimer()
				for b.Loop() {
					conv.Forward(x).BackwardWith(gy)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
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
