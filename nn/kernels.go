package nn

import (
	"math"

	"github.com/glmc/glmc/asm"
)

// The helpers below work on one contiguous plane (one channel of one
// image, or any run of values); each keeps a fixed order of operations, so
// results are reproducible.

// sum32 is Σ x in float32, in the fixed order of asm.Sum.
func sum32(x []float32) float32 { return asm.Sum(x) }

// passIfPositive returns g where the ReLU output y is positive and 0
// elsewhere: PyTorch's ReLU gradient, which is 0 at y = 0. It uses the sign
// of y's bits instead of a branch, which a ReLU mask would mispredict half
// of the time: −bits(y) has its sign bit set exactly when bits(y) > 0, that
// is, when y > 0 (ReLU outputs are never −0). NaN outputs pass g through.
func passIfPositive(g, y float32) float32 {
	keep := uint32(-int32(math.Float32bits(y)) >> 31)
	return math.Float32frombits(math.Float32bits(g) & keep)
}
