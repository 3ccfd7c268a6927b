package nn

import (
	"math"

	"github.com/glmc/glmc/tensor"
)

// Initialisation. Layers are created with PyTorch's defaults (NewConv2d,
// NewLinear, NewBatchNorm2d); each model then applies what its official
// class applies on top (see NewModel).

// uniformFanIn fills t with U(−1/√fanIn, 1/√fanIn), PyTorch's default
// initialisation of Conv2d and Linear weights (kaiming_uniform_ with
// a = √5, whose bound works out to 1/√fan_in) and of their biases.
func uniformFanIn(rng *tensor.RNG, t *tensor.Tensor, fanIn int) {
	bound := float32(1 / math.Sqrt(float64(fanIn)))
	for i := range t.Data {
		t.Data[i] = (2*rng.Float32() - 1) * bound
	}
}

// kaimingNormal fills w with N(0, 2/fan): torch.nn.init.kaiming_normal_
// with gain √2 (a = 0 and nonlinearity leaky_relu, its defaults, as the
// official _weights_init; or nonlinearity relu, as Resnet_LT.py), fan
// being fanIn(w) for mode fan_in and fanOut(w) for fan_out.
func kaimingNormal(rng *tensor.RNG, w *tensor.Tensor, fan int) {
	std := math.Sqrt(2 / float64(fan))
	for i := range w.Data {
		w.Data[i] = float32(rng.Normal() * std)
	}
}

// fanIn is PyTorch's fan_in of a weight (out, in, ...): in·(product of the
// kernel extents). For a grouped convolution in is the channels per group.
func fanIn(w *tensor.Tensor) int { return w.Numel() / w.Shape[0] }

// fanOut is PyTorch's fan_out of a weight (out, in, ...): out·(product of
// the kernel extents), whatever the groups.
func fanOut(w *tensor.Tensor) int { return w.Numel() / w.Shape[1] }
