package main

import (
	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// convShapes are the distinct 3×3 convolutions of resnet32 at width nf,
// as (in channels, out channels, input side, stride), in the order of
// ../shared/bench/torch_bench.py's conv kind: the stem, then per stage the
// stride-1 convolution and the strided one that enters the next stage.
func convShapes(nf int) [][4]int {
	return [][4]int{
		{3, nf, 32, 1}, {nf, nf, 32, 1}, {nf, 2 * nf, 32, 2},
		{2 * nf, 2 * nf, 16, 1}, {2 * nf, 4 * nf, 16, 2}, {4 * nf, 4 * nf, 8, 1},
	}
}

// benchConv times each convolution of convShapes on a batch of 64 (bias
// free, padding 1) in its three passes: forward, the input gradient
// (nn.Conv2dInputGrad) and the weight gradient (nn.Conv2dWeightGrad).
// GFLOP/s count 2·N·OC·OH·OW·IC·9 for every pass, as the PyTorch script
// does.
func benchConv(o benchOptions, emit func(map[string]any)) {
	const batch, pad = benchTrainBatch, 1
	r := tensor.NewRNG(3)
	for _, s := range convShapes(o.width) {
		cin, cout, hw, stride := s[0], s[1], s[2], s[3]
		x := tensor.RandN(r, batch, cin, hw, hw)
		w := tensor.RandN(r, cout, cin, 3, 3)
		// Constants record no graph: the forward pass alone.
		forward := func() *autograd.Var {
			return nn.FunctionalConv2d(autograd.Const(x), autograd.Const(w), nil, stride, pad)
		}
		y := forward().Value
		gy := tensor.RandN(r, y.Shape...)
		flops := 2 * float64(y.Numel()) * float64(cin*9)
		for _, pass := range []struct {
			name string
			call func()
		}{
			{"fwd", func() { forward() }},
			{"bwd_data", func() { nn.Conv2dInputGrad(x.Shape, w, gy, stride, pad) }},
			{"bwd_weights", func() { nn.Conv2dWeightGrad(x, w.Shape, gy, stride, pad) }},
		} {
			sec := timePerCall(1, pass.call)
			emit(map[string]any{"kind": "conv", "cin": cin, "cout": cout, "hw": hw, "stride": stride, "batch": batch,
				"nf": o.width, "pass": pass.name, "gflops": sig4(flops / sec / 1e9)})
		}
	}
}
