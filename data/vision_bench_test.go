//go:build unix

package data

import (
	"bytes"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glmc/glmc/internal/cputime"
	"github.com/glmc/glmc/tensor"
)

// benchImages returns the bytes of up to 1000 JPEG/PNG files found under
// $GLMC_BENCH_IMAGES in sorted path order (tools/bench/vision_bench.py
// times PIL and torchvision on the same files), or, without it, 64
// generated 500×375 JPEGs (quality 90), ImageNet's typical size.
func benchImages(b *testing.B) [][]byte {
	b.Helper()
	var out [][]byte
	if dir := os.Getenv("GLMC_BENCH_IMAGES"); dir != "" {
		var paths []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && hasImageExtension(p) && (strings.HasSuffix(strings.ToLower(p), "g")) {
				paths = append(paths, p)
			}
			return nil
		})
		slices.Sort(paths)
		for _, p := range paths[:min(len(paths), 1000)] {
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, data)
		}
		if len(out) == 0 {
			b.Fatalf("no JPEG or PNG files under %s", dir)
		}
		return out
	}
	for i := range 64 {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, testImage(500, 375, i), &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}

// BenchmarkVisionDecode decodes images to RGB on one goroutine.
func BenchmarkVisionDecode(b *testing.B) {
	files := benchImages(b)
	b.ResetTimer()
	start := cputime.Used()
	for i := 0; b.Loop(); i++ {
		if _, err := DecodeRGB(files[i%len(files)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/(cputime.Used()-start).Seconds(), "img/cpu-s")
}

// BenchmarkVisionTrain decodes and makes one official training view
// (224×224, normalised) per image, on one goroutine.
func BenchmarkVisionTrain(b *testing.B) { benchVision(b, TrainTransform(imageNetInfo(b))) }

// BenchmarkVisionEval decodes and makes the evaluation view (Resize(256),
// CenterCrop(224), normalised) per image, on one goroutine.
func BenchmarkVisionEval(b *testing.B) { benchVision(b, EvalTransform(imageNetInfo(b))) }

func imageNetInfo(b *testing.B) Info {
	in, err := Lookup("imagenet-lt")
	if err != nil {
		b.Fatal(err)
	}
	return in
}

func benchVision(b *testing.B, tf Transform) {
	files := benchImages(b)
	d := &Dataset{Name: "bench", Channels: 3, Height: 224, Width: 224, Labels: []int{0}, Classes: []string{"a"}, Files: []ImageFile{{}}}
	st, err := tf.compileFor(d)
	if err != nil {
		b.Fatal(err)
	}
	it := st.(imageTransform)
	dst := make([]float32, 3*224*224)
	b.ResetTimer()
	start := cputime.Used()
	for i := 0; b.Loop(); i++ {
		img, err := DecodeRGB(files[i%len(files)])
		if err != nil {
			b.Fatal(err)
		}
		it.view(dst, img, tensor.NewRNG(1, uint64(i)))
	}
	b.ReportMetric(float64(b.N)/(cputime.Used()-start).Seconds(), "img/cpu-s")
}
