package data

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// visionCase is one entry of testdata/vision/transform/cases.json.
type visionCase struct {
	Name                           string
	Op                             string
	W, H, Resize, Crop, I, J, Size int
	Factor, Sigma                  float64
	Order                          []int
	Brightness, Contrast           float64
	Saturation                     float64
}

func loadVisionCases(t *testing.T) (*RGB, []visionCase) {
	t.Helper()
	dir := filepath.Join("testdata", "vision", "transform")
	b, err := os.ReadFile(filepath.Join(dir, "src.png"))
	require.NoError(t, err)
	src, err := DecodeRGB(b)
	require.NoError(t, err)
	var file struct {
		Version int
		Cases   []visionCase
	}
	b, err = os.ReadFile(filepath.Join(dir, "cases.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &file))
	require.Equal(t, 1, file.Version, "rerun tools/golden/gen_vision.py")
	return src, file.Cases
}

func cloneRGB(img *RGB) *RGB { return &RGB{W: img.W, H: img.H, Pix: slices.Clone(img.Pix)} }

// TestVisionOpsMatchPIL runs each operation on the fixture image with the
// parameters torchvision/PIL used and wants PIL's bytes exactly: every
// operation here is integer or C-float arithmetic that Go reproduces.
func TestVisionOpsMatchPIL(t *testing.T) {
	src, cases := loadVisionCases(t)
	require.Len(t, cases, 32)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var got *RGB
			switch c.Op {
			case "resize":
				got = resizeBilinear(src, 0, 0, src.W, src.H, c.W, c.H)
			case "eval":
				got = evalImage(src, c.Resize, c.Crop)
			case "resized_crop":
				got = resizeBilinear(src, c.J, c.I, c.W, c.H, c.Size, c.Size)
			case "brightness":
				got = cloneRGB(src)
				adjustBrightness(got, float32(c.Factor))
			case "contrast":
				got = cloneRGB(src)
				adjustContrast(got, float32(c.Factor))
			case "saturation":
				got = cloneRGB(src)
				adjustSaturation(got, float32(c.Factor))
			case "grayscale":
				got = cloneRGB(src)
				grayscale(got)
			case "hflip":
				got = cloneRGB(src)
				hflip(got)
			case "blur":
				got = cloneRGB(src)
				gaussianBlur(got, float32(c.Sigma))
			case "jitter":
				got = cloneRGB(src)
				colorJitter(got, jitterDraw{order: c.Order, factors: [3]float32{float32(c.Brightness), float32(c.Contrast), float32(c.Saturation)}})
			default:
				t.Fatalf("unknown op %q", c.Op)
			}
			want := readPPM(t, filepath.Join("testdata", "vision", "transform", c.Name+".ppm"))
			worst, mean := pixelDiff(t, got, want)
			assert.Zero(t, worst, "max |Go − PIL| %d, mean %.4f", worst, mean)
		})
	}
}

// TestRandomResizedCropParams runs torchvision's sampling rule on the
// draws torch made (rrc.json) and wants torchvision's crops, the
// centre-crop fallback included.
func TestRandomResizedCropParams(t *testing.T) {
	var file struct {
		Version int
		Cases   []struct {
			W, H, Seed int
			Attempts   []struct {
				Scale    float32
				LogRatio float32 `json:"log_ratio"`
				I, J     *int
			}
			Want [4]int
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", "vision", "rrc.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &file))
	fallbacks := 0
	for _, c := range file.Cases {
		d := &replayDraws{}
		for _, a := range c.Attempts {
			d.uniforms = append(d.uniforms, a.Scale, a.LogRatio)
			if a.I != nil {
				d.ints = append(d.ints, *a.I, *a.J)
			}
		}
		i, j, h, w := randomResizedCropParams(c.W, c.H, d)
		assert.Equal(t, c.Want, [4]int{i, j, h, w}, "%dx%d seed %d", c.W, c.H, c.Seed)
		assert.Empty(t, d.uniforms, "draws left")
		if len(c.Attempts) == 10 && c.Attempts[9].I == nil {
			fallbacks++
		}
	}
	assert.Greater(t, fallbacks, 5, "the fixture must exercise the fallback")
}

// replayDraws hands out recorded draws in order.
type replayDraws struct {
	uniforms []float32
	ints     []int
}

func (d *replayDraws) uniform(lo, hi float32) float32 {
	v := d.uniforms[0]
	d.uniforms = d.uniforms[1:]
	return v
}

func (d *replayDraws) randint(n int) int {
	v := d.ints[0]
	d.ints = d.ints[1:]
	return v
}
