package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func content(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := Write(path, content("first")); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, content("second, longer")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "second, longer" {
		t.Errorf("content %q after two writes", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if names := entries(t, dir); !slices.Equal(names, []string{"f"}) {
		t.Errorf("folder holds %v after two writes, want only f", names)
	}
}

// TestWriteFails checks that every failure leaves the old file, no
// temporary file, and an error naming the path.
func TestWriteFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := Write(path, content("old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	tests := []struct {
		name  string
		path  string
		write func(io.Writer) error
		is    error
	}{
		// Beyond the buffer, so that bytes reach the temporary file.
		{"writer fails half-way", path, func(w io.Writer) error {
			io.WriteString(w, strings.Repeat("x", 1<<16))
			return boom
		}, boom},
		{"missing folder", filepath.Join(dir, "missing", "f"), content("x"), os.ErrNotExist},
		{"path is a non-empty folder", filepath.Join(dir, "sub"), content("x"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(tc.path, tc.write)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want one wrapping %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.path) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line naming %s", err, tc.path)
			}
			if b, _ := os.ReadFile(path); string(b) != "old" {
				t.Errorf("content %q after a failed write", b)
			}
			if names := entries(t, dir); !slices.Equal(names, []string{"f", "sub"}) {
				t.Errorf("folder holds %v, want f and sub", names)
			}
		})
	}
}
