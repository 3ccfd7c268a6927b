// Package runcheck compares the folders of `glmc train` runs, for the
// tests that promise bit-identical runs (across thread counts, and after
// a resume).
package runcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/glmc/glmc/glmc"
)

// Files returns the contents of every file in dir by name.
func Files(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if out[e.Name()], err = os.ReadFile(filepath.Join(dir, e.Name())); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WithoutTiming returns the lines of a metrics file with
// glmc.TimingFields removed, re-encoded one per line. It fails on a line
// that is not a JSON object or lacks a timing field.
func WithoutTiming(metrics []byte) (string, error) {
	var out bytes.Buffer
	for i, line := range bytes.Split(bytes.TrimSpace(metrics), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			return "", fmt.Errorf("metrics line %d: %w", i+1, err)
		}
		for _, k := range glmc.TimingFields {
			if _, ok := rec[k]; !ok {
				return "", fmt.Errorf("metrics line %d has no timing field %q", i+1, k)
			}
			delete(rec, k)
		}
		b, _ := json.Marshal(rec) // decoded JSON always encodes
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.String(), nil
}

// Diff describes how run folders a and b differ: the file names that only
// one holds, and each common file whose bytes differ, the metrics file
// compared without its timing fields. Identical runs give none.
func Diff(a, b string) ([]string, error) {
	fa, err := Files(a)
	if err != nil {
		return nil, err
	}
	fb, err := Files(b)
	if err != nil {
		return nil, err
	}
	if ka, kb := slices.Sorted(maps.Keys(fa)), slices.Sorted(maps.Keys(fb)); !slices.Equal(ka, kb) {
		return []string{fmt.Sprintf("files %v and %v", ka, kb)}, nil
	}
	var diffs []string
	for _, name := range slices.Sorted(maps.Keys(fa)) {
		if name != glmc.MetricsFile {
			if !bytes.Equal(fa[name], fb[name]) {
				diffs = append(diffs, name+" differs")
			}
			continue
		}
		ma, err := WithoutTiming(fa[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, err)
		}
		mb, err := WithoutTiming(fb[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b, err)
		}
		if ma != mb {
			diffs = append(diffs, fmt.Sprintf("%s differs apart from timing:\n%s%s", name, ma, mb))
		}
	}
	return diffs, nil
}

// MustFiles is Files for tests: it fails t on an error.
func MustFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	f, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// ExpectSame fails t unless run folders a and b are the same run (Diff).
func ExpectSame(t testing.TB, a, b string) {
	t.Helper()
	diffs, err := Diff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Error(d)
	}
}
