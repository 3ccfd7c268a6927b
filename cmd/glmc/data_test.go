package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/glmc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDataStatsJSON(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runData([]string{"stats", "--dataset", "synthetic", "--imbalance-factor", "10", "--json"}, &out))
	var got map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, "synthetic", got["dataset"])
	assert.EqualValues(t, 10, got["imbalance_factor"])
	var rec dataStatsJSON
	require.NoError(t, json.Unmarshal(out.Bytes(), &rec))
	assert.Equal(t, data.LongTailCounts(500, 10, 10), rec.TrainCounts)
	assert.Equal(t, []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}, rec.TestCounts)
	assert.Len(t, rec.Classes, 10)
	assert.True(t, strings.HasPrefix(out.String(), `{"dataset":"synthetic","imbalance_factor":10,"train_counts":[`), out.String())
}

func TestDataStatsTable(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runData([]string{"stats", "--dataset=synthetic", "--seed", "7"}, &out))
	text := out.String()
	assert.Contains(t, text, "synthetic, imbalance factor 100, seed 7: 1236 training images, 1000 test images")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	require.Len(t, lines, 12)
	assert.Equal(t, []string{"0", "disc-0", "500", "100", "many"}, strings.Fields(lines[2]))
	assert.Equal(t, []string{"9", "cross-1", "5", "100", "few"}, strings.Fields(lines[11]))
}

func TestDataStatsDebianFashionMNIST(t *testing.T) {
	if _, err := os.Stat(data.FashionMNISTDebianDir); err != nil || testing.Short() {
		t.Skip("needs Debian's dataset-fashion-mnist; reads 30 MB")
	}
	var out bytes.Buffer
	require.NoError(t, runData([]string{"stats", "--dataset", "fashion-mnist", "--json"}, &out))
	var rec dataStatsJSON
	require.NoError(t, json.Unmarshal(out.Bytes(), &rec))
	assert.Equal(t, []int{6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60}, rec.TrainCounts)
	assert.Equal(t, "T-shirt/top", rec.Classes[0])
}

func TestDataErrors(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{nil, "want a sub-command: download, stats or verify", true},
		{[]string{"--dataset", "cifar10"}, "want a sub-command", true},
		{[]string{"show"}, `unknown sub-command "show"`, true},
		{[]string{"stats"}, "--dataset is required: want one of cifar10, cifar100, fashion-mnist, synthetic, imagenet-lt, inat2018, folder", true},
		{[]string{"stats", "--dataset", "imagenet"}, `unknown dataset "imagenet"`, true},
		{[]string{"stats", "--dataset", "synthetic", "--imbalance-factor", "0.5"}, "--imbalance-factor 0.5: want a value ≥ 1", true},
		{[]string{"stats", "--dataset", "synthetic", "--epochs", "3"}, "flag provided but not defined: -epochs", true},
		{[]string{"stats", "--dataset", "synthetic", "extra"}, `unexpected argument "extra"`, true},
		{[]string{"stats", "--dataset", "synthetic", "--seed", "4294967296"}, "numpy seeds", false},
		{[]string{"stats", "--dataset", "cifar10", "--data-dir", empty}, "no cifar-10-batches-bin or cifar-10-batches-py folder in " + empty, false},
		{[]string{"download", "--dataset", "synthetic"}, "nothing to download", false},
		{[]string{"download", "--dataset", "ImageNet-LT", "--root", empty}, "imagenet-lt is not downloaded by glmc", false},
		{[]string{"download", "--dataset", "imagenet-lt", "--dir_train_txt", "x"}, "flag provided but not defined: -dir_train_txt", true},
		{[]string{"verify", "--dataset", "cifar10"}, "not made of image files", true},
		{[]string{"verify", "--dataset", "inat2018", "--root", empty}, "iNaturalist18_train.txt: no such file", false},
		{[]string{"verify", "--dataset", "folder", "--workers", "0"}, "--workers 0: want at least 1", true},
		{[]string{"stats", "--dataset", "iNaturelist2018", "--root", empty, "--dir_train_txt", filepath.Join(empty, "t.txt")}, "t.txt: no such file", false},
		{[]string{"download", "--dataset", "cifar10", "--format", "matlab", "--data-dir", empty}, `format "matlab"`, false},
	} {
		err := runData(tc.args, &bytes.Buffer{})
		require.Error(t, err, "%v", tc.args)
		assert.Contains(t, err.Error(), tc.want, "%v", tc.args)
		assert.NotContains(t, err.Error(), "\n")
		assert.Equal(t, tc.usage, errorsAsUsage(err), "%v: usage error", tc.args)
	}
}

func errorsAsUsage(err error) bool {
	_, ok := err.(usageError)
	return ok
}

func TestDataDownloadFromMirror(t *testing.T) {
	// The mirror serves something that is not the published archive: the
	// MD5 check refuses it and nothing is left behind.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/cifar-10-python.tar.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("not the CIFAR archive"))
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "data")
	err := runData([]string{"download", "--dataset", "cifar10", "--format", "python", "--mirror", srv.URL, "--data-dir", dir}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want the published c58f30108f718f92721af3b95e74349a")
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries)

	// A folder already in place is reported ready without any transfer.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "cifar-100-binary"), 0o755))
	var out bytes.Buffer
	require.NoError(t, runData([]string{"download", "--dataset", "cifar100", "--mirror", "http://127.0.0.1:1", "--data-dir", dir}, &out))
	assert.Equal(t, "cifar100: ready in "+filepath.Join(dir, "cifar-100-binary")+"\n", out.String())
}

// imageSet writes an ImageNet-LT-format set into dir: classes of 3, 2 and
// 1 training images (JPEG and PNG, colour and grey, mixed sizes), one
// test image per class, and the two official list files.
func imageSet(t *testing.T, dir string) (train []string) {
	t.Helper()
	var test []string
	n := 0
	for c, k := range []int{3, 2, 1} {
		for i := range k + 1 {
			img := image.NewRGBA(image.Rect(0, 0, 20+5*n, 30-3*n))
			for p := range img.Pix {
				img.Pix[p] = uint8(p*7 + n)
			}
			var enc image.Image = img
			if n%3 == 1 {
				enc = image.NewGray(img.Rect)
			}
			var b bytes.Buffer
			ext := ".png"
			if n%2 == 0 {
				ext = ".jpg"
				require.NoError(t, jpeg.Encode(&b, enc, nil))
			} else {
				require.NoError(t, png.Encode(&b, enc))
			}
			rel := fmt.Sprintf("train/c%d/%d%s", c, i, ext)
			line := &train
			if i == k {
				rel, line = fmt.Sprintf("test/c%d%s", c, ext), &test
			}
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, rel), b.Bytes(), 0o644))
			*line = append(*line, fmt.Sprintf("%s %d", rel, c))
			n++
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ImageNet_LT_train.txt"), []byte(strings.Join(train, "\n")+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ImageNet_LT_test.txt"), []byte(strings.Join(test, "\n")+"\n"), 0o644))
	return train
}

func TestDataStatsVerifyImageFiles(t *testing.T) {
	dir := t.TempDir()
	train := imageSet(t, dir)
	var out bytes.Buffer
	require.NoError(t, runData([]string{"stats", "--dataset", "ImageNet-LT", "--root", dir, "--json"}, &out))
	var rec dataStatsJSON
	require.NoError(t, json.Unmarshal(out.Bytes(), &rec))
	assert.Equal(t, dataStatsJSON{"imagenet-lt", 3, []int{3, 2, 1}, []int{1, 1, 1}, []string{"c0", "c1", "c2"}}, rec)
	out.Reset()
	require.NoError(t, runData([]string{"stats", "--dataset", "imagenet-lt", "--data-dir", dir}, &out))
	assert.Contains(t, out.String(), "imagenet-lt, as listed, n_max/n_min 3/1: 6 training images, 3 test images")

	out.Reset()
	require.NoError(t, runData([]string{"verify", "--dataset", "imagenet-lt", "--root", dir, "--workers", "2"}, &out))
	assert.Equal(t, "imagenet-lt: all 9 images decode (6 training, 3 test)\n", out.String())

	// A corrupt file and a missing one, in a list given by path.
	bad := filepath.Join(dir, strings.Fields(train[1])[0])
	require.NoError(t, os.WriteFile(bad, []byte("\xff\xd8\xff\xe0"), 0o644))
	list := filepath.Join(t.TempDir(), "mine.txt")
	require.NoError(t, os.WriteFile(list, []byte(strings.Join(append(train, "train/c0/gone.png 0"), "\n")), 0o644))
	out.Reset()
	err := runData([]string{"verify", "--dataset", "imagenet-lt", "--root", dir, "--dir_train_txt", list}, &out)
	require.Error(t, err)
	assert.Equal(t, "data verify: imagenet-lt: 2 of 10 images could not be decoded (listed above)", err.Error())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2)
	assert.True(t, strings.HasPrefix(lines[0], "bad: data: mine.txt:2: "+bad+": jpeg: "), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], "bad: data: mine.txt:7: "), lines[1])
	assert.Contains(t, lines[1], "no such file")
}

// TestTrainImageFiles trains one epoch of a tiny network on an
// ImageNet-LT-format set, through decoding and the official transforms;
// a corrupt image stops the run naming it, unless --skip-bad-images
// leaves it out.
func TestTrainImageFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of 224×224 training")
	}
	dir := t.TempDir()
	train := imageSet(t, dir)
	args := []string{"train", "--dataset", "ImageNet-LT", "--root", dir, "--arch", "resnet32", "--width", "2", "--blocks", "1,1,1",
		"--epochs", "1", "--batch-size", "3", "--quiet"}
	var out bytes.Buffer
	require.NoError(t, runTrain(withArgs(args[1:], "--out", filepath.Join(t.TempDir(), "run")), &out))
	assert.Contains(t, out.String(), "top-1")
	out.Reset()
	require.NoError(t, runTrain(withArgs(args[1:], "--image-size", "24", "--out", filepath.Join(t.TempDir(), "run")), &out))
	assert.Contains(t, out.String(), "top-1")

	bad := filepath.Join(dir, strings.Fields(train[4])[0])
	require.NoError(t, os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\n"), 0o644))
	err := runTrain(withArgs(args[1:], "--out", filepath.Join(t.TempDir(), "run")), &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ImageNet_LT_train.txt:5: "+bad+": png: ")
	assert.NotContains(t, err.Error(), "\n")

	out.Reset()
	require.NoError(t, runTrain(withArgs(args[1:], "--skip-bad-images", "--out", filepath.Join(t.TempDir(), "run")), &out))
	assert.Contains(t, out.String(), "bad: data: ImageNet_LT_train.txt:5: ")
	assert.Contains(t, out.String(), "glmc: left out 1 of 6 training and 0 of 3 test images that do not decode")
}

// TestTrainImageSizeResumes: --image-size is part of the saved run, so a
// resumed run keeps it, and contradicting it is an error; glmc eval of the
// run's narrow ResNeXt scores the test list as training did.
func TestTrainImageSizeResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("two tiny training runs")
	}
	dir := t.TempDir()
	imageSet(t, dir)
	out := filepath.Join(t.TempDir(), "run")
	// No --arch: ImageNet-LT trains its official resnext50_32x4d, narrowed.
	args := []string{"--dataset", "imagenet-lt", "--root", dir, "--width", "16", "--blocks", "1,1,1,1",
		"--batch-size", "3", "--quiet", "--out", out}
	require.NoError(t, runTrain(append(args, "--epochs", "1", "--image-size", "16"), &bytes.Buffer{}))
	st, err := glmc.ReadState(filepath.Join(out, glmc.LastFile))
	require.NoError(t, err)
	assert.Equal(t, 16, st.Config.ImageSize)
	assert.Equal(t, "resnext50_32x4d", st.Config.Arch)
	err = runTrain(append(args, "--resume", "--image-size", "24"), &bytes.Buffer{})
	assert.ErrorContains(t, err, "--image-size 24 contradicts the saved run's 16")

	// glmc eval reads the run's image size and takes the official flags
	// for the lists: its top-1 is the one training measured.
	var res bytes.Buffer
	require.NoError(t, runEval([]string{"--checkpoint", filepath.Join(out, glmc.LastFile), "--root", dir,
		"--dir_test_txt", filepath.Join(dir, "ImageNet_LT_test.txt"), "--json"}, &res))
	var rep evalReport
	require.NoError(t, json.Unmarshal(res.Bytes(), &rep))
	assert.Equal(t, st.BestTop1, rep.Top1) // one epoch: the best is the last
	assert.Equal(t, 3, rep.Samples)
}
