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

// kaimingNormal fills w, a weight of shape (out, in, ...), with
// N(0, 2/fan_in), fan_in = in·(product of the kernel extents):
// torch.nn.init.kaiming_normal_ with its defaults (a = 0, mode fan_in,
// nonlinearity leaky_relu, so gain √2), as the official _weights_init.
func kaimingNormal(rng *tensor.RNG, w *tensor.Tensor) {
	fanIn := w.Numel() / w.Shape[0]
	std := math.Sqrt(2 / float64(fanIn))
	for i := range w.Data {
		w.Data[i] = float32(rng.Normal() * std)
	}
}
