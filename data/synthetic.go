package data

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/glmc/glmc/tensor"
)

// SyntheticConfig sizes the synthetic dataset. Zero fields take the
// defaults noted.
type SyntheticConfig struct {
	Seed          uint64 // the whole dataset is a function of this seed
	Classes       int    // 10
	TrainPerClass int    // 500; the long-tailed split is taken from these
	TestPerClass  int    // 100
	Size          int    // image side in pixels, 32 (3×Size×Size images)
}

func (c SyntheticConfig) withDefaults() SyntheticConfig {
	if c.Classes == 0 {
		c.Classes = 10
	}
	if c.TrainPerClass == 0 {
		c.TrainPerClass = 500
	}
	if c.TestPerClass == 0 {
		c.TestPerClass = 100
	}
	if c.Size == 0 {
		c.Size = 32
	}
	return c
}

// Stream purposes of the synthetic generator (see tensor.NewRNG).
const (
	purposeSynthClass uint64 = 0x5e7c1a55
	purposeSynthImage uint64 = 0x5e71a6e5
)

// synthShapes is the number of object shapes; a class is a (shape, colour
// group, texture) triple, so neither colour nor shape alone names it.
const synthShapes = 5

// synthClass holds what all images of one class share.
type synthClass struct {
	shape     int
	hue       float64 // in [0, 1)
	stripeCos float64 // stripe direction
	stripeSin float64
	stripeHz  float64 // radians per pixel
}

// Synthetic generates a balanced CIFAR-like dataset from a seed: each class
// is an object of a class-specific shape, hue and stripe texture, drawn at
// a random place and size over a random graded background with distractor
// blobs and pixel noise. Classes that share a shape differ only in colour
// and texture, and hues of nearby colour groups overlap under jitter, so a
// model has to combine cues: learnable, not trivial. Apply LongTail for the
// long-tailed version, as with the real datasets. Each image has its own
// random stream, so the result does not depend on generation order.
func Synthetic(cfg SyntheticConfig) (train, test *Dataset, err error) {
	cfg = cfg.withDefaults()
	if cfg.Classes < 2 || cfg.TrainPerClass < 1 || cfg.TestPerClass < 1 || cfg.Size < 8 {
		return nil, nil, fmt.Errorf("data: synthetic: want at least 2 classes, 1 image per class and split, side 8; got %+v", cfg)
	}
	groups := (cfg.Classes + synthShapes - 1) / synthShapes
	classes := make([]synthClass, cfg.Classes)
	names := synthClassNames(cfg.Classes)
	for c := range classes {
		r := tensor.NewRNG(cfg.Seed, purposeSynthClass, uint64(c))
		theta := math.Pi * r.Float64()
		classes[c] = synthClass{
			shape:     c % synthShapes,
			hue:       float64(c/synthShapes)/float64(groups) + 0.05*r.Float64(),
			stripeCos: math.Cos(theta),
			stripeSin: math.Sin(theta),
			stripeHz:  0.35 + 0.5*r.Float64(),
		}
	}
	gen := func(split uint64, perClass int, name string) *Dataset {
		d := &Dataset{Name: name, Channels: 3, Height: cfg.Size, Width: cfg.Size, Classes: names,
			Images: make([]uint8, cfg.Classes*perClass*3*cfg.Size*cfg.Size),
			Labels: make([]int, 0, cfg.Classes*perClass)}
		// Interleave classes (0, 1, ..., C−1, 0, 1, ...) like shuffled
		// real data. Images are independent, so goroutines share the work.
		for k := range cfg.Classes * perClass {
			d.Labels = append(d.Labels, k%cfg.Classes)
		}
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for k := w; k < len(d.Labels); k += workers {
					c, i := k%cfg.Classes, k/cfg.Classes
					r := tensor.NewRNG(cfg.Seed, purposeSynthImage, split, uint64(c), uint64(i))
					classes[c].draw(d.Image(k), cfg.Size, r)
				}
			})
		}
		wg.Wait()
		return d
	}
	return gen(0, cfg.TrainPerClass, "synthetic/train"), gen(1, cfg.TestPerClass, "synthetic/test"), nil
}

// draw renders one image of the class into img (3, s, s).
func (k *synthClass) draw(img []uint8, s int, r *tensor.RNG) {
	fs := float64(s)
	// Background: a low-saturation colour with a linear gradient.
	bg := hsv(r.Float64(), 0.3*r.Float64(), 0.3+0.4*r.Float64())
	gAngle := 2 * math.Pi * r.Float64()
	gx, gy := 0.3*math.Cos(gAngle)/fs, 0.3*math.Sin(gAngle)/fs
	// Object: class shape, jittered class hue, random place and size.
	col := hsv(k.hue+0.06*(r.Float64()-0.5), 0.55+0.45*r.Float64(), 0.55+0.45*r.Float64())
	cx := fs/2 + (r.Float64()-0.5)*0.4*fs
	cy := fs/2 + (r.Float64()-0.5)*0.4*fs
	rad := fs * (0.2 + 0.15*r.Float64())
	phase := 2 * math.Pi * r.Float64()
	// Two distractor blobs of any colour.
	type blob struct {
		x, y, r2 float64
		col      [3]float64
	}
	var blobs [2]blob
	for i := range blobs {
		br := fs * (0.05 + 0.08*r.Float64())
		blobs[i] = blob{fs * r.Float64(), fs * r.Float64(), br * br, hsv(r.Float64(), r.Float64(), r.Float64())}
	}
	plane := s * s
	for y := range s {
		for x := range s {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			shade := 1 + gx*(fx-fs/2) + gy*(fy-fs/2)
			px := [3]float64{bg[0] * shade, bg[1] * shade, bg[2] * shade}
			for _, b := range blobs {
				if dx, dy := fx-b.x, fy-b.y; dx*dx+dy*dy <= b.r2 {
					px = b.col
				}
			}
			if dx, dy := fx-cx, fy-cy; inShape(k.shape, dx, dy, rad) {
				t := 0.75 + 0.25*math.Sin(k.stripeHz*(dx*k.stripeCos+dy*k.stripeSin)+phase)
				px = [3]float64{col[0] * t, col[1] * t, col[2] * t}
			}
			// Pixel noise: each 64-bit draw gives four 16-bit uniforms
			// whose sum (Irwin–Hall) is near-Gaussian, σ ≈ 0.07 here, at a
			// fraction of the cost of Box–Muller.
			for ch := range 3 {
				u := r.Uint64()
				n := float64(u&0xffff) + float64(u>>16&0xffff) + float64(u>>32&0xffff) + float64(u>>48) - 2*65535
				v := 255*(px[ch]+0.12*n/65535) + 0.5
				switch {
				case v < 0:
					v = 0
				case v > 255:
					v = 255
				}
				img[ch*plane+y*s+x] = uint8(v)
			}
		}
	}
}

// inShape reports whether offset (dx, dy) from the centre lies in the shape
// of the given kind and radius.
func inShape(kind int, dx, dy, r float64) bool {
	ax, ay := math.Abs(dx), math.Abs(dy)
	switch kind {
	case 0: // disc
		return dx*dx+dy*dy <= r*r
	case 1: // square
		return ax <= 0.8*r && ay <= 0.8*r
	case 2: // triangle, apex up
		return dy >= -r && dy <= 0.7*r && ax <= 0.6*(dy+r)
	case 3: // ring
		d2 := dx*dx + dy*dy
		return d2 <= r*r && d2 >= 0.3*r*r
	default: // cross
		return (ax <= 0.3*r && ay <= r) || (ay <= 0.3*r && ax <= r)
	}
}

// hsv converts a colour with hue in [0,1) (wrapping), saturation and value
// in [0,1] to RGB in [0,1].
func hsv(h, s, v float64) [3]float64 {
	h = (h - math.Floor(h)) * 6
	i := int(h) % 6
	f := h - math.Floor(h)
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	switch i {
	case 0:
		return [3]float64{v, t, p}
	case 1:
		return [3]float64{q, v, p}
	case 2:
		return [3]float64{p, v, t}
	case 3:
		return [3]float64{p, q, v}
	case 4:
		return [3]float64{t, p, v}
	default:
		return [3]float64{v, p, q}
	}
}

// synthClassNames names the synthetic classes by shape and colour group:
// disc-0, square-0, …, disc-1, ….
func synthClassNames(classes int) []string {
	names := make([]string, classes)
	for c := range names {
		names[c] = fmt.Sprintf("%s-%d", [synthShapes]string{"disc", "square", "triangle", "ring", "cross"}[c%synthShapes], c/synthShapes)
	}
	return names
}
