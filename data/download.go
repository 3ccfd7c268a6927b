package data

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glmc/glmc/internal/atomicfile"
	"github.com/schollz/progressbar/v3"
)

// DefaultBaseURL is where the CIFAR authors publish the archives (the
// address torchvision downloads from).
const DefaultBaseURL = "https://www.cs.toronto.edu/~kriz/"

// archive is one official distribution: its file name, published MD5 and
// the folder it unpacks to.
type archive struct {
	dataset, format string
	file, md5       string
	folder          string
}

var archives = []archive{
	{"cifar10", "binary", "cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", "cifar-10-batches-bin"},
	{"cifar10", "python", "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", "cifar-10-batches-py"},
	{"cifar100", "binary", "cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8", "cifar-100-binary"},
	{"cifar100", "python", "cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python"},
}

// DownloadOptions tunes Download. The zero value downloads the binary
// layout from DefaultBaseURL without a progress bar.
type DownloadOptions struct {
	BaseURL  string       // archives are fetched from BaseURL + file name
	Format   string       // "binary" (default) or "python"
	Client   *http.Client // http.DefaultClient if nil
	Progress io.Writer    // where the progress bar is drawn; nil for none
}

// maxUnpacked bounds what an archive may unpack to (the CIFAR archives
// unpack to under 200 MB), so a hostile archive cannot fill the disk.
const maxUnpacked = 2 << 30

// Download makes the named CIFAR dataset ready under dir: it fetches the
// official archive, checks its published MD5, and unpacks it to
// dir/<torchvision folder>, returning that folder. Nothing is fetched when
// the folder exists, and an archive already in dir with the right MD5 is
// reused. The archive is written to a temporary file and renamed only once
// its MD5 matches, and unpacked into a temporary folder renamed into place
// at the end, so a failure never leaves a half-written file or folder
// under its final name.
func Download(ctx context.Context, name, dir string, opt DownloadOptions) (string, error) {
	if opt.Format == "" {
		opt.Format = "binary"
	}
	for _, a := range archives {
		if a.dataset == name && a.format == opt.Format {
			return download(ctx, a, dir, opt)
		}
	}
	switch name {
	case "cifar10", "cifar100":
		return "", fmt.Errorf("data: download: format %q, want binary or python", opt.Format)
	case "fashion-mnist":
		return "", fmt.Errorf("data: download: fashion-mnist is not downloaded by glmc: install Debian's dataset-fashion-mnist (files in %s) or put the four IDX files in %s", FashionMNISTDebianDir, dir)
	case "synthetic":
		return "", fmt.Errorf("data: download: synthetic is generated, there is nothing to download")
	}
	in, err := Lookup(name)
	if err == nil && in.Files {
		err = fmt.Errorf("data: download: %s is not downloaded by glmc: put its images (and the official list files) in %s yourself", in.Name, dir)
	}
	return "", err
}

func download(ctx context.Context, a archive, dir string, opt DownloadOptions) (string, error) {
	folder := filepath.Join(dir, a.folder)
	if st, err := os.Stat(folder); err == nil && st.IsDir() {
		return folder, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("data: download: %w", err)
	}
	path := filepath.Join(dir, a.file)
	if sum, err := fileMD5(path); err != nil || sum != a.md5 {
		if err := fetch(ctx, a, path, opt); err != nil {
			return "", err
		}
	}
	if err := unpack(path, dir, a.folder); err != nil {
		return "", err
	}
	return folder, nil
}

func fileMD5(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fetch downloads the archive to path through a temporary file.
func fetch(ctx context.Context, a archive, path string, opt DownloadOptions) error {
	base := opt.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	url := strings.TrimSuffix(base, "/") + "/" + a.file
	offline := fmt.Sprintf("if this machine is offline, fetch %s elsewhere and put it, or its unpacked %s folder, in %s", url, a.folder, filepath.Dir(path))
	client := opt.Client
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("data: download: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("data: download %s: %w; %s", url, err, offline)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("data: download %s: HTTP %s; %s", url, resp.Status, offline)
	}
	// The archive is kept only when its MD5 matches: the check fails the
	// atomic write, which then removes its temporary file.
	err = atomicfile.Write(path, func(w io.Writer) error {
		h := md5.New()
		sink := io.MultiWriter(w, h)
		if opt.Progress != nil {
			bar := progressbar.NewOptions64(resp.ContentLength,
				progressbar.OptionSetWriter(opt.Progress),
				progressbar.OptionSetDescription(a.file),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowTotalBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(opt.Progress) }),
			)
			defer bar.Exit()
			sink = io.MultiWriter(sink, bar)
		}
		n, err := io.Copy(sink, resp.Body)
		if err != nil || (resp.ContentLength >= 0 && n != resp.ContentLength) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("download %s: transfer cut short after %d of %d bytes: %w; %s", url, n, resp.ContentLength, err, offline)
		}
		if sum := hex.EncodeToString(h.Sum(nil)); sum != a.md5 {
			return fmt.Errorf("download %s: MD5 %s, want the published %s (corrupt transfer or wrong file); nothing kept", url, sum, a.md5)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return nil
}

// unpack extracts the tar.gz at path into a temporary folder in dir and
// then renames its top folder want into dir. Entries that would land
// outside the folder (absolute paths, ".."), links and special files are
// refused: the official archives hold only folders and regular files.
func unpack(path, dir, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("data: unpack: %w", err)
	}
	defer f.Close()
	return extract(f, path, dir, want)
}

// extract is unpack of the archive path read from r.
func extract(r io.Reader, path, dir, want string) error {
	tmp, err := os.MkdirTemp(dir, ".unpack-*")
	if err != nil {
		return fmt.Errorf("data: unpack: %w", err)
	}
	defer os.RemoveAll(tmp)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("data: unpack %s: "+format, append([]any{path}, args...)...)
	}
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fail("not a gzip file: %v", err)
	}
	tr := tar.NewReader(zr)
	var total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail("corrupt archive: %v", err)
		}
		name := filepath.FromSlash(hdr.Name)
		if !filepath.IsLocal(name) {
			return fail("entry %q would land outside %s", hdr.Name, dir)
		}
		target := filepath.Join(tmp, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fail("%v", err)
			}
		case tar.TypeReg:
			total += hdr.Size
			if total > maxUnpacked {
				return fail("unpacks to more than %d bytes", maxUnpacked)
			}
			if err := writeEntry(target, tr, hdr.Size); err != nil {
				return fail("entry %q: %v", hdr.Name, err)
			}
		default:
			return fail("entry %q is a link or special file (type %q); only folders and files are expected", hdr.Name, hdr.Typeflag)
		}
	}
	if st, err := os.Stat(filepath.Join(tmp, want)); err != nil || !st.IsDir() {
		return fail("no %s folder in the archive", want)
	}
	if err := os.Rename(filepath.Join(tmp, want), filepath.Join(dir, want)); err != nil {
		return fmt.Errorf("data: unpack: %w", err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("data: unpack: flushing %s: %w", dir, err)
	}
	return nil
}

// writeEntry writes the size bytes of r to target, flushed to disk (see
// atomicfile.Write) so that the folder renamed into place after them never
// holds empty or cut files after a crash.
func writeEntry(target string, r io.Reader, size int64) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(target, func(w io.Writer) error {
		_, err := io.CopyN(w, r, size)
		return err
	})
}
