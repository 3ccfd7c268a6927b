package data

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadIDXEndiannessAndCompression(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for _, le := range []bool{false, true} {
		for _, gz := range []bool{false, true} {
			raw := idxFile([]int{2, 3, 2}, data, le)
			if gz {
				raw = gzipBytes(raw)
			}
			x, err := ReadIDX(bytes.NewReader(raw))
			require.NoError(t, err, "little-endian %v gzip %v", le, gz)
			assert.Equal(t, []int{2, 3, 2}, x.Dims)
			assert.Equal(t, data, x.Data)
		}
	}
	// A 300-item label file: extents above 255 tell the byte orders apart.
	x, err := ReadIDX(bytes.NewReader(idxFile([]int{300}, make([]byte, 300), true)))
	require.NoError(t, err)
	assert.Equal(t, []int{300}, x.Dims)
}

func TestReadIDXBadInput(t *testing.T) {
	good := idxFile([]int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}, false)
	corrupt := gzipBytes(good)
	corrupt[len(corrupt)-12] ^= 0xff // inside the deflate data or the CRC
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated: 0 bytes, want at least a 4-byte magic"},
		{"bad magic", []byte{1, 2, 3, 4, 5}, "bad magic 01 02 03 04: want 00 00 08 <rank>"},
		{"float type", append([]byte{0, 0, 0x0d, 1, 0, 0, 0, 1}, 0, 0, 0, 0), "data type 0x0d, want 0x08 (unsigned byte)"},
		{"zero rank", []byte{0, 0, 8, 0}, "zero dimensions"},
		{"truncated header", good[:9], "truncated header: 5 of 12 extent bytes"},
		{"truncated data", good[:len(good)-1], "truncated: 7 data bytes, want 8 for extents [2 2 2]"},
		{"oversized", append(append([]byte{}, good...), 9), "oversized: more than the 8 data bytes extents [2 2 2] call for"},
		{"huge extents", []byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 9}, "more than 17179869184 bytes"},
		{"corrupt gzip", corrupt, "corrupt gzip"},
		{"truncated gzip", gzipBytes(good)[:20], "corrupt gzip"},
		{"bad gzip header", []byte{0x1f, 0x8b, 0, 0}, "corrupt gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadIDX(bytes.NewReader(tc.in))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

// writeFashionMNIST writes a small Fashion-MNIST folder; gz picks which
// files are compressed, to show that both kinds mix.
func writeFashionMNIST(t *testing.T, dir string, nTrain, nTest int, gz func(name string) bool) (train, test *Dataset) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	put := func(name string, b []byte) {
		if gz(name) {
			name, b = name+".gz", gzipBytes(b)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	split := func(prefix string, n int, seed uint64) *Dataset {
		img, lab := fakeImages(seed, n, 10)
		img = img[:n*28*28]
		labels := make([]byte, n)
		for i, y := range lab {
			labels[i] = byte(y)
		}
		put(prefix+"-images-idx3-ubyte", idxFile([]int{n, 28, 28}, img, false))
		put(prefix+"-labels-idx1-ubyte", idxFile([]int{n}, labels, false))
		return &Dataset{Images: img, Labels: lab}
	}
	return split("train", nTrain, 1), split("t10k", nTest, 2)
}

func TestLoadFashionMNIST(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sub    string // where the files go under the data folder
		gzFile func(string) bool
	}{
		{"raw", "", func(string) bool { return false }},
		{"gzip", "", func(string) bool { return true }},
		{"mixed, torchvision folder", filepath.Join("FashionMNIST", "raw"), func(n string) bool { return strings.Contains(n, "labels") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			wantTrain, wantTest := writeFashionMNIST(t, filepath.Join(root, tc.sub), 12, 5, tc.gzFile)
			train, test, err := Load("fashion-mnist", root)
			require.NoError(t, err)
			assert.Equal(t, wantTrain.Images, train.Images)
			assert.Equal(t, wantTrain.Labels, train.Labels)
			assert.Equal(t, wantTest.Labels, test.Labels)
			assert.Equal(t, [3]int{1, 28, 28}, [3]int{train.Channels, train.Height, train.Width})
			assert.Equal(t, "Ankle boot", train.Classes[9])
		})
	}
}

func TestFashionMNISTBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(dir string)
		file   string
		want   string
	}{
		{"missing labels", func(dir string) { os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte")) },
			"t10k-labels-idx1-ubyte", "no such file (nor t10k-labels-idx1-ubyte.gz)"},
		{"label out of range", func(dir string) {
			os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idxFile([]int{4}, []byte{1, 2, 10, 3}, false), 0o644)
		}, "train-labels-idx1-ubyte", "item 2: label 10, want 0..9"},
		{"count mismatch", func(dir string) {
			os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idxFile([]int{3}, []byte{1, 2, 3}, false), 0o644)
		}, "train-labels-idx1-ubyte", "extents [3], want (4)"},
		{"images of the wrong rank", func(dir string) {
			os.WriteFile(filepath.Join(dir, "train-images-idx3-ubyte"), idxFile([]int{4, 784}, make([]byte, 4*784), false), 0o644)
		}, "train-images-idx3-ubyte", "extents [4 784], want (N, H, W)"},
		{"bad magic", func(dir string) {
			os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), []byte{8, 8, 8, 8, 0}, 0o644)
		}, "t10k-images-idx3-ubyte", "bad magic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFashionMNIST(t, dir, 4, 3, func(string) bool { return false })
			tc.damage(dir)
			_, _, err := Load("fashion-mnist", dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), filepath.Join(dir, tc.file))
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	_, _, err := Load("fashion-mnist", filepath.Join(t.TempDir(), "nowhere"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nowhere")
	assert.Contains(t, err.Error(), "dataset-fashion-mnist")
}

// TestDebianFashionMNIST reads the real files when Debian's package is
// installed, and checks the normalisation constants against them.
func TestDebianFashionMNIST(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDebianDir); err != nil {
		t.Skip("dataset-fashion-mnist is not installed")
	}
	if testing.Short() {
		t.Skip("reads 30 MB of gzip")
	}
	assert.Equal(t, FashionMNISTDebianDir, DefaultDir("fashion-mnist"))
	train, test, err := Load("fashion-mnist", "")
	require.NoError(t, err)
	assert.Equal(t, 60000, train.Len())
	assert.Equal(t, 10000, test.Len())
	for _, n := range train.ClassCounts() {
		assert.Equal(t, 6000, n)
	}
	var sum, sq float64
	for _, v := range train.Images {
		x := float64(v) / 255
		sum += x
		sq += x * x
	}
	n := float64(len(train.Images))
	mean := sum / n
	std := math.Sqrt(sq/n - mean*mean)
	in, _ := Lookup("fashion-mnist")
	assert.InDelta(t, mean, float64(in.Mean[0]), 1e-6)
	assert.InDelta(t, std, float64(in.Std[0]), 1e-6)
}
