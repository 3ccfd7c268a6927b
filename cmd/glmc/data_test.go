package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmc/glmc/data"
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
		{nil, "want a sub-command: download or stats", true},
		{[]string{"--dataset", "cifar10"}, "want a sub-command", true},
		{[]string{"show"}, `unknown sub-command "show"`, true},
		{[]string{"stats"}, "--dataset is required: want one of cifar10, cifar100, fashion-mnist, synthetic", true},
		{[]string{"stats", "--dataset", "imagenet"}, `unknown dataset "imagenet"`, true},
		{[]string{"stats", "--dataset", "synthetic", "--imbalance-factor", "0.5"}, "--imbalance-factor 0.5: want a value ≥ 1", true},
		{[]string{"stats", "--dataset", "synthetic", "--epochs", "3"}, "flag provided but not defined: -epochs", true},
		{[]string{"stats", "--dataset", "synthetic", "extra"}, `unexpected argument "extra"`, true},
		{[]string{"stats", "--dataset", "synthetic", "--seed", "4294967296"}, "numpy seeds", false},
		{[]string{"stats", "--dataset", "cifar10", "--data-dir", empty}, "no cifar-10-batches-bin or cifar-10-batches-py folder in " + empty, false},
		{[]string{"download", "--dataset", "synthetic"}, "nothing to download", false},
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
