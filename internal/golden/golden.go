// Package golden reads the PyTorch reference fixtures that
// tools/golden/gen_nn.py writes under nn/testdata/golden, and compares
// results with them at the project's parity tolerance.
//
// A fixture is a safetensors file: an 8-byte little-endian header length, a
// JSON header giving each tensor's dtype (F32, F64 or I64), shape and byte
// range, plus a string metadata map, then the raw little-endian data. The
// metadata carries format "glmc-golden" and a version; Load refuses any
// other, so a stale fixture fails with instructions instead of with wrong
// numbers. tools/golden/README.md lists every file and tensor name.
package golden

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
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

// maxHeader bounds the JSON header so that a corrupt length cannot make
// Load allocate gigabytes; real headers are a few tens of kilobytes.
const maxHeader = 16 << 20

// dtypeSize is the element size of each dtype the fixtures use.
var dtypeSize = map[string]int{"F32": 4, "F64": 8, "I64": 8}

// entry locates one tensor in File.data.
type entry struct {
	dtype      string
	shape      []int
	begin, end int // byte range in File.data
}

// File is one loaded fixture. Its methods are safe for concurrent use.
type File struct {
	path    string
	meta    map[string]string
	entries map[string]entry
	names   []string // in data order, which is the order gen_nn.py wrote them
	data    []byte   // the bytes after the header
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
	if len(buf) < 8 {
		return nil, fmt.Errorf("%d bytes, shorter than the 8-byte header length", len(buf))
	}
	n := binary.LittleEndian.Uint64(buf)
	if n > maxHeader || n > uint64(len(buf)-8) {
		return nil, fmt.Errorf("header length %d does not fit in the %d-byte file", n, len(buf))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(buf[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	f := &File{path: path, entries: make(map[string]entry, len(raw)), data: buf[8+n:]}
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &f.meta); err != nil {
			return nil, fmt.Errorf("header: __metadata__: %w", err)
		}
		delete(raw, "__metadata__")
	}
	if err := f.checkVersion(); err != nil {
		return nil, err
	}
	for name, m := range raw {
		var h struct {
			DType       string `json:"dtype"`
			Shape       []int  `json:"shape"`
			DataOffsets []int  `json:"data_offsets"`
		}
		if err := json.Unmarshal(m, &h); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		e, err := newEntry(h.DType, h.Shape, h.DataOffsets, len(f.data))
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		f.entries[name] = e
		f.names = append(f.names, name)
	}
	slices.SortFunc(f.names, func(a, b string) int { return f.entries[a].begin - f.entries[b].begin })
	return f, f.checkLayout()
}

func newEntry(dtype string, shape, offsets []int, size int) (entry, error) {
	elem, ok := dtypeSize[dtype]
	if !ok {
		return entry{}, fmt.Errorf("dtype %q, want F32, F64 or I64", dtype)
	}
	count := 1
	for _, d := range shape {
		if d < 0 {
			return entry{}, fmt.Errorf("negative extent in shape %v", shape)
		}
		count *= d
	}
	if len(offsets) != 2 || offsets[0] < 0 || offsets[0] > offsets[1] || offsets[1] > size {
		return entry{}, fmt.Errorf("data_offsets %v outside the %d data bytes", offsets, size)
	}
	if offsets[1]-offsets[0] != count*elem {
		return entry{}, fmt.Errorf("%d bytes for %s%v, want %d", offsets[1]-offsets[0], dtype, shape, count*elem)
	}
	return entry{dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]}, nil
}

// checkLayout requires the tensors to tile the data exactly, as the
// safetensors format does: an overlap or a gap means a corrupt file.
func (f *File) checkLayout() error {
	at := 0
	for _, name := range f.names {
		e := f.entries[name]
		if e.begin != at {
			return fmt.Errorf("tensor %q starts at byte %d, want %d (overlap or gap)", name, e.begin, at)
		}
		at = e.end
	}
	if at != len(f.data) {
		return fmt.Errorf("%d data bytes, tensors cover %d", len(f.data), at)
	}
	return nil
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
	e, err := f.entry(name)
	if err != nil {
		return nil, "", err
	}
	return slices.Clone(e.shape), e.dtype, nil
}

func (f *File) entry(name string) (entry, error) {
	e, ok := f.entries[name]
	if !ok {
		return entry{}, fmt.Errorf("golden: %s: no tensor %q; regenerate with: %s", f.path, name, Regenerate)
	}
	return e, nil
}

// Tensor returns the shape and a fresh copy of the data of the F32 tensor
// name, row-major as in PyTorch.
func (f *File) Tensor(name string) (shape []int, data []float32, err error) {
	return decode(f, name, "F32", func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) })
}

// Float64 returns the shape and data of the F64 tensor name (learning rates).
func (f *File) Float64(name string) (shape []int, data []float64, err error) {
	return decode(f, name, "F64", func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
}

// Int64 returns the shape and data of the I64 tensor name
// (num_batches_tracked).
func (f *File) Int64(name string) (shape []int, data []int64, err error) {
	return decode(f, name, "I64", func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })
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

func decode[T any](f *File, name, dtype string, conv func([]byte) T) ([]int, []T, error) {
	e, err := f.entry(name)
	if err != nil {
		return nil, nil, err
	}
	if e.dtype != dtype {
		return nil, nil, fmt.Errorf("golden: %s: tensor %q is %s, not %s", f.path, name, e.dtype, dtype)
	}
	size := dtypeSize[dtype]
	raw := f.data[e.begin:e.end]
	out := make([]T, len(raw)/size)
	for i := range out {
		out[i] = conv(raw[i*size:])
	}
	return slices.Clone(e.shape), out, nil
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
