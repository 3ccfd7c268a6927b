package nn_test

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// TestInferMatchesUnfused checks that the eval forward of Model.Infer,
// where each convolution applies the batch norm, residual sum and ReLU
// after it in its output epilogue, gives the bits of the unfused eval
// forward (the same model recording gradients, which keeps the layers
// apart), on every shortcut kind, on maps whose rows do and do not fit the
// epilogue's pieces, with each convolution algorithm forced and on 1 to 3
// threads; and that reusing the arena's storage, poisoned with NaN,
// changes nothing.
func TestInferMatchesUnfused(t *testing.T) {
	for _, c := range []struct {
		name        string
		cfg         nn.Config
		n, size     int  // images of the batch, side of the square input
		smallBlocks bool // Winograd blocks of the least size, cutting the maps
	}{
		// Identity and option-A shortcuts; Winograd by the plan at width
		// 16. Maps of 32, 16, 8: the epilogue runs on pieces of planes.
		// Maps of 14, 7, 4 in blocks that cut the first: rows of 14
		// values do not fit the epilogue's pieces, which then runs after
		// the whole map; the others fit in one block.
		{"resnet32_w16", nn.Config{Arch: "resnet32", Width: 16, Blocks: []int{2, 1, 1}}, 3, 32, false},
		{"resnet32_w16_14px", nn.Config{Arch: "resnet32", Width: 16, Blocks: []int{1, 1, 1}}, 7, 14, true},
		{"resnet32_w4_9px", nn.Config{Arch: "resnet32", Width: 4, Blocks: []int{1, 1, 1}}, 3, 9, false},
		// Option-B shortcuts (1×1 conv + BN), ReLU inside the function.
		{"resnet18_w4", nn.Config{Arch: "resnet18", Width: 4, HeadWidth: 8, Blocks: []int{2, 1, 1, 1}}, 3, 16, false},
		{"resnet50_w2", nn.Config{Arch: "resnet50", Width: 2, HeadWidth: 8, Blocks: []int{1, 1, 1, 1}}, 3, 16, false},
		// Grouped 3×3 convolutions, which stay unfused.
		{"resnext_w4", nn.Config{Arch: "resnext50_32x4d", Width: 4, Groups: 4, WidthPerGroup: 16, HeadWidth: 8, Blocks: []int{1, 1, 1, 1}}, 3, 32, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.smallBlocks {
				defer nn.SetWinoCacheFloats(nn.SetWinoCacheFloats(1))
			}
			c.cfg.NumClasses = 5
			m, err := nn.NewModel(c.cfg, tensor.NewRNG(7))
			if err != nil {
				t.Fatal(err)
			}
			randomStatistics(m, tensor.NewRNG(8))
			m.Train(false)
			x := tensor.RandN(tensor.NewRNG(9), c.n, m.Config.InChannels, c.size, c.size)
			forEachConvAlgo(t, func(t *testing.T) {
				var want *tensor.Tensor
				for _, threads := range []int{1, 2, 3} {
					t.Run(fmt.Sprintf("threads%d", threads), func(t *testing.T) {
						defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
						defer asm.SetThreads(asm.SetThreads(threads))
						unfused := m.Forward(autograd.Const(x)).Value
						if want == nil {
							want = unfused
						}
						a := tensor.NewArena()
						a.PoisonReleased = true
						for pass, got := range []*tensor.Tensor{unfused, m.Infer(a, x), m.Infer(a, x), m.Infer(nil, x)} {
							if i := firstDiff(got, want); i >= 0 {
								t.Fatalf("pass %d (0 unfused, 1-2 on one arena, 3 without): logit %d = %v, want %v (unfused, 1 thread)",
									pass, i, got.Data[i], want.Data[i])
							}
						}
					})
				}
			})
		})
	}
}

// randomStatistics gives every batch norm of m running statistics, γ and
// β far from their initial values, so that the eval-mode affine maps are
// not the identity, and randomises the Linear biases on the way.
func randomStatistics(m *nn.Model, r *tensor.RNG) {
	m.Visit("", func(e nn.Entry) {
		v := e.Tensor()
		switch {
		case v == nil || v.Dim() != 1:
		case e.Buffer != nil && len(e.Name) > 4 && e.Name[len(e.Name)-4:] == "_var":
			for i := range v.Data {
				v.Data[i] = 0.5 + r.Float32()
			}
		default: // running_mean, γ, β, Linear biases
			for i := range v.Data {
				v.Data[i] = float32(0.5 * r.Normal())
			}
		}
	})
}

// firstDiff returns the index of the first element whose bits differ
// between a and b (every NaN differs), or -1 when there is none; -2 when
// the shapes differ.
func firstDiff(a, b *tensor.Tensor) int {
	if !tensor.SameShape(a, b) {
		return -2
	}
	for i := range a.Data {
		if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) || a.Data[i] != a.Data[i] {
			return i
		}
	}
	return -1
}

// TestInferReleasesActivations checks that an eval pass gives each
// activation back to the arena once the next layer has consumed it: the
// arena then holds a few activations per stage, not all of them.
func TestInferReleasesActivations(t *testing.T) {
	const n, width, size = 4, 4, 32
	m, err := nn.NewModel(nn.Config{Arch: "resnet32", NumClasses: 5, Width: width, Blocks: []int{4, 4, 4}}, tensor.NewRNG(7))
	if err != nil {
		t.Fatal(err)
	}
	m.Train(false)
	a := tensor.NewArena()
	m.Infer(a, tensor.RandN(tensor.NewRNG(9), n, 3, size, size))
	// All activations: 9 maps of stage 1 (the stem's and two per block),
	// 9 of stage 2 (with the shortcut's) and 9 of stage 3, a half and a
	// quarter of the size: 15.75 of stage 1's.
	unit := 4 * n * width * size * size
	if a.Held() > 8*unit {
		t.Errorf("the arena holds %d bytes after an eval pass, %.1f activations of the first stage; want at most 8",
			a.Held(), float64(a.Held())/float64(unit))
	}
}
