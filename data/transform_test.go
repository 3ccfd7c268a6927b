package data

import (
	"math"
	"testing"

	"github.com/glmc/glmc/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referenceAugment is the plain version: build the zero-padded image, cut
// the window at (dy, dx), mirror it, normalise in float64.
func referenceAugment(img []uint8, c, h, w, pad int, a augmentation, mean, std []float32) []float64 {
	ph, pw := h+2*pad, w+2*pad
	out := make([]float64, c*h*w)
	for ch := range c {
		padded := make([]uint8, ph*pw)
		for y := range h {
			for x := range w {
				padded[(y+pad)*pw+x+pad] = img[ch*h*w+y*w+x]
			}
		}
		for y := range h {
			for x := range w {
				v := padded[(y+a.dy)*pw+x+a.dx]
				ox := x
				if a.flip {
					ox = w - 1 - x
				}
				out[ch*h*w+y*w+ox] = (float64(v)/255 - float64(mean[ch])) / float64(std[ch])
			}
		}
	}
	return out
}

func TestTransformMatchesReference(t *testing.T) {
	for _, shape := range [][3]int{{3, 32, 32}, {1, 28, 28}, {2, 5, 7}} {
		c, h, w := shape[0], shape[1], shape[2]
		img, _ := fakeImages(uint64(h), 1, 1)
		img = img[:c*h*w]
		tf := Transform{Pad: 4, Flip: true, Mean: make([]float32, c), Std: make([]float32, c)}
		for ch := range c {
			tf.Mean[ch], tf.Std[ch] = 0.4+0.01*float32(ch), 0.2+0.03*float32(ch)
		}
		ct, err := tf.compile(c, h, w)
		require.NoError(t, err)
		dst := make([]float32, c*h*w)
		for k := range 60 {
			a := ct.draw(tensor.NewRNG(1, uint64(k)))
			ct.apply(dst, img, tensor.NewRNG(1, uint64(k)))
			want := referenceAugment(img, c, h, w, 4, a, tf.Mean, tf.Std)
			for i := range dst {
				require.InDelta(t, want[i], float64(dst[i]), 1e-5, "shape %v draw %d (%+v) element %d", shape, k, a, i)
			}
		}
	}
}

func TestNormalizeIsPyTorchsFloat32(t *testing.T) {
	in, err := Lookup("cifar10")
	require.NoError(t, err)
	img := make([]uint8, 3*32*32)
	for i := range img {
		img[i] = uint8(i * 7)
	}
	dst := make([]float32, len(img))
	require.NoError(t, EvalTransform(in).Apply(dst, img, 3, 32, 32, nil))
	for i, v := range img {
		ch := i / 1024
		// ToTensor: float32 division by 255; Normalize: float32 sub, div.
		want := (float32(v)/255 - in.Mean[ch]) / in.Std[ch]
		require.Equal(t, want, dst[i], "element %d", i)
		require.InDelta(t, (float64(v)/255-float64(in.Mean[ch]))/float64(in.Std[ch]), float64(dst[i]), 1e-6)
	}
	// Spot values: byte 0 in channel 0 is −mean/std, byte 255 is (1−mean)/std.
	assert.InDelta(t, -0.49139968/0.24703233, float64(dst[0]), 1e-6)

	_, err = Transform{Mean: []float32{0}, Std: []float32{0}}.compile(1, 2, 2)
	assert.ErrorContains(t, err, "std 0 must be positive")
	_, err = Transform{Mean: []float32{0}, Std: []float32{1}}.compile(3, 2, 2)
	assert.ErrorContains(t, err, "1 means and 1 stds for 3 channels")
}

func TestPaddingHoldsNormalisedZero(t *testing.T) {
	in, _ := Lookup("cifar100")
	tf, err := TrainTransform(in).compile(3, 32, 32)
	require.NoError(t, err)
	img := make([]uint8, 3*32*32)
	for i := range img {
		img[i] = 200
	}
	dst := make([]float32, len(img))
	for k := uint64(0); ; k++ {
		r := tensor.NewRNG(5, k)
		if a := tf.draw(tensor.NewRNG(5, k)); a.dy != 0 || a.dx != 0 {
			continue // want the crop at the top-left corner
		}
		tf.apply(dst, img, r)
		break
	}
	for ch := range 3 {
		pad := -in.Mean[ch] / in.Std[ch]
		assert.Equal(t, pad, dst[ch*1024], "corner is padding")
		assert.Equal(t, pad, dst[ch*1024+3*32+3], "(3,3) is padding")
		assert.Equal(t, (float32(200)/255-in.Mean[ch])/in.Std[ch], dst[ch*1024+4*32+4], "(4,4) is the image's (0,0)")
	}
}

// TestAugmentationStatistics decodes crop offsets and flips from the
// loader's output over many images and epochs: offsets must be uniform over
// 0..8 and flips happen half the time.
func TestAugmentationStatistics(t *testing.T) {
	// Each image holds x+1 in channel 0 and y+1 in channel 1, so one output
	// pixel in the middle gives the crop offset and its neighbour the flip.
	d := &Dataset{Name: "coords", Channels: 2, Height: 32, Width: 32, Classes: []string{"a"}}
	n := 500
	for range n {
		for ch := range 2 {
			for y := range 32 {
				for x := range 32 {
					d.Images = append(d.Images, uint8([2]int{x, y}[ch]+1))
				}
			}
		}
		d.Labels = append(d.Labels, 0)
	}
	l, err := NewLoader(LoaderConfig{Dataset: d, Sampler: ShuffleSampler{N: n, Seed: 1}, BatchSize: 100, Views: 2,
		Transform: Transform{Pad: 4, Flip: true, Mean: []float32{0, 0}, Std: []float32{1, 1}}, Workers: 2, Seed: 11})
	require.NoError(t, err)
	var dx, dy [9]int
	flips, draws := 0, 0
	byte255 := func(v float32) int { return int(math.Round(float64(v) * 255)) }
	epochs := 20
	if testing.Short() {
		epochs = 8
	}
	for e := range epochs {
		for b := range l.Batches(e, 0) {
			for _, view := range b.Views {
				for k := range len(b.Labels) {
					img := view.Data[k*2048 : (k+1)*2048]
					mid, next := byte255(img[16*32+16]), byte255(img[16*32+17])
					flip := next < mid
					if flip {
						flips++
						dx[mid-1-15+4]++ // output x=16 reads source 31−16+dx−4
					} else {
						dx[mid-1-16+4]++ // output x=16 reads source 16+dx−4
					}
					dy[byte255(img[1024+16*32+16])-1-16+4]++
					draws++
				}
			}
		}
	}
	for o := range 9 {
		// σ of a frequency of 1/9 over 20000 draws is 0.0022.
		assert.InDelta(t, 1.0/9, float64(dx[o])/float64(draws), 0.012, "dx=%d", o)
		assert.InDelta(t, 1.0/9, float64(dy[o])/float64(draws), 0.012, "dy=%d", o)
	}
	assert.InDelta(t, 0.5, float64(flips)/float64(draws), 0.02)
	t.Logf("%d draws: dx %v dy %v flips %d", draws, dx, dy, flips)
}
