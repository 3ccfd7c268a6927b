package data

import (
	"fmt"
	"math"

	"github.com/glmc/glmc/tensor"
)

// The official ImageNet-LT and iNaturalist training augmentation
// (utils/util.py, "augmentation_sim"), in its order:
// RandomResizedCrop(size), ColorJitter(0.4, 0.4, 0.4, 0) in a random order,
// RandomGrayscale(0.2), moco's GaussianBlur(σ ∈ [0.1, 2]) with
// probability 0.5, RandomHorizontalFlip, ToTensor, Normalize.
const (
	rrcScaleMin, rrcScaleMax   = 0.08, 1.0
	rrcRatioMin, rrcRatioMax   = 3.0 / 4, 4.0 / 3
	rrcTries                   = 10
	jitterMin, jitterMax       = 1 - 0.4, 1 + 0.4
	grayscaleP                 = 0.2
	blurP                      = 0.5
	blurSigmaMin, blurSigmaMax = 0.1, 2.0
)

// rrcLogRatio is torchvision's log_ratio, computed on a float32 tensor.
var rrcLogRatio = [2]float32{float32(math.Log(float64(float32(rrcRatioMin)))), float32(math.Log(float64(float32(rrcRatioMax))))}

// cropDraws is the randomness RandomResizedCrop consumes: torch's uniform_
// on a float32 tensor and randint.
type cropDraws interface {
	uniform(lo, hi float32) float32
	randint(n int) int // in [0, n)
}

// rngDraws draws from a tensor.RNG (the Go stream, not torch's).
type rngDraws struct{ r *tensor.RNG }

func (d rngDraws) uniform(lo, hi float32) float32 { return lo + (hi-lo)*d.r.Float32() }
func (d rngDraws) randint(n int) int              { return d.r.Intn(n) }

// randomResizedCropParams is torchvision's RandomResizedCrop.get_params
// for a w×h image: up to ten tries of an area fraction in [0.08, 1] and a
// log-uniform aspect ratio in [3/4, 4/3], rounded half to even as Python's
// round, the first crop that fits placed uniformly; else the centre crop of
// the whole image clamped to the ratio range. It returns the crop's top,
// left, height and width.
func randomResizedCropParams(w, h int, d cropDraws) (top, left, ch, cw int) {
	area := float64(w * h)
	for range rrcTries {
		target := area * float64(d.uniform(rrcScaleMin, rrcScaleMax))
		aspect := float64(float32(math.Exp(float64(d.uniform(rrcLogRatio[0], rrcLogRatio[1])))))
		cw = int(math.RoundToEven(math.Sqrt(target * aspect)))
		ch = int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < cw && cw <= w && 0 < ch && ch <= h {
			top = d.randint(h - ch + 1)
			left = d.randint(w - cw + 1)
			return top, left, ch, cw
		}
	}
	switch ratio := float64(w) / float64(h); {
	case ratio < rrcRatioMin:
		cw, ch = w, int(math.RoundToEven(float64(w)/rrcRatioMin))
	case ratio > rrcRatioMax:
		cw, ch = int(math.RoundToEven(float64(h)*rrcRatioMax)), h
	default:
		cw, ch = w, h
	}
	return (h - ch) / 2, (w - cw) / 2, ch, cw
}

// jitterDraw is one ColorJitter draw: the order of torchvision's four
// adjustments (a permutation of 0 brightness, 1 contrast, 2 saturation,
// 3 hue, which strength 0 leaves out) and the three factors, float32 as
// torch draws them and PIL takes them.
type jitterDraw struct {
	order   []int
	factors [3]float32
}

func drawJitter(r *tensor.RNG) jitterDraw {
	j := jitterDraw{order: r.Perm(4)}
	for k := range j.factors {
		j.factors[k] = jitterMin + (jitterMax-jitterMin)*r.Float32()
	}
	return j
}

// colorJitter applies a ColorJitter draw in its order.
func colorJitter(img *RGB, j jitterDraw) {
	for _, fn := range j.order {
		switch fn {
		case 0:
			adjustBrightness(img, j.factors[0])
		case 1:
			adjustContrast(img, j.factors[1])
		case 2:
			adjustSaturation(img, j.factors[2])
		}
	}
}

// trainImage is the official training augmentation of img up to ToTensor,
// a size×size image. Its draws from r, in order: the crop's (up to ten
// pairs of uniforms, then two integers), the jitter's order and factors,
// grayscale's, blur's (then σ when it applies), and flip's when flip.
func trainImage(img *RGB, size int, r *tensor.RNG, flip bool) *RGB {
	top, left, h, w := randomResizedCropParams(img.W, img.H, rngDraws{r})
	out := resizeBilinear(img, left, top, w, h, size, size)
	colorJitter(out, drawJitter(r))
	if r.Float64() < grayscaleP {
		grayscale(out)
	}
	if r.Float64() <= blurP { // RandomApply skips when p < rand
		gaussianBlur(out, float32(blurSigmaMin+(blurSigmaMax-blurSigmaMin)*r.Float64()))
	}
	if flip && r.Float64() < 0.5 {
		hflip(out)
	}
	return out
}

// evalImage is the official evaluation transform up to ToTensor:
// Resize(resize) then CenterCrop(crop), resize ≥ crop.
func evalImage(img *RGB, resize, crop int) *RGB {
	r := resizeShorter(img, resize)
	return cropRGB(r, centerCropOffset(r.W, crop), centerCropOffset(r.H, crop), crop, crop)
}

// sampleTransform makes the augmented views of one image of a dataset.
type sampleTransform interface {
	// fill writes view v of image i into dsts[v], drawing its randomness
	// from rng(v). An image that cannot be read leaves dsts alone and is
	// the error.
	fill(dsts [][]float32, d *Dataset, i int, rng func(v int) *tensor.RNG) error
}

// compileFor binds t to dataset d: CIFAR-style augmentation of the bytes
// in memory, or, for image files, decoding and the official ImageNet-LT
// transforms to d's Height×Width.
func (t Transform) compileFor(d *Dataset) (sampleTransform, error) {
	if d.Files == nil {
		if t.Augment || t.Resize != 0 {
			return nil, fmt.Errorf("data: transform: %s holds no image files; Augment and Resize are for image-file datasets", d.Name)
		}
		return t.compile(d.Channels, d.Height, d.Width)
	}
	switch {
	case d.Channels != 3 || d.Height != d.Width:
		return nil, fmt.Errorf("data: transform: %s: images of %dx%dx%d, want 3 channels and a square size", d.Name, d.Channels, d.Height, d.Width)
	case t.Native && (t.Augment || t.Resize != 0):
		return nil, fmt.Errorf("data: transform: %s: Native takes the images as they decode, without Augment or Resize", d.Name)
	case t.Native:
		ct, err := t.compile(3, d.Height, d.Width)
		if err != nil {
			return nil, err
		}
		return nativeTransform{ct}, nil
	case t.Pad != 0:
		return nil, fmt.Errorf("data: transform: %s: padded crops are for in-memory datasets, want Augment or Resize", d.Name)
	case t.Augment && t.Resize != 0:
		return nil, fmt.Errorf("data: transform: %s: want either Augment (training) or Resize (evaluation)", d.Name)
	case t.Resize != 0 && t.Resize < d.Height:
		return nil, fmt.Errorf("data: transform: %s: Resize %d is below the crop %d", d.Name, t.Resize, d.Height)
	}
	if !t.Augment && t.Resize == 0 {
		t.Resize = d.Height * 256 / 224 // the official Resize(256), CenterCrop(224)
	}
	ct, err := t.compile(3, d.Height, d.Width)
	if err != nil {
		return nil, err
	}
	return imageTransform{ct}, nil
}

func (t *compiledTransform) fill(dsts [][]float32, d *Dataset, i int, rng func(v int) *tensor.RNG) error {
	img := d.Image(i)
	for v, dst := range dsts {
		t.apply(dst, img, rng(v))
	}
	return nil
}

// imageTransform decodes an image file once and makes each view of it.
type imageTransform struct{ *compiledTransform }

func (t imageTransform) fill(dsts [][]float32, d *Dataset, i int, rng func(v int) *tensor.RNG) error {
	img, err := DecodeFile(d.Files[i])
	if err != nil {
		return err
	}
	for v, dst := range dsts {
		t.view(dst, img, rng(v))
	}
	return nil
}

// nativeTransform decodes an image file once, checks that it has the
// dataset's size, and makes each view of it as of an in-memory image.
type nativeTransform struct{ *compiledTransform }

func (t nativeTransform) fill(dsts [][]float32, d *Dataset, i int, rng func(v int) *tensor.RNG) error {
	img, err := DecodeFile(d.Files[i])
	if err != nil {
		return err
	}
	if img.W != t.w || img.H != t.h {
		return fmt.Errorf("data: %s: a %dx%d image, want %dx%d: the recipe takes images at the dataset's size (--image-size)",
			d.Files[i].Path, img.W, img.H, t.w, t.h)
	}
	n := img.W * img.H
	chw := make([]uint8, 3*n) // (H, W, 3) to the (C, H, W) of in-memory images
	for p := range n {
		chw[p], chw[n+p], chw[2*n+p] = img.Pix[3*p], img.Pix[3*p+1], img.Pix[3*p+2]
	}
	for v, dst := range dsts {
		t.apply(dst, chw, rng(v))
	}
	return nil
}

// view makes one transformed view of a decoded image into dst.
func (t imageTransform) view(dst []float32, img *RGB, r *tensor.RNG) {
	if t.Augment {
		t.toTensor(dst, trainImage(img, t.h, r, t.Flip))
	} else {
		t.toTensor(dst, evalImage(img, t.Resize, t.h))
	}
}

// toTensor is ToTensor then Normalize: (H, W, 3) bytes to (3, H, W)
// normalised floats, through the compiled per-channel table.
func (t imageTransform) toTensor(dst []float32, img *RGB) {
	n := img.W * img.H
	if len(dst) != 3*n {
		panic(fmt.Sprintf("data: transform: %d outputs for a %dx%d image", len(dst), img.W, img.H))
	}
	for c := range 3 {
		lut := &t.lut[c]
		out := dst[c*n : (c+1)*n]
		for p := range out {
			out[p] = lut[img.Pix[3*p+c]]
		}
	}
}
