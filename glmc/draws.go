package glmc

import (
	"fmt"
	"math"

	"github.com/glmc/glmc/tensor"
)

// Stream purposes of a step's draws (see tensor.NewRNG). λ and the box have
// streams of their own, keyed by (seed, purpose, epoch, step) like the data
// package's streams, so a step's draws depend on nothing but its place in
// the run: a resumed run redraws them identically.
const (
	purposeLambda uint64 = 0x1a3bda
	purposeBox    uint64 = 0xb0c5
)

// mixBeta is the Beta(mixBeta, mixBeta) parameter of λ. The official
// GLMC_mixed draws λ ~ Beta(1, 1) with its own default argument; the
// Trainer also draws np.random.beta(args.beta, args.beta) (the --beta flag,
// default 0.5) but never uses that value, so the flag has no effect.
const mixBeta = 1

// Box is the CutMix rectangle of a step: rows [R0, R1) and columns
// [C0, C1) of every image of the batch. In the official rand_bbox these
// are bbx1, bbx2 (they index dimension 2, the rows, although the code calls
// that extent W) and bby1, bby2 (dimension 3). The box may be empty.
type Box struct {
	R0, C0, R1, C1 int
}

// Area is the number of pixels of one image plane inside the box.
func (b Box) Area() int { return (b.R1 - b.R0) * (b.C1 - b.C0) }

// Draws are the random choices of one GLMC step. Draw makes them from the
// run's seed; a test can fill them in by hand (a PyTorch fixture's λ and
// box).
type Draws struct {
	// Lambda is λ ∈ [0, 1], shared by MixUp, CutMix and all the soft labels.
	Lambda float64
	// Box is the CutMix rectangle for images of the size given to Draw,
	// one for the whole batch.
	Box Box
}

// Draw returns the draws of step (0-based, within epoch) for h×w images:
// λ ~ Beta(1, 1), then the box centre uniform over the pixels (row first,
// as the official rand_bbox) and the box from CutBox. It panics if h or w
// is not positive.
func Draw(seed uint64, epoch, step, h, w int) Draws {
	lam := tensor.NewRNG(seed, purposeLambda, uint64(epoch), uint64(step)).Beta(mixBeta, mixBeta)
	r := tensor.NewRNG(seed, purposeBox, uint64(epoch), uint64(step))
	row := r.Intn(h)
	col := r.Intn(w)
	return Draws{Lambda: lam, Box: CutBox(h, w, lam, row, col)}
}

// CutBox is the official rand_bbox for h×w images, given λ and the box
// centre (row, col): side lengths ⌈h·√(1−λ)⌉ and ⌈w·√(1−λ)⌉, then the
// box extends half a side (rounded down) each way from the centre and is
// clipped to the image. So an odd side loses one pixel, a box at the border
// loses what falls outside, and the pasted area is only roughly (1−λ)·h·w.
// It panics if λ is outside [0, 1] or the centre outside the image.
func CutBox(h, w int, lambda float64, row, col int) Box {
	if !(lambda >= 0 && lambda <= 1) {
		panic(fmt.Sprintf("glmc: CutBox: λ = %v outside [0, 1]", lambda))
	}
	if row < 0 || row >= h || col < 0 || col >= w {
		panic(fmt.Sprintf("glmc: CutBox: centre (%d, %d) outside the %d×%d image", row, col, h, w))
	}
	ratio := math.Sqrt(1 - lambda)
	halfH := int(math.Ceil(float64(h)*ratio)) / 2
	halfW := int(math.Ceil(float64(w)*ratio)) / 2
	// The official code clips all four ends to [0, extent]; with the centre
	// inside the image only these two sides of each can fall outside.
	return Box{R0: max(row-halfH, 0), C0: max(col-halfW, 0), R1: min(row+halfH, h), C1: min(col+halfW, w)}
}
