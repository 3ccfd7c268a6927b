package data

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testArchive builds a small cifar-10-batches-bin archive and the archive
// record that names it, with its real MD5.
func testArchive(t *testing.T) (archive, []byte, *Dataset) {
	t.Helper()
	src := t.TempDir()
	l := cifar10Binary.small(2)
	train, _ := writeCIFAR(t, src, l, 1)
	entries := []tarEntry{{name: l.folder + "/", typeflag: tar.TypeDir}}
	names, err := os.ReadDir(filepath.Join(src, l.folder))
	require.NoError(t, err)
	for _, e := range names {
		b, err := os.ReadFile(filepath.Join(src, l.folder, e.Name()))
		require.NoError(t, err)
		entries = append(entries, tarEntry{name: l.folder + "/" + e.Name(), body: b})
	}
	tgz := tarGz(entries)
	sum := md5.Sum(tgz)
	return archive{"cifar10", "binary", "cifar-10-binary.tar.gz", hex.EncodeToString(sum[:]), l.folder}, tgz, train
}

// server serves body for the archive's file name and counts requests;
// cut > 0 announces the full length but sends only cut bytes.
func server(t *testing.T, name string, body []byte, cut int) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/"+name {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if cut > 0 {
			w.Write(body[:cut])
			return // the server closes the connection short of Content-Length
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// leftovers lists what a failed download left in dir.
func leftovers(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDownloadGoodArchive(t *testing.T) {
	a, tgz, train := testArchive(t)
	srv, hits := server(t, a.file, tgz, 0)
	dir := filepath.Join(t.TempDir(), "data")
	var progress bytes.Buffer
	folder, err := download(context.Background(), a, dir, DownloadOptions{BaseURL: srv.URL + "/", Progress: &progress})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, a.folder), folder)
	assert.Contains(t, progress.String(), a.file)
	assert.ElementsMatch(t, []string{a.file, a.folder}, leftovers(t, dir), "archive kept, no temporary files")

	l := cifar10Binary.small(2)
	got, _, err := l.load(dir, "cifar10")
	require.NoError(t, err)
	assert.Equal(t, train.Images, got.Images)

	// Ready: nothing is fetched again.
	_, err = download(context.Background(), a, dir, DownloadOptions{BaseURL: srv.URL})
	require.NoError(t, err)
	assert.EqualValues(t, 1, hits.Load())

	// An archive already in place with the right MD5 is unpacked, not fetched.
	require.NoError(t, os.RemoveAll(folder))
	_, err = download(context.Background(), a, dir, DownloadOptions{BaseURL: srv.URL})
	require.NoError(t, err)
	assert.EqualValues(t, 1, hits.Load())
	assert.DirExists(t, folder)
}

func TestDownloadFailuresKeepNothing(t *testing.T) {
	a, tgz, _ := testArchive(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
		md5  string
		want []string
	}{
		{"wrong checksum", func(t *testing.T) string { s, _ := server(t, a.file, tgz, 0); return s.URL }, "00000000000000000000000000000000",
			[]string{"MD5 " + a.md5 + ", want the published 00000000000000000000000000000000", "nothing kept"}},
		{"truncated transfer", func(t *testing.T) string { s, _ := server(t, a.file, tgz, len(tgz)/2); return s.URL }, a.md5,
			[]string{"transfer cut short after " + strconv.Itoa(len(tgz)/2) + " of " + strconv.Itoa(len(tgz)) + " bytes", "if this machine is offline"}},
		{"not found", func(t *testing.T) string { s, _ := server(t, "other.tar.gz", tgz, 0); return s.URL }, a.md5,
			[]string{"HTTP 404 Not Found", "put it, or its unpacked cifar-10-batches-bin folder, in"}},
		{"offline", func(*testing.T) string { return closed.URL }, a.md5,
			[]string{"connect", "if this machine is offline, fetch " + closed.URL + "/cifar-10-binary.tar.gz elsewhere"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b := a
			b.md5 = tc.md5
			_, err := download(context.Background(), b, dir, DownloadOptions{BaseURL: tc.url(t)})
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "\n")
			assert.Empty(t, leftovers(t, dir))
		})
	}
}

func TestDownloadOfficialTable(t *testing.T) {
	// The public entry point uses the published MD5s: a generated archive
	// served in place of the real one is refused.
	_, tgz, _ := testArchive(t)
	srv, _ := server(t, "cifar-100-python.tar.gz", tgz, 0)
	_, err := Download(context.Background(), "cifar100", t.TempDir(), DownloadOptions{BaseURL: srv.URL, Format: "python"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want the published eb9058c3a382ffc7106e4002c42a8d85")

	for name, want := range map[string]string{
		"fashion-mnist": "dataset-fashion-mnist",
		"synthetic":     "nothing to download",
		"mnist":         "unknown dataset",
	} {
		_, err := Download(context.Background(), name, t.TempDir(), DownloadOptions{})
		assert.ErrorContains(t, err, want)
	}
	_, err = Download(context.Background(), "cifar10", t.TempDir(), DownloadOptions{Format: "matlab"})
	assert.ErrorContains(t, err, `format "matlab", want binary or python`)
}

func TestUnpackRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		want    string
	}{
		{"parent", []tarEntry{{name: "cifar/../../evil", body: []byte("x")}}, `entry "cifar/../../evil" would land outside`},
		{"absolute", []tarEntry{{name: "/tmp/evil", body: []byte("x")}}, `entry "/tmp/evil" would land outside`},
		{"symlink", []tarEntry{{name: "cifar/link", typeflag: tar.TypeSymlink, link: "/etc/passwd"}}, "link or special file"},
		{"hard link", []tarEntry{{name: "cifar/link", typeflag: tar.TypeLink, link: "../x"}}, "link or special file"},
		{"no folder", []tarEntry{{name: "other/file", body: []byte("x")}}, "no cifar folder in the archive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "data")
			require.NoError(t, os.MkdirAll(dir, 0o755))
			path := filepath.Join(dir, "a.tar.gz")
			require.NoError(t, os.WriteFile(path, tarGz(tc.entries), 0o644))
			err := unpack(path, dir, "cifar")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, []string{"a.tar.gz"}, leftovers(t, dir), "nothing unpacked")
			assert.Equal(t, []string{"data"}, leftovers(t, root), "nothing escaped")
		})
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.tar.gz")
	require.NoError(t, os.WriteFile(path, []byte("not gzip"), 0o644))
	assert.ErrorContains(t, unpack(path, dir, "cifar"), "not a gzip file")
}
