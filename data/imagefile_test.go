package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/glmc/glmc/tensor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testImage is a w×h image with some structure: channel gradients and a
// seed-dependent tint.
func testImage(w, h, seed int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x*255/max(w-1, 1) + seed*37), uint8(y*255/max(h-1, 1) + seed*11), uint8((x+y)*7 + seed), uint8(200 + x%50)})
		}
	}
	return img
}

// writeImage writes img to path as JPEG (.jpg) or PNG (.png); grey
// makes it a one-channel image.
func writeImage(t testing.TB, path string, img *image.NRGBA, grey bool) {
	t.Helper()
	var src image.Image = img
	if grey {
		g := image.NewGray(img.Rect)
		for i := range g.Pix {
			g.Pix[i] = img.Pix[4*i+1]
		}
		src = g
	}
	var b bytes.Buffer
	if strings.HasSuffix(path, ".png") {
		require.NoError(t, png.Encode(&b, src))
	} else {
		require.NoError(t, jpeg.Encode(&b, src, &jpeg.Options{Quality: 90}))
	}
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// tinyImageNetLT writes an ImageNet-LT-format set under dir: 3 classes of
// 5, 3 and 2 training images of mixed sizes, colour modes and formats,
// and one test image per class. It returns the list lines.
func tinyImageNetLT(t testing.TB, dir string) (train, test []string) {
	t.Helper()
	counts := []int{5, 3, 2}
	n := 0
	for c, k := range counts {
		for i := range k {
			ext := []string{".jpg", ".png"}[n%2]
			rel := fmt.Sprintf("train/n%02d/img%d%s", c, i, ext)
			writeImage(t, filepath.Join(dir, rel), testImage(20+7*n, 15+5*(n%4), n), n%3 == 2)
			train = append(train, fmt.Sprintf("%s %d", rel, c))
			n++
		}
		rel := fmt.Sprintf("val/n%02d.png", c)
		writeImage(t, filepath.Join(dir, rel), testImage(30, 24, 50+c), false)
		test = append(test, fmt.Sprintf("%s %d", rel, c))
	}
	writeList(t, filepath.Join(dir, "ImageNet_LT_train.txt"), train)
	writeList(t, filepath.Join(dir, "ImageNet_LT_test.txt"), test)
	return train, test
}

func writeList(t testing.TB, path string, lines []string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
}

// smallInfo is an image-file dataset description at a test-sized output.
func smallInfo(size int) Info {
	return Info{Name: "imagenet-lt", Channels: 3, Height: size, Width: size, Mean: imageNetMean, Std: imageNetStd, Files: true}
}

func TestImageFileLoader(t *testing.T) {
	dir := t.TempDir()
	tinyImageNetLT(t, dir)
	in := smallInfo(16)
	train, test, err := loadFiles(in, dir, FileOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int{5, 3, 2}, train.ClassCounts())

	batches := func(workers int) [][]float32 {
		l, err := NewLoader(LoaderConfig{Dataset: train, Sampler: ShuffleSampler{N: train.Len(), Seed: 1}, BatchSize: 4,
			Transform: TrainTransform(in), Views: 2, Workers: workers, Seed: 9})
		require.NoError(t, err)
		var out [][]float32
		for b := range l.Batches(0, 0) {
			require.NoError(t, b.Err)
			assert.Equal(t, []int{len(b.Labels), 3, 16, 16}, b.Views[0].Shape)
			out = append(out, b.Views[0].Data, b.Views[1].Data)
		}
		return out
	}
	one := batches(1)
	assert.Equal(t, one, batches(3), "output must not depend on the worker count")
	require.Len(t, one, 6)
	assert.NotEqual(t, one[0], one[1], "two views draw independently")

	// Evaluation of an image already at the crop size with Resize equal
	// to it is the identity: the decoded PNG's pixels, normalised.
	writeImage(t, filepath.Join(dir, "same.png"), testImage(16, 16, 3), false)
	same := &Dataset{Name: "same", Channels: 3, Height: 16, Width: 16, Labels: []int{0}, Classes: []string{"a"},
		Files: []ImageFile{{Path: filepath.Join(dir, "same.png")}}}
	el, err := NewLoader(LoaderConfig{Dataset: same, Sampler: SequentialSampler{N: 1}, BatchSize: 1, Transform: Transform{Resize: 16, Mean: in.Mean, Std: in.Std}})
	require.NoError(t, err)
	got := el.Batch(0, 0).Views[0].Data
	src := testImage(16, 16, 3)
	for c := range 3 {
		for p := range 256 {
			v := float32(src.Pix[4*p+c]) / 255
			require.Equal(t, (v-in.Mean[c])/in.Std[c], got[c*256+p], "channel %d pixel %d", c, p)
		}
	}

	el, err = NewLoader(LoaderConfig{Dataset: test, Sampler: SequentialSampler{N: test.Len()}, BatchSize: 2, Transform: EvalTransform(in)})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3, 16, 16}, el.Batch(0, 0).Views[0].Shape)
}

func TestImageFileLoaderBadImage(t *testing.T) {
	dir := t.TempDir()
	lines, _ := tinyImageNetLT(t, dir)
	bad := filepath.Join(dir, strings.Fields(lines[6])[0])
	require.NoError(t, os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644))
	in := smallInfo(8)
	train, _, err := loadFiles(in, dir, FileOptions{})
	require.NoError(t, err)
	l, err := NewLoader(LoaderConfig{Dataset: train, Sampler: SequentialSampler{N: train.Len()}, BatchSize: 4, Transform: TrainTransform(in)})
	require.NoError(t, err)
	assert.NoError(t, l.Batch(0, 0).Err)
	b := l.Batch(0, 1) // images 4..7
	require.Error(t, b.Err)
	assert.Equal(t, "data: ImageNet_LT_train.txt:7: "+bad+": png: unexpected EOF", b.Err.Error())
	for _, v := range b.Views[0].Data[2*3*64 : 3*3*64] {
		require.Zero(t, v, "the bad image's row stays zero")
	}

	// Bad transforms for file datasets.
	for _, tf := range []Transform{{Augment: true, Resize: 8, Mean: in.Mean, Std: in.Std},
		{Pad: 4, Augment: true, Mean: in.Mean, Std: in.Std}, {Resize: 4, Mean: in.Mean, Std: in.Std}} {
		_, err := NewLoader(LoaderConfig{Dataset: train, Sampler: SequentialSampler{N: 1}, BatchSize: 1, Transform: tf})
		assert.Error(t, err, "%+v", tf)
	}
	cifar := &Dataset{Name: "c", Channels: 3, Height: 2, Width: 2, Images: make([]uint8, 12), Labels: []int{0}, Classes: []string{"a"}}
	_, err = NewLoader(LoaderConfig{Dataset: cifar, Sampler: SequentialSampler{N: 1}, BatchSize: 1, Transform: Transform{Augment: true, Mean: in.Mean, Std: in.Std}})
	assert.ErrorContains(t, err, "holds no image files")
}

// TestRandomResizedCropSampling checks the rule with the Go stream: crops
// fit, keep the aspect range, and cover on average about the expected
// area; a thin image falls back to the centre crop.
func TestRandomResizedCropSampling(t *testing.T) {
	r := tensor.NewRNG(5)
	sum := 0.0
	const n = 4000
	for range n {
		top, left, h, w := randomResizedCropParams(500, 375, rngDraws{r})
		require.True(t, top >= 0 && left >= 0 && top+h <= 375 && left+w <= 500, "%d %d %d %d", top, left, h, w)
		ratio := float64(w) / float64(h)
		require.True(t, ratio > 0.7 && ratio < 1.4, "ratio %v", ratio)
		sum += float64(w*h) / (500 * 375)
	}
	// torchvision's get_params averages 0.435 of the area on this size
	// over 20000 draws (the fraction is uniform on [0.08, 1], but large
	// crops of a ratio far from the image's do not fit and are redrawn).
	assert.InDelta(t, 0.435, sum/n, 0.015)
	top, left, h, w := randomResizedCropParams(1000, 12, rngDraws{r})
	assert.Equal(t, [4]int{0, 492, 12, 16}, [4]int{top, left, h, w})
	assert.Equal(t, int(math.RoundToEven(12*4.0/3)), w)
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	lines, _ := tinyImageNetLT(t, dir)
	for _, k := range []int{2, 8} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, strings.Fields(lines[k])[0]), []byte("\xff\xd8\xff"), 0o644))
	}
	require.NoError(t, os.Remove(filepath.Join(dir, strings.Fields(lines[5])[0])))
	train, _, err := loadFiles(smallInfo(8), dir, FileOptions{})
	require.NoError(t, err)
	var seen atomic.Int64
	bad := Verify(train, 3, func() { seen.Add(1) })
	assert.EqualValues(t, 10, seen.Load())
	require.Len(t, bad, 3)
	assert.Equal(t, []int{2, 5, 8}, []int{bad[0].Index, bad[1].Index, bad[2].Index})
	assert.Contains(t, bad[0].Err.Error(), "data: ImageNet_LT_train.txt:3: ")
	assert.Contains(t, bad[1].Err.Error(), "ImageNet_LT_train.txt:6: ")
	assert.Contains(t, bad[1].Err.Error(), "no such file")
	good := train.Without(bad)
	assert.Equal(t, []int{4, 2, 1}, good.ClassCounts())
	assert.Empty(t, Verify(good, 2, nil))
}

// TestNativeRecipe checks that image files trained by an in-memory
// dataset's recipe give, to the bit, the batches of the same pixels held
// in memory, for training (crop and flip) and evaluation, and that an
// image of another size is one error naming it.
func TestNativeRecipe(t *testing.T) {
	const side, n = 8, 6
	dir := t.TempDir()
	files := &Dataset{Name: "folder/train", Channels: 3, Height: side, Width: side, Classes: []string{"a", "b"}}
	mem := &Dataset{Name: "memory", Channels: 3, Height: side, Width: side, Classes: files.Classes}
	for i := range n {
		img := testImage(side, side, i)
		path := filepath.Join(dir, fmt.Sprintf("%d.png", i)) // lossless: the pixels read back as written
		writeImage(t, path, img, false)
		files.Files = append(files.Files, ImageFile{Path: path})
		files.Labels = append(files.Labels, i%2)
		mem.Labels = append(mem.Labels, i%2)
		chw := make([]uint8, 3*side*side)
		for c := range 3 {
			for p := range side * side {
				chw[c*side*side+p] = img.Pix[4*p+c]
			}
		}
		mem.Images = append(mem.Images, chw...)
	}
	folder, err := Lookup("folder")
	require.NoError(t, err)
	folder.Height, folder.Width = side, side
	cifar, err := Lookup("cifar10")
	require.NoError(t, err)
	train, eval, err := Recipe(folder, "cifar10")
	require.NoError(t, err)
	assert.True(t, train.Native && eval.Native)
	assert.Equal(t, cifar.Mean, train.Mean)

	batches := func(d *Dataset, tf Transform) [][]float32 {
		l, err := NewLoader(LoaderConfig{Dataset: d, Sampler: ShuffleSampler{N: n, Seed: 2}, BatchSize: 4, Transform: tf, Views: 2, Seed: 7})
		require.NoError(t, err)
		var out [][]float32
		for b := range l.Batches(1, 0) {
			require.NoError(t, b.Err)
			out = append(out, b.Views[0].Data, b.Views[1].Data)
		}
		return out
	}
	got, want := batches(files, train), batches(mem, TrainTransform(cifar))
	assert.Equal(t, want, got, "training views")
	assert.NotEqual(t, got[0], got[1], "the two views draw their own crops")
	assert.Equal(t, batches(mem, EvalTransform(cifar)), batches(files, eval), "evaluation views")

	writeImage(t, files.Files[3].Path, testImage(side, side+1, 3), false)
	l, err := NewLoader(LoaderConfig{Dataset: files, Sampler: SequentialSampler{N: n}, BatchSize: n, Transform: train})
	require.NoError(t, err)
	assert.EqualError(t, l.Batch(0, 0).Err, "data: "+files.Files[3].Path+": a 8x9 image, want 8x8: the recipe takes images at the dataset's size (--image-size)")

	for _, tc := range []struct {
		in     Info
		recipe string
		msg    string
	}{
		{folder, "nope", `transform recipe "nope"`},
		{folder, "fashion-mnist", "in-memory dataset of colour images"},
		{folder, "imagenet-lt", "in-memory dataset of colour images"},
		{cifar, "cifar100", "cifar10 holds no image files"},
	} {
		_, _, err := Recipe(tc.in, tc.recipe)
		assert.ErrorContains(t, err, tc.msg, "%s by %q", tc.in.Name, tc.recipe)
	}
	for _, own := range []string{"", "folder"} {
		tr, ev, err := Recipe(folder, own)
		require.NoError(t, err)
		assert.Equal(t, TrainTransform(folder), tr)
		assert.Equal(t, EvalTransform(folder), ev)
	}
	_, err = NewLoader(LoaderConfig{Dataset: files, Sampler: SequentialSampler{N: 1}, BatchSize: 1,
		Transform: Transform{Native: true, Augment: true, Mean: cifar.Mean, Std: cifar.Std}})
	assert.ErrorContains(t, err, "Native takes the images as they decode")
}
