package data

import (
	"math"
)

// The image operations of the official ImageNet-LT / iNaturalist
// augmentation, each computing what torchvision 0.14 makes PIL (9.x)
// compute, integer for integer where PIL works in integers and in float32
// where PIL does (its blend factor is a C float). vision_test.go compares
// each with tools/golden/gen_vision.py's fixtures.

// resizeBilinear is PIL's Image.resize(size, BILINEAR) of the w×h region
// of src at (x0, y0), which torchvision's crop-then-resize amounts to
// (the region is cropped first, so the filter never reads outside it):
// PIL's two-pass resampling (Resample.c) with its antialiasing (the
// bilinear kernel widened by the reduction factor), coefficients in
// 22-bit fixed point, a horizontal pass into an 8-bit image, then a
// vertical one. A pass whose size does not change is skipped, as in PIL.
func resizeBilinear(src *RGB, x0, y0, w, h, outW, outH int) *RGB {
	if outW == w && outH == h {
		return cropRGB(src, x0, y0, w, h)
	}
	tmp := src
	tx0, ty0 := x0, y0
	if outW != w {
		tmp = NewRGB(outW, h)
		bounds, k, ksize := resampleCoeffs(w, outW)
		for y := range h {
			in := src.Pix[3*(src.W*(y0+y)+x0):]
			out := tmp.Pix[3*outW*y:]
			for xx := range outW {
				xmin, n := bounds[2*xx], bounds[2*xx+1]
				kk := k[xx*ksize : xx*ksize+n]
				s0, s1, s2 := int32(1<<(resamplePrecision-1)), int32(1<<(resamplePrecision-1)), int32(1<<(resamplePrecision-1))
				for i, c := range kk {
					p := in[3*(xmin+i):]
					s0 += int32(p[0]) * c
					s1 += int32(p[1]) * c
					s2 += int32(p[2]) * c
				}
				out[3*xx], out[3*xx+1], out[3*xx+2] = clip8(s0), clip8(s1), clip8(s2)
			}
		}
		tx0, ty0 = 0, 0
	}
	if outH == h {
		return cropRGB(tmp, tx0, ty0, outW, h)
	}
	dst := NewRGB(outW, outH)
	bounds, k, ksize := resampleCoeffs(h, outH)
	acc := make([]int32, 3*outW)
	for yy := range outH {
		ymin, n := bounds[2*yy], bounds[2*yy+1]
		// Row by row into one accumulator per output byte: the same
		// integer sums as PIL's, in an order that reads memory in rows.
		for x := range acc {
			acc[x] = 1 << (resamplePrecision - 1)
		}
		for i, c := range k[yy*ksize : yy*ksize+n] {
			off := 3 * (tmp.W*(ty0+ymin+i) + tx0)
			for x, v := range tmp.Pix[off : off+len(acc)] {
				acc[x] += int32(v) * c
			}
		}
		out := dst.Pix[3*outW*yy : 3*outW*(yy+1)]
		for x, s := range acc {
			out[x] = clip8(s)
		}
	}
	return dst
}

// resamplePrecision is PIL's PRECISION_BITS for 8-bit images: 32 − 8 − 2.
const resamplePrecision = 22

// clip8 is PIL's clip8: the fixed-point sum shifted down, clamped to a byte.
func clip8(s int32) uint8 { return uint8(min(max(s>>resamplePrecision, 0), 255)) }

// resampleCoeffs is PIL's precompute_coeffs for the bilinear filter
// (support 1) from inSize to outSize samples, followed by
// normalize_coeffs_8bpc: for output sample i, the first input sample
// bounds[2i], the count bounds[2i+1], and the fixed-point weights
// k[i·ksize:].
func resampleCoeffs(inSize, outSize int) (bounds []int, k []int32, ksize int) {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := filterscale // the bilinear filter's support is 1
	ksize = int(math.Ceil(support))*2 + 1
	bounds = make([]int, 2*outSize)
	k = make([]int32, outSize*ksize)
	w := make([]float64, ksize)
	for xx := range outSize {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := max(int(center-support+0.5), 0) // C's (int) truncates toward zero
		xmax := min(int(center+support+0.5), inSize) - xmin
		total := 0.0
		for x := range xmax {
			t := math.Abs((float64(x+xmin) - center + 0.5) * ss)
			w[x] = 0
			if t < 1 {
				w[x] = 1 - t
			}
			total += w[x]
		}
		for x := range xmax {
			v := w[x]
			if total != 0 {
				v /= total
			}
			k[xx*ksize+x] = int32(0.5 + v*(1<<resamplePrecision)) // weights are ≥ 0
		}
		bounds[2*xx], bounds[2*xx+1] = xmin, xmax
	}
	return bounds, k, ksize
}

// cropRGB copies the w×h region of src at (x0, y0).
func cropRGB(src *RGB, x0, y0, w, h int) *RGB {
	out := NewRGB(w, h)
	for y := range h {
		copy(out.Pix[3*w*y:3*w*(y+1)], src.Pix[3*(src.W*(y0+y)+x0):])
	}
	return out
}

// resizeShorter is torchvision's Resize(size) of a PIL image: the shorter
// side becomes size and the longer int(size·long/short), nothing done when
// that is already the size.
func resizeShorter(src *RGB, size int) *RGB {
	w, h := src.W, src.H
	short, long := min(w, h), max(w, h)
	newLong := int(float64(size*long) / float64(short))
	if w <= h {
		w, h = size, newLong
	} else {
		w, h = newLong, size
	}
	if w == src.W && h == src.H {
		return src
	}
	return resizeBilinear(src, 0, 0, src.W, src.H, w, h)
}

// centerCropOffsets are torchvision's CenterCrop offsets of a crop of
// size from a side of n: round((n − size)/2), half to even as Python's
// round.
func centerCropOffset(n, size int) int {
	return int(math.RoundToEven(float64(n-size) / 2))
}

// pilL is PIL's RGB-to-L conversion (ITU-R 601-2 luma in 16-bit fixed
// point, rounded): what convert("L") and so torchvision's grayscale and
// the saturation and contrast degenerates compute.
func pilL(r, g, b uint8) uint8 {
	return uint8((int(r)*19595 + int(g)*38470 + int(b)*7471 + 0x8000) >> 16)
}

// blend is PIL's ImagingBlend of one byte: in1 + α·(in2 − in1) in C float
// arithmetic, truncated, clipped to 0..255 when α is outside [0, 1] (and
// never needed otherwise). The explicit float32 conversion keeps Go from
// fusing the multiply and add, which C (without FMA) does not.
func blend(in1, in2 uint8, alpha float32) uint8 {
	t := float32(in1) + float32(alpha*float32(int(in2)-int(in1)))
	switch {
	case t <= 0:
		return 0
	case t >= 255:
		return 255
	}
	return uint8(t)
}

// adjustBrightness is ImageEnhance.Brightness(img).enhance(f): a blend
// with black.
func adjustBrightness(img *RGB, f float32) { blendConst(img, 0, f) }

// adjustContrast is ImageEnhance.Contrast(img).enhance(f): a blend with
// the grey of the image's mean luma, int(mean + 0.5).
func adjustContrast(img *RGB, f float32) {
	sum := 0
	for i := 0; i < len(img.Pix); i += 3 {
		sum += int(pilL(img.Pix[i], img.Pix[i+1], img.Pix[i+2]))
	}
	blendConst(img, uint8(int(float64(sum)/float64(len(img.Pix)/3)+0.5)), f)
}

// blendConst blends every byte of img with the constant in1, through a
// table of the 256 results.
func blendConst(img *RGB, in1 uint8, f float32) {
	var lut [256]uint8
	for v := range lut {
		lut[v] = blend(in1, uint8(v), f)
	}
	for i, v := range img.Pix {
		img.Pix[i] = lut[v]
	}
}

// adjustSaturation is ImageEnhance.Color(img).enhance(f): a blend with the
// image's own luma.
func adjustSaturation(img *RGB, f float32) {
	for i := 0; i < len(img.Pix); i += 3 {
		p := img.Pix[i : i+3 : i+3]
		l := pilL(p[0], p[1], p[2])
		p[0], p[1], p[2] = blend(l, p[0], f), blend(l, p[1], f), blend(l, p[2], f)
	}
}

// grayscale is torchvision's rgb_to_grayscale(img, 3) of a PIL image: L
// replicated.
func grayscale(img *RGB) {
	for i := 0; i < len(img.Pix); i += 3 {
		l := pilL(img.Pix[i], img.Pix[i+1], img.Pix[i+2])
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = l, l, l
	}
}

// hflip mirrors img left to right.
func hflip(img *RGB) {
	for y := range img.H {
		row := img.Pix[3*img.W*y : 3*img.W*(y+1)]
		for l, r := 0, img.W-1; l < r; l, r = l+1, r-1 {
			row[3*l], row[3*r] = row[3*r], row[3*l]
			row[3*l+1], row[3*r+1] = row[3*r+1], row[3*l+1]
			row[3*l+2], row[3*r+2] = row[3*r+2], row[3*l+2]
		}
	}
}

// gaussianBlurPasses is the box-blur passes of PIL's GaussianBlur filter.
const gaussianBlurPasses = 3

// gaussianBlurRadius is PIL's _gaussian_blur_radius: the extended box
// radius whose passes approximate a Gaussian of standard deviation sigma
// (Gwosdek et al. 2011), in C's mix of float and double.
func gaussianBlurRadius(sigma float32) float32 {
	sigma2 := sigma * sigma / gaussianBlurPasses
	// The explicit conversions round each product, as C does, where Go
	// could otherwise fuse it with the next addition.
	bigL := float32(math.Sqrt(float64(12.0*float64(sigma2)) + 1.0))
	l := float32(math.Floor((float64(bigL) - 1.0) / 2.0))
	a := (2*l + 1) * (float32(l*(l+1)) - float32(3*sigma2))
	a /= 6 * (sigma2 - float32((l+1)*(l+1)))
	return l + a
}

// gaussianBlur is img.filter(ImageFilter.GaussianBlur(radius=sigma)), as
// moco's GaussianBlur applies it: three horizontal passes of PIL's
// fixed-point extended box blur, then three vertical ones (BoxBlur.c),
// edges extended by their last pixel.
func gaussianBlur(img *RGB, sigma float32) {
	radius := gaussianBlurRadius(sigma)
	boxBlurRows(img, radius)
	t := transposeRGB(img)
	boxBlurRows(t, radius)
	copy(img.Pix, transposeRGB(t).Pix)
}

// boxBlurRows runs the passes of the box blur along every row of img.
func boxBlurRows(img *RGB, radius float32) {
	line := make([]uint8, 3*img.W)
	var pad []uint32
	for range gaussianBlurPasses {
		for y := range img.H {
			row := img.Pix[3*img.W*y : 3*img.W*(y+1)]
			copy(line, row)
			boxBlurLine(row, line, radius, &pad)
		}
	}
}

// transposeRGB returns img with rows and columns swapped.
func transposeRGB(img *RGB) *RGB {
	t := NewRGB(img.H, img.W)
	for y := range img.H {
		row := img.Pix[3*img.W*y : 3*img.W*(y+1)]
		for x := range img.W {
			copy(t.Pix[3*(img.H*x+y):3*(img.H*x+y)+3], row[3*x:3*x+3])
		}
	}
	return t
}

// boxBlurLine is PIL's ImagingLineBoxBlur on one line of RGB pixels: a
// running sum over the box of integer radius r, plus the two pixels
// beyond it weighted by the fractional part, all in 24-bit fixed point;
// positions outside the line read its first or last pixel. pad is
// scratch space, grown as needed.
func boxBlurLine(out, in []uint8, radius float32, pad *[]uint32) {
	n := len(in) / 3
	r := int(radius)
	ww := uint32(float32(1<<24) / (radius*2 + 1))
	fw := ((1 << 24) - uint32(r*2+1)*ww) / 2
	// One channel at a time, the line extended by r+2 copies of its end
	// pixels on both sides, so the loop needs no bounds clamping.
	m := n + 2*(r+2)
	if cap(*pad) < m {
		*pad = make([]uint32, m)
	}
	p := (*pad)[:m]
	for c := range 3 {
		for i := range p {
			p[i] = uint32(in[3*min(max(i-r-2, 0), n-1)+c])
		}
		// The sum of the box around pixel −1: positions −r−1 .. r−1.
		var acc uint32
		for i := 1; i < 2*r+2; i++ {
			acc += p[i]
		}
		for x := range n {
			// Pixel x is p[x+r+2]; its box runs from p[x+2] to p[x+2r+2].
			acc += p[x+2*r+2] - p[x+1]
			bulk := acc*ww + (p[x+1]+p[x+2*r+3])*fw
			out[3*x+c] = uint8((bulk + (1 << 23)) >> 24)
		}
	}
}
