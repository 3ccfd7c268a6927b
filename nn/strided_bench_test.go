package nn

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/internal/cputime"
	"github.com/glmc/glmc/tensor"
)

// BenchmarkConvAlgos times each pass of the strided convolutions of
// ResNet-32 (widths 16 and 64, batches 64 and 128) and ResNet-50 (3×3 and
// 1×1 stride 2, batch 16) with im2col + GEMM and with the direct
// convolution forced, side by side, on GOMAXPROCS threads (-cpu 1,2), and
// reports GFLOP/s, counting 2·N·OC·OH·OW·IC·KH·KW per pass, per second of
// the wall clock and per second of processor time (cpu-GFLOP/s, steadier
// on a shared machine; on one thread the two agree on an idle one).
// planDirect's figures come from it.
func BenchmarkConvAlgos(b *testing.B) {
	for _, c := range []struct {
		name                    string
		n, in, out, size, k, st int
	}{
		{"r32_16to32_32", 64, 16, 32, 32, 3, 2},
		{"r32_32to64_16", 64, 32, 64, 16, 3, 2},
		{"r32_16to32_32_b128", 128, 16, 32, 32, 3, 2},
		{"r32_32to64_16_b128", 128, 32, 64, 16, 3, 2},
		{"r32_64to128_32", 64, 64, 128, 32, 3, 2},
		{"r32_128to256_16", 64, 128, 256, 16, 3, 2},
		{"r50_128_56", 16, 128, 128, 56, 3, 2},
		{"r50_256_28", 16, 256, 256, 28, 3, 2},
		{"r50_512_14", 16, 512, 512, 14, 3, 2},
		{"r50_1x1_256to512_56", 16, 256, 512, 56, 1, 2},
		{"r50_1x1_1024to2048_14", 16, 1024, 2048, 14, 1, 2},
	} {
		rng := tensor.NewRNG(1)
		s := newConvShape([]int{c.n, c.in, c.size, c.size}, []int{c.out, c.in, c.k, c.k}, c.st, c.k/2)
		x := tensor.RandN(rng, c.n, c.in, c.size, c.size).Data
		w := tensor.RandN(rng, c.out, c.in, c.k, c.k).Data
		y := make([]float32, s.n*s.oc*s.pixels())
		gy := tensor.RandN(rng, len(y)).Data
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		flops := 2 * float64(len(y)) * float64(s.depth())
		for _, pass := range []struct {
			name string
			call func()
		}{
			{"fwd", func() { convForward(s, y, x, w, nil) }},
			{"bwd_data", func() { convBackward(s, dx, nil, nil, gy, nil, w) }},
			{"bwd_weights", func() { convBackward(s, nil, dw, nil, gy, x, nil) }},
		} {
			for _, algo := range []string{"gemm", "direct"} {
				b.Run(fmt.Sprintf("%s/%s/%s", c.name, pass.name, algo), func(b *testing.B) {
					defer func(prev string) { convAlgo = prev }(convAlgo)
					defer asm.SetThreads(asm.SetThreads(runtime.GOMAXPROCS(0)))
					convAlgo = algo
					start := cputime.Used()
					for b.Loop() {
						pass.call()
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					b.ReportMetric(flops*float64(b.N)/(cputime.Used()-start).Seconds()/1e9, "cpu-GFLOP/s")
				})
			}
		}
	}
}
