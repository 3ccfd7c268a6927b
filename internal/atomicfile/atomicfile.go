// Package atomicfile replaces files so that a reader, or a machine that
// loses power, sees either the old bytes or all the new ones: never a
// half-written file under the final name.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// Mode is the permission of every file Write creates: outputs (run files,
// checkpoints, downloads) are as readable as any other file, whereas the
// temporary file os.CreateTemp makes is private.
const Mode = 0o644

// Write replaces path with what write produces. The bytes go through a
// buffer to a temporary file in the same folder (a rename is atomic only
// within one file system), which is flushed to disk and renamed over
// path; then the folder is flushed so that the rename itself survives a
// crash. When write or any step fails, the temporary file is removed,
// path is as it was, and the error, which wraps write's, names path.
func Write(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	err = func() error {
		bw := bufio.NewWriter(f)
		if err := write(bw); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if err := f.Chmod(Mode); err != nil {
			return err
		}
		return f.Sync()
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("writing %s: flushing the folder: %w", path, err)
	}
	return nil
}

// SyncDir flushes the entries of a folder to disk, so that a rename into
// it survives a crash. Windows cannot open a folder for syncing; NTFS
// journals the rename itself.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
