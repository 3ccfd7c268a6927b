// Package fuzzcorpus keeps the committed seed corpora of the fuzz targets
// (testdata/fuzz/<FuzzName>/<seed>, in Go's corpus file format) in step
// with the code that makes the seeds. Go's fuzzing reads those files as
// seeds on every `go test` (replay) and `go test -fuzz` run, so the
// targets that use Check need no f.Add.
//
// After changing a seed, rewrite the files with
//
//	go test ./<package> -run '^FuzzName$' -update-corpus
package fuzzcorpus

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update-corpus", false, "rewrite the seed corpora under testdata/fuzz from the seeds in the code")

// Seed is one corpus entry: a file name and the arguments of the fuzz
// function, of the types []byte, string, bool or int.
type Seed struct {
	Name string
	Args []any
}

// Check makes sure testdata/fuzz/<f.Name()> holds every seed, byte for
// byte; with -update-corpus it writes them. Files besides the seeds (the
// fuzzer's crash reproducers) are left alone.
func Check(f *testing.F, seeds ...Seed) {
	f.Helper()
	dir := filepath.Join("testdata", "fuzz", f.Name())
	for _, s := range seeds {
		want, err := encode(s.Args)
		if err != nil {
			f.Fatalf("seed %s: %v", s.Name, err)
		}
		path := filepath.Join(dir, s.Name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				f.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				f.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
			f.Fatalf("seed corpus file %s is missing or stale; rewrite it with: go test -run '^%s$' -update-corpus", path, f.Name())
		}
	}
}

// OneLine fails t when err spans more than one line: every error of
// the project's readers is one line that names what was wrong.
func OneLine(t testing.TB, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Fatalf("error of more than one line: %q", err)
	}
}

// encode writes args in the format of Go's corpus files.
func encode(args []any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%v)\n", v)
		default:
			return nil, fmt.Errorf("argument of type %T, want []byte, string, bool or int", a)
		}
	}
	return b.Bytes(), nil
}
