package data

import (
	"fmt"

	"github.com/glmc/glmc/tensor"
)

// Transform turns a (C, H, W) byte image into normalised float32, with the
// official CIFAR training augmentation when asked: torchvision's
// RandomCrop(H, padding=Pad) then RandomHorizontalFlip(), ToTensor,
// Normalize(Mean, Std). Padding pixels are zero bytes, so after
// normalisation they hold −mean/std, as in PyTorch.
type Transform struct {
	Pad  int       // random crop from the image zero-padded by Pad on each side; 0: no crop
	Flip bool      // mirror left–right with probability ½
	Mean []float32 // per channel, on the [0, 1] scale
	Std  []float32 // per channel, positive
	// For datasets of image files (Dataset.Files), which bring each
	// decoded image to the dataset's Height×Width: Augment is the official
	// ImageNet-LT/iNaturalist training augmentation (RandomResizedCrop,
	// ColorJitter, RandomGrayscale, GaussianBlur, and the flip when Flip);
	// without it, evaluation's Resize(Resize) then CenterCrop, Resize 0
	// meaning the official ratio, 256 for 224.
	Augment bool
	Resize  int
	// Native takes image files as they decode, which must be the
	// dataset's Height×Width already, through the in-memory steps above
	// (Pad, Flip, normalisation) instead of the ImageNet-LT ones: CIFAR's
	// recipe for CIFAR images stored as files (see Recipe).
	Native bool
}

// TrainTransform is the official training augmentation for a dataset:
// 4-pixel-padded random crop, horizontal flip, normalisation; for image
// files the ImageNet-LT one (Augment).
func TrainTransform(in Info) Transform {
	if in.Files {
		return Transform{Augment: true, Flip: true, Mean: in.Mean, Std: in.Std}
	}
	return Transform{Pad: 4, Flip: true, Mean: in.Mean, Std: in.Std}
}

// EvalTransform only normalises; for image files that means the
// official Resize(256) then CenterCrop(224), scaled to the dataset's size.
func EvalTransform(in Info) Transform {
	return Transform{Mean: in.Mean, Std: in.Std}
}

// Recipe returns the training and evaluation transforms for dataset in by
// the recipe of the dataset named recipe: "" (or in's own name) for in's
// own, TrainTransform and EvalTransform; or, for a dataset of image files,
// an in-memory dataset of colour images, whose augmentation and
// normalisation then apply to the files as they decode (Native). So a
// folder of CIFAR-10 images trains as CIFAR-10 does with "cifar10".
func Recipe(in Info, recipe string) (train, eval Transform, err error) {
	if recipe == "" || recipe == in.Name {
		return TrainTransform(in), EvalTransform(in), nil
	}
	r, err := Lookup(recipe)
	switch {
	case err != nil:
		return Transform{}, Transform{}, fmt.Errorf("data: transform recipe %q: want %s's own or an in-memory dataset's: %w", recipe, in.Name, err)
	case !in.Files:
		return Transform{}, Transform{}, fmt.Errorf("data: transform recipe %q: %s holds no image files; only image-file datasets take another dataset's recipe", recipe, in.Name)
	case r.Files || r.Channels != 3:
		return Transform{}, Transform{}, fmt.Errorf("data: transform recipe %q: want an in-memory dataset of colour images (cifar10, cifar100, synthetic)", recipe)
	}
	train, eval = TrainTransform(r), EvalTransform(r)
	train.Native, eval.Native = true, true
	return train, eval, nil
}

// compiledTransform is a Transform bound to an image shape, with the
// byte-to-float mapping of each channel tabulated.
type compiledTransform struct {
	Transform
	c, h, w int
	lut     [][256]float32 // lut[c][v] = (v/255 − Mean[c]) / Std[c]
}

func (t Transform) compile(c, h, w int) (*compiledTransform, error) {
	if len(t.Mean) != c || len(t.Std) != c {
		return nil, fmt.Errorf("data: transform: %d means and %d stds for %d channels", len(t.Mean), len(t.Std), c)
	}
	if t.Pad < 0 {
		return nil, fmt.Errorf("data: transform: negative padding %d", t.Pad)
	}
	ct := &compiledTransform{Transform: t, c: c, h: h, w: w, lut: make([][256]float32, c)}
	for ch := range c {
		if !(t.Std[ch] > 0) {
			return nil, fmt.Errorf("data: transform: channel %d: std %v must be positive", ch, t.Std[ch])
		}
		for v := range 256 {
			// float32 throughout, in ToTensor's then Normalize's order, so
			// the values are PyTorch's to the bit.
			x := float32(v) / 255
			ct.lut[ch][v] = (x - t.Mean[ch]) / t.Std[ch]
		}
	}
	return ct, nil
}

// Apply writes the transformed image into dst (C·H·W values). img is
// (C, H, W) bytes. Randomness comes only from r (which may be nil when
// there is neither crop nor flip), in this order: crop row
// offset, crop column offset (each uniform over 0..2·Pad), then the flip.
func (t Transform) Apply(dst []float32, img []uint8, c, h, w int, r *tensor.RNG) error {
	ct, err := t.compile(c, h, w)
	if err != nil {
		return err
	}
	ct.apply(dst, img, r)
	return nil
}

// augmentation is the random part of one transformed view.
type augmentation struct {
	dy, dx int  // crop offsets into the padded image, 0..2·Pad
	flip   bool // mirrored after cropping
}

func (t *compiledTransform) draw(r *tensor.RNG) augmentation {
	var a augmentation
	if t.Pad > 0 {
		a.dy = r.Intn(2*t.Pad + 1)
		a.dx = r.Intn(2*t.Pad + 1)
	}
	if t.Flip {
		a.flip = r.Float64() < 0.5
	}
	return a
}

func (t *compiledTransform) apply(dst []float32, img []uint8, r *tensor.RNG) {
	h, w := t.h, t.w
	if len(dst) != t.c*h*w || len(img) != t.c*h*w {
		panic(fmt.Sprintf("data: transform: %d outputs and %d bytes for a %dx%dx%d image", len(dst), len(img), t.c, h, w))
	}
	a := t.draw(r)
	// Output (y, x) reads source row y+dy−Pad and column x'+dx−Pad, where
	// x' = x, or W−1−x when flipped; outside the image it reads a zero byte.
	oy, ox := a.dy-t.Pad, a.dx-t.Pad
	for ch := range t.c {
		lut := &t.lut[ch]
		zero := lut[0]
		src := img[ch*h*w : (ch+1)*h*w]
		out := dst[ch*h*w : (ch+1)*h*w]
		for y := range h {
			row := out[y*w : (y+1)*w]
			sy := y + oy
			if sy < 0 || sy >= h {
				for x := range row {
					row[x] = zero
				}
				continue
			}
			srow := src[sy*w : (sy+1)*w]
			// Columns x' with 0 ≤ x'+ox < w are inside the image.
			lo, hi := max(0, -ox), min(w, w-ox)
			for xp := range w {
				x := xp
				if a.flip {
					x = w - 1 - xp
				}
				if xp < lo || xp >= hi {
					row[x] = zero
				} else {
					row[x] = lut[srow[xp+ox]]
				}
			}
		}
	}
}
