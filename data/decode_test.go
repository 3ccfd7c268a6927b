package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmc/glmc/internal/fuzzcorpus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readPPM reads a binary PPM (P6, maxval 255) as the golden script writes
// it, without the decoder under test.
func readPPM(t testing.TB, path string) *RGB {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var w, h, maxval int
	n, err := fmt.Sscanf(string(b), "P6\n%d %d\n%d\n", &w, &h, &maxval)
	require.NoError(t, err, path)
	require.Equal(t, 3, n)
	require.Equal(t, 255, maxval)
	pix := b[len(b)-3*w*h:]
	return &RGB{W: w, H: h, Pix: pix}
}

// pixelDiff returns the largest and the mean absolute difference of two
// images of one size.
func pixelDiff(t testing.TB, got, want *RGB) (worst int, mean float64) {
	t.Helper()
	require.Equal(t, [2]int{want.W, want.H}, [2]int{got.W, got.H}, "image size")
	sum := 0
	for i := range want.Pix {
		d := int(got.Pix[i]) - int(want.Pix[i])
		d = max(d, -d)
		worst = max(worst, d)
		sum += d
	}
	return worst, float64(sum) / float64(len(want.Pix))
}

// TestDecodeMatchesPIL compares DecodeRGB with PIL's convert('RGB') on
// the files of tools/golden/gen_vision.py. PNG is exact in every mode.
// JPEG differs only where Go's image/jpeg computes the inverse DCT
// differently from libjpeg-turbo (Go's is an integer Chen–Wang transform,
// libjpeg's default "islow" the Loeffler one; they round differently): at
// most 3 levels and 0.05 on average on these quality-90 files. Chroma
// upsampling and colour conversion are libjpeg's own (ycbcrToRGB); with
// Go's repeated chroma instead, 4:2:0 files differ by up to 21 levels,
// 4.6 on average. The bounds are what was measured, so any other change
// shows. YCCK goes through Go's own YCbCr conversion, hence its larger
// mean.
func TestDecodeMatchesPIL(t *testing.T) {
	dir := filepath.Join("testdata", "vision", "decode")
	// The largest and the mean absolute difference allowed, per file.
	bounds := map[string]struct {
		worst int
		mean  float64
	}{
		"jpeg_444.jpg":         {3, 0.1},
		"jpeg_422.jpg":         {3, 0.1},
		"jpeg_420.jpg":         {3, 0.1},
		"jpeg_progressive.jpg": {3, 0.1},
		"jpeg_grey.jpg":        {1, 0.05},
		"jpeg_cmyk.jpg":        {2, 0.05},
		"jpeg_ycck.jpg":        {2, 0.15},
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.*g"))
	require.NoError(t, err)
	require.Len(t, files, 19)
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			got, err := DecodeRGB(b)
			require.NoError(t, err)
			want := readPPM(t, strings.TrimSuffix(path, filepath.Ext(path))+".ppm")
			worst, mean := pixelDiff(t, got, want)
			t.Logf("%s: max |Go − PIL| %d, mean %.3f", name, worst, mean)
			bound := bounds[name] // zero for PNG: exact
			assert.LessOrEqual(t, worst, bound.worst)
			assert.LessOrEqual(t, mean, bound.mean)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	var jpg bytes.Buffer
	require.NoError(t, jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 16, 16)), nil))
	var pngb bytes.Buffer
	require.NoError(t, png.Encode(&pngb, image.NewGray(image.Rect(0, 0, 16, 16))))
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not a JPEG or PNG file (it starts )"},
		{"gif", []byte("GIF89a..."), "not a JPEG or PNG file (it starts 47 49 46 38)"},
		{"jpeg-cut", jpg.Bytes()[:jpg.Len()/2], "jpeg: unexpected EOF"},
		{"jpeg-header", jpg.Bytes()[:4], "jpeg: unexpected EOF"},
		{"png-cut", pngb.Bytes()[:pngb.Len()-20], "png: "},
		{"png-huge", pngHeader(100000, 100000), "png image of 100000x100000 pixels, want 1 to 89478485 pixels"},
	} {
		_, err := DecodeRGB(tc.b)
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.want, tc.name)
	}

	dir := t.TempDir()
	p := filepath.Join(dir, "a.jpg")
	require.NoError(t, os.WriteFile(p, jpg.Bytes()[:40], 0o644))
	_, err := DecodeFile(ImageFile{Path: p, Where: "train.txt:7"})
	assert.EqualError(t, err, "data: train.txt:7: "+p+": jpeg: unexpected EOF")
	_, err = DecodeFile(ImageFile{Path: filepath.Join(dir, "missing.png")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.png: no such file")
}

// pngHeader is the signature and header chunk of a grey PNG of the given
// size: enough for DecodeConfig.
func pngHeader(w, h int) []byte {
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 0, 0, 0, 0)
	b := append([]byte("\x89PNG\r\n\x1a\n"), 0, 0, 0, 13)
	b = append(b, ihdr...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
}

// TestToRGBConversions checks the per-type rules on hand-made pixels.
func TestToRGBConversions(t *testing.T) {
	g16 := image.NewGray16(image.Rect(0, 0, 3, 1))
	g16.SetGray16(0, 0, color.Gray16{Y: 200})
	g16.SetGray16(1, 0, color.Gray16{Y: 255})
	g16.SetGray16(2, 0, color.Gray16{Y: 256})
	assert.Equal(t, []uint8{200, 200, 200, 255, 255, 255, 255, 255, 255}, toRGB(g16).Pix, "PIL clips mode I")

	cmyk := image.NewCMYK(image.Rect(0, 0, 2, 1))
	cmyk.SetCMYK(0, 0, color.CMYK{C: 0, M: 255, Y: 100, K: 0})
	cmyk.SetCMYK(1, 0, color.CMYK{C: 10, M: 128, Y: 255, K: 55})
	// nk = 255−K; v − round(c·nk/255): 200 − round(10·200/255) = 192, 200 − 100 = 100, 0.
	assert.Equal(t, []uint8{255, 0, 155, 192, 100, 0}, toRGB(cmyk).Pix)

	rgba := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	rgba.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 0})
	assert.Equal(t, []uint8{10, 20, 30}, toRGB(rgba).Pix, "alpha is dropped, not composited")

	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.NRGBA{1, 2, 3, 4}})
	pal.Pix[1] = 7 // past the palette
	assert.Equal(t, []uint8{1, 2, 3, 0, 0, 0}, toRGB(pal).Pix)

	sub := image.NewRGBA(image.Rect(0, 0, 3, 2)).SubImage(image.Rect(1, 1, 3, 2)).(*image.RGBA)
	sub.SetRGBA(2, 1, color.RGBA{9, 8, 7, 255})
	assert.Equal(t, []uint8{0, 0, 0, 9, 8, 7}, toRGB(sub).Pix, "sub-images start at their bounds")
}

// FuzzDecodeRGB: any bytes either decode to an image of the size the
// header gives or fail with a one-line error; never a panic in the
// conversions (chroma upsampling at odd sizes, palettes, 16-bit).
func FuzzDecodeRGB(f *testing.F) {
	// Seeds from the committed PIL-written files, whose bytes do not
	// change with the Go release (Go's encoders' output may).
	var seeds []fuzzcorpus.Seed
	for _, name := range []string{"jpeg_420.jpg", "jpeg_422.jpg", "jpeg_grey.jpg", "png_bilevel.png", "png_palette_trns.png", "png_grey16_low.png"} {
		b, err := os.ReadFile(filepath.Join("testdata", "vision", "decode", name))
		require.NoError(f, err)
		seeds = append(seeds, fuzzcorpus.Seed{Name: name, Args: []any{b}})
	}
	fuzzcorpus.Check(f, seeds...)
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := DecodeRGB(b)
		fuzzcorpus.OneLine(t, err)
		if err != nil {
			return
		}
		if img.W <= 0 || img.H <= 0 || len(img.Pix) != 3*img.W*img.H {
			t.Fatalf("decoded %dx%d with %d bytes", img.W, img.H, len(img.Pix))
		}
	})
}
