package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
)

// RGB is a decoded image in PIL's "RGB" mode: 8-bit red, green and blue
// interleaved, row after row.
type RGB struct {
	W, H int
	Pix  []uint8 // (H, W, 3)
}

// NewRGB returns a black w×h image.
func NewRGB(w, h int) *RGB { return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)} }

// maxImagePixels bounds the images decoded, as PIL's MAX_IMAGE_PIXELS
// (89,478,485) does against decompression bombs: no dataset image is near.
const maxImagePixels = 89478485

// DecodeRGB decodes a JPEG or PNG file's bytes to what PIL's
// Image.open(f).convert('RGB') makes of it:
//
//   - JPEG: YCbCr and grey images as decoded (Go's IDCT and chroma
//     upsampling differ from libjpeg's by a few levels: see decode_test.go
//     for by how much); CMYK and YCCK (Adobe) images through PIL's
//     CMYK-to-RGB rule, R = (255−K) − round(C·(255−K)/255);
//   - PNG: palette colours looked up, grey replicated, alpha dropped (not
//     composited), 16-bit colour channels cut to their high byte, and
//     16-bit grey clipped to 0..255, since PIL opens it in mode "I" and its
//     I-to-RGB conversion clips.
//
// Other formats are an error saying which are supported.
func DecodeRGB(b []byte) (*RGB, error) {
	var (
		decode func(io.Reader) (image.Image, error)
		config func(io.Reader) (image.Config, error)
		format string
	)
	switch {
	case bytes.HasPrefix(b, []byte("\xff\xd8")):
		decode, config, format = jpeg.Decode, jpeg.DecodeConfig, "jpeg"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		decode, config, format = png.Decode, png.DecodeConfig, "png"
	default:
		return nil, fmt.Errorf("not a JPEG or PNG file (it starts % x)", b[:min(len(b), 4)])
	}
	cfg, err := config(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf("%s image of %dx%d pixels, want 1 to %d pixels", format, cfg.Width, cfg.Height, maxImagePixels)
	}
	img, err := decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	return toRGB(img), nil
}

// DecodeFile reads and decodes one image file (DecodeRGB); the error names
// the file and, where given, where it is listed (f.Where).
func DecodeFile(f ImageFile) (*RGB, error) {
	b, err := os.ReadFile(f.Path)
	if err == nil {
		var img *RGB
		if img, err = DecodeRGB(b); err == nil {
			return img, nil
		}
		err = fmt.Errorf("%s: %w", f.Path, err)
	}
	if f.Where != "" {
		return nil, fmt.Errorf("data: %s: %w", f.Where, err)
	}
	return nil, fmt.Errorf("data: %w", err)
}

// toRGB converts a decoded image as PIL's convert('RGB') does (DecodeRGB).
func toRGB(img image.Image) *RGB {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	out := NewRGB(w, h)
	switch m := img.(type) {
	case *image.YCbCr:
		ycbcrToRGB(m, out)
	case *image.Gray:
		eachPixel(out, func(x, y int) (uint8, uint8, uint8) {
			v := m.Pix[m.PixOffset(r.Min.X+x, r.Min.Y+y)]
			return v, v, v
		})
	case *image.Gray16:
		eachPixel(out, func(x, y int) (uint8, uint8, uint8) {
			i := m.PixOffset(r.Min.X+x, r.Min.Y+y)
			v := uint8(min(int(m.Pix[i])<<8|int(m.Pix[i+1]), 255))
			return v, v, v
		})
	case *image.CMYK:
		eachPixel(out, func(x, y int) (uint8, uint8, uint8) {
			p := m.Pix[m.PixOffset(r.Min.X+x, r.Min.Y+y):]
			nk := 255 - int(p[3])
			return cmykChannel(p[0], nk), cmykChannel(p[1], nk), cmykChannel(p[2], nk)
		})
	case *image.NRGBA:
		eachPixel(out, func(x, y int) (uint8, uint8, uint8) {
			p := m.Pix[m.PixOffset(r.Min.X+x, r.Min.Y+y):]
			return p[0], p[1], p[2]
		})
	case *image.NRGBA64:
		eachPixel(out, func(x, y int) (uint8, uint8, uint8) {
			p := m.Pix[m.PixOffset(r.Min.X+x, r.Min.Y+y):]
			return p[0], p[2], p[4]
		})
	case *image.RGBA64: // opaque 16-bit colour: the high bytes
		eachPixel(out, func(x, y int) (uint8, uint8, uint8) {
			p := m.Pix[m.PixOffset(r.Min.X+x, r.Min.Y+y):]
			return p[0], p[2], p[4]
		})
	case *image.Paletted:
		pal := make([]color.NRGBA, len(m.Palette))
		for i, c := range m.Palette {
			pal[i] = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
		eachPixel(out, func(x, y int) (uint8, uint8, uint8) {
			if i := int(m.Pix[m.PixOffset(r.Min.X+x, r.Min.Y+y)]); i < len(pal) {
				return pal[i].R, pal[i].G, pal[i].B
			}
			return 0, 0, 0 // an index past the palette: PIL's palette is zero-filled
		})
	case *image.RGBA: // 8-bit colour PNGs without alpha, so opaque
		eachPixel(out, func(x, y int) (uint8, uint8, uint8) {
			p := m.Pix[m.PixOffset(r.Min.X+x, r.Min.Y+y):]
			if p[3] != 255 {
				c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
				return c.R, c.G, c.B
			}
			return p[0], p[1], p[2]
		})
	default: // no decoder of DecodeRGB makes other types; un-premultiplied
		eachPixel(out, func(x, y int) (uint8, uint8, uint8) {
			c := color.NRGBAModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA)
			return c.R, c.G, c.B
		})
	}
	return out
}

func eachPixel(out *RGB, at func(x, y int) (uint8, uint8, uint8)) {
	i := 0
	for y := range out.H {
		for x := range out.W {
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = at(x, y)
			i += 3
		}
	}
}

// cmykChannel is PIL's cmyk2rgb for one channel: nk − v·nk/255 with
// MULDIV255's rounding, nk = 255 − K.
func cmykChannel(v uint8, nk int) uint8 {
	t := int(v)*nk + 128
	return uint8(nk - ((t>>8)+t)>>8)
}

// libjpeg's YCbCr-to-RGB tables (jdcolor.c, build_ycc_rgb_table): 16-bit
// fixed point, R and B rounded per table entry, G's two terms summed before
// one rounding shift.
var ycc = func() (t struct{ crR, cbB, crG, cbG [256]int32 }) {
	fix := func(x float64) int32 { return int32(x*(1<<16) + 0.5) }
	for i := range 256 {
		x := int32(i - 128)
		t.crR[i] = (fix(1.40200)*x + 1<<15) >> 16
		t.cbB[i] = (fix(1.77200)*x + 1<<15) >> 16
		t.crG[i] = -fix(0.71414) * x
		t.cbG[i] = -fix(0.34414)*x + 1<<15
	}
	return t
}()

func clampByte(v int32) uint8 { return uint8(min(max(v, 0), 255)) }

// ycbcrToRGB converts a decoded JPEG as libjpeg-turbo does by default
// (PIL's decoder): subsampled chroma interpolated with libjpeg's "fancy"
// triangle filters and their rounding (jdsample.c: h2v1 for 4:2:2, h2v2
// for 4:2:0, used when the chroma plane is more than 2 samples wide), then
// its colour tables. Other subsamplings (4:4:0, 4:1:1, ...) repeat the
// chroma samples as Go's decoder does.
func ycbcrToRGB(m *image.YCbCr, out *RGB) {
	w, h := out.W, out.H
	cb, cr := make([]uint8, w), make([]uint8, w)
	var colsum []int32
	y0 := m.YOffset(m.Rect.Min.X, m.Rect.Min.Y)
	for y := range h {
		upsampleChromaRow(cb, m, m.Cb, y, h, &colsum)
		upsampleChromaRow(cr, m, m.Cr, y, h, &colsum)
		row := out.Pix[3*w*y : 3*w*(y+1)]
		yrow := m.Y[y0+y*m.YStride : y0+y*m.YStride+w]
		for x, yv := range yrow {
			b, r := cb[x], cr[x]
			yy := int32(yv)
			p := row[3*x : 3*x+3 : 3*x+3]
			p[0] = clampByte(yy + ycc.crR[r])
			p[1] = clampByte(yy + (ycc.cbG[b]+ycc.crG[r])>>16)
			p[2] = clampByte(yy + ycc.cbB[b])
		}
	}
}

// upsampleChromaRow writes row y of chroma plane c of m at full
// resolution into dst (the image's width); colsum is scratch space.
func upsampleChromaRow(dst []uint8, m *image.YCbCr, c []uint8, y, h int, colsum *[]int32) {
	w := len(dst)
	c0 := m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
	cw, ch := (w+1)/2, (h+1)/2 // the chroma plane of 4:2:x
	plane := func(cy int) []uint8 { return c[c0+cy*m.CStride : c0+cy*m.CStride+cw] }
	switch {
	case m.SubsampleRatio == image.YCbCrSubsampleRatio422 && cw > 2:
		// 3/4 of the nearer sample and 1/4 of the further, rounded by 1
		// (left half) or 2 (right half); the ends repeat their sample.
		in := plane(y)
		for i, v := range in {
			near := 3 * int32(v)
			left, right := int32(in[max(i-1, 0)]), int32(in[min(i+1, cw-1)])
			dst[2*i] = uint8((near + left + 1) >> 2)
			if 2*i+1 < w {
				dst[2*i+1] = uint8((near + right + 2) >> 2)
			}
		}
	case m.SubsampleRatio == image.YCbCrSubsampleRatio420 && cw > 2:
		// Vertically 3/4 of the nearer row and 1/4 of the further (above
		// for even rows, below for odd ones), then horizontally as 4:2:2
		// on the column sums, rounded by 8 and 7.
		r := y / 2
		far := max(r-1, 0)
		if y%2 == 1 {
			far = min(r+1, ch-1)
		}
		if cap(*colsum) < cw {
			*colsum = make([]int32, cw)
		}
		cs := (*colsum)[:cw]
		near, other := plane(r), plane(far)
		for i := range cs {
			cs[i] = 3*int32(near[i]) + int32(other[i])
		}
		for i, v := range cs {
			left, right := cs[max(i-1, 0)], cs[min(i+1, cw-1)]
			dst[2*i] = uint8((3*v + left + 8) >> 4)
			if 2*i+1 < w {
				dst[2*i+1] = uint8((3*v + right + 7) >> 4)
			}
		}
	default:
		for x := range w {
			dst[x] = c[m.COffset(m.Rect.Min.X+x, m.Rect.Min.Y+y)]
		}
	}
}
