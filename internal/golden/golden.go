// Package golden reads the PyTorch reference fixtures that
// tools/golden/gen_nn.py writes under nn/testdata/golden, and compares
// results with them at the project's parity tolerance.
//
// A fixture is a safetensors file (see internal/safetensors) of F32, F64
// and I64 tensors with a string metadata map. The metadata carries format
// "glmc-golden" and a version; Load refuses any other, so a stale fixture
// fails with instructions instead of with wrong numbers. tools/golden/README.md lists every file and tensor name.
package golden

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/glmc/glmc/internal/safetensors"
)

const (
	// Format is the metadata "format" every fixture carries.
	Format = "glmc-golden"
	// Version is the fixture layout this package and its callers expect;
	// gen_nn.py's VERSION must match it.
	Version = "1"
	// Regenerate is the command that rewrites the fixtures (from the
	// repository root, with Debian's python3-torch installed).
	Regenerate = "/usr/bin/python3 tools/golden/gen_nn.py"
)

// dtypes are the dtypes the fixtures use.
var dtypes = []string{"F32", "F64", "I64"}

// File is one loaded fixture. Its methods are safe for concurrent use.
type File struct {
	path    string
	meta    map[string]string
	entries map[string]safetensors.Tensor
	names   []string // in data order, which is the order gen_nn.py wrote them
}

// Load reads and validates a fixture: header and byte ranges consistent,
// dtypes known, and format and version those of this package. A version
// mismatch says how to regenerate the files.
func Load(path string) (*File, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	f, err := parse(path, buf)
	if err != nil {
		return nil, fmt.Errorf("golden: %s: %w", path, err)
	}
	return f, nil
}

// MustLoad is Load for tests: it stops the test on error.
func MustLoad(t testing.TB, path string) *File {
	t.Helper()
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func parse(path string, buf []byte) (*File, error) {
	st, err := safetensors.Parse(buf)
	if err != nil {
		return nil, err
	}
	f := &File{path: path, meta: st.Metadata, entries: make(map[string]safetensors.Tensor, len(st.Tensors))}
	if err := f.checkVersion(); err != nil {
		return nil, err
	}
	for _, t := range st.Tensors {
		if !slices.Contains(dtypes, t.DType) {
			return nil, fmt.Errorf("tensor %q: dtype %q, want one of %v", t.Name, t.DType, dtypes)
		}
		f.entries[t.Name] = t
		f.names = append(f.names, t.Name)
	}
	return f, nil
}

func (f *File) checkVersion() error {
	format, version := f.meta["format"], f.meta["version"]
	if format != Format || version != Version {
		return fmt.Errorf("fixture format %q version %q, want %q version %q; regenerate with: %s",
			format, version, Format, Version, Regenerate)
	}
	return nil
}

// Path returns the file the fixture was loaded from.
func (f *File) Path() string { return f.path }

// Names returns the names of the tensors starting with prefix ("" for all),
// in the order gen_nn.py wrote them (state dicts in PyTorch's order).
func (f *File) Names(prefix string) []string {
	var out []string
	for _, name := range f.names {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	return out
}

// Meta returns the metadata value of key.
func (f *File) Meta(key string) (string, bool) {
	v, ok := f.meta[key]
	return v, ok
}

// MetaJSON decodes the metadata value of key, which gen_nn.py writes as JSON
// for everything but strings (numbers, lists such as "cases", "blocks").
func (f *File) MetaJSON(key string, v any) error {
	s, ok := f.meta[key]
	if !ok {
		return fmt.Errorf("golden: %s: no metadata %q; regenerate with: %s", f.path, key, Regenerate)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("golden: %s: metadata %q: %w", f.path, key, err)
	}
	return nil
}

// Shape returns the shape and dtype of tensor name.
func (f *File) Shape(name string) (shape []int, dtype string, err error) {
	e, err := f.entry(name, "")
	if err != nil {
		return nil, "", err
	}
	return slices.Clone(e.Shape), e.DType, nil
}

// entry returns tensor name, which must have the given dtype unless that
// is "".
func (f *File) entry(name, dtype string) (safetensors.Tensor, error) {
	e, ok := f.entries[name]
	if !ok {
		return e, fmt.Errorf("golden: %s: no tensor %q; regenerate with: %s", f.path, name, Regenerate)
	}
	if dtype != "" && e.DType != dtype {
		return e, fmt.Errorf("golden: %s: tensor %q is %s, not %s", f.path, name, e.DType, dtype)
	}
	return e, nil
}

// Tensor returns the shape and a fresh copy of the data of the F32 tensor
// name, row-major as in PyTorch.
func (f *File) Tensor(name string) (shape []int, data []float32, err error) {
	return decode(f, name, "F32", safetensors.Tensor.Float32s)
}

// Float64 returns the shape and data of the F64 tensor name (learning rates).
func (f *File) Float64(name string) (shape []int, data []float64, err error) {
	return decode(f, name, "F64", safetensors.Tensor.Float64s)
}

// Int64 returns the shape and data of the I64 tensor name
// (num_batches_tracked).
func (f *File) Int64(name string) (shape []int, data []int64, err error) {
	return decode(f, name, "I64", safetensors.Tensor.Int64s)
}

// decode returns the shape and values of tensor name, which must be of
// type dtype.
func decode[T any](f *File, name, dtype string, values func(safetensors.Tensor) ([]T, error)) ([]int, []T, error) {
	e, err := f.entry(name, dtype)
	if err != nil {
		return nil, nil, err
	}
	data, err := values(e)
	return slices.Clone(e.Shape), data, err
}

// MustTensor is Tensor for tests: it stops the test on error.
func (f *File) MustTensor(t testing.TB, name string) (shape []int, data []float32) {
	t.Helper()
	shape, data, err := f.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	return shape, data
}

// Expect checks ours, of the given shape, against the F32 tensor name of f:
// the shapes must be equal and the values within the tolerance of Compare.
func (f *File) Expect(t testing.TB, name string, shape []int, ours []float32) bool {
	t.Helper()
	want, torch, err := f.Tensor(name)
	if err != nil {
		t.Error(err)
		return false
	}
	if !slices.Equal(shape, want) {
		t.Errorf("golden: %s: shape: ours %v, torch %v", name, shape, want)
		return false
	}
	return Compare(t, name, ours, torch)
}
