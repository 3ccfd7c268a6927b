package safetensors

import (
	"bytes"
	"encoding/binary"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/glmc/glmc/internal/fuzzcorpus"
)

// file assembles a safetensors file from a header text and data, with
// the header length field given by hdrLen (-1: the header's length).
func file(header string, hdrLen int, data []byte) []byte {
	if hdrLen < 0 {
		hdrLen = len(header)
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(hdrLen))
	return append(append(b, header...), data...)
}

// twoTensors is a valid file: a (F32 [2]) then n (I64 scalar), with metadata.
func twoTensors(t testing.TB) []byte {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, []Tensor{{Name: "a", DType: "F32", Shape: []int{2}}, {Name: "n", DType: "I64"}}, map[string]string{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFloat32s([]float32{1, -2.5}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteInt64s([]int64{7}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	b := twoTensors(t)
	if n := binary.LittleEndian.Uint64(b); (8+n)%8 != 0 {
		t.Errorf("data start at byte %d, want 8-aligned", 8+n)
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 2 || f.Metadata["k"] != "v" || len(f.Metadata) != 1 {
		t.Fatalf("parsed %+v", f)
	}
	a, n := f.Tensors[0], f.Tensors[1]
	if a.Name != "a" || a.DType != "F32" || !slices.Equal(a.Shape, []int{2}) {
		t.Errorf("first tensor %s %s %v, want a F32 [2]", a.Name, a.DType, a.Shape)
	}
	if v, err := a.Float32s(); err != nil || !slices.Equal(v, []float32{1, -2.5}) {
		t.Errorf("a = %v, %v; want [1 -2.5]", v, err)
	}
	if n.Name != "n" || n.Shape == nil || len(n.Shape) != 0 {
		t.Errorf("second tensor %s shape %#v, want n with shape []", n.Name, n.Shape)
	}
	if v, err := n.Int64s(); err != nil || !slices.Equal(v, []int64{7}) {
		t.Errorf("n = %v, %v; want [7]", v, err)
	}
	if _, err := n.Float32s(); err == nil || !strings.Contains(err.Error(), `"n" is I64`) {
		t.Errorf("Float32s of an I64 tensor: error %v", err)
	}
}

// TestParseRejects feeds broken files; each must fail with one line
// mentioning what was wrong.
func TestParseRejects(t *testing.T) {
	f32x2 := make([]byte, 8)
	entry := func(name, body string) string { return `{"` + name + `":` + body + `}` }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "0 bytes, shorter than the 8-byte header length"},
		{"truncated length", []byte{1, 0, 0}, "3 bytes"},
		{"header length beyond file", file(`{}`, 100, nil), "header length 100 does not fit in the 10-byte file"},
		{"header length beyond limit", file(`{}`, MaxHeader+1, nil), "more than the"},
		{"header cut", file(`{"a":{"dtype"`, -1, nil), "header"},
		{"header not an object", file(`[1]`, -1, nil), "want a JSON object"},
		{"bytes after header", file(`{}x`, -1, nil), "bytes after the JSON object"},
		{"duplicate tensor", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, -1, f32x2), `key "a" appears twice`},
		{"duplicate field", file(entry("a", `{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}`), -1, f32x2), `key "dtype" appears twice`},
		{"unknown field", file(entry("a", `{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}`), -1, f32x2), `unknown field "x"`},
		{"missing field", file(entry("a", `{"dtype":"F32","shape":[2]}`), -1, f32x2), `dtype "F32", shape [2], data_offsets []: want all three`},
		{"null shape", file(entry("a", `{"dtype":"F32","shape":null,"data_offsets":[0,8]}`), -1, f32x2), "want all three"},
		{"shape not ints", file(entry("a", `{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}`), -1, f32x2), "shape"},
		{"unknown dtype", file(entry("a", `{"dtype":"F12","shape":[2],"data_offsets":[0,8]}`), -1, f32x2), `dtype "F12", want one of BF16, BOOL`},
		{"negative extent", file(entry("a", `{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}`), -1, f32x2), "negative extent"},
		{"huge shape", file(entry("a", `{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}`), -1, f32x2), "more than the 8 data bytes hold"},
		{"offsets reversed", file(entry("a", `{"dtype":"F32","shape":[0],"data_offsets":[8,0]}`), -1, f32x2), "data_offsets [8 0] outside"},
		{"offsets out of range", file(entry("a", `{"dtype":"F32","shape":[2],"data_offsets":[4,12]}`), -1, f32x2), "data_offsets [4 12] outside the 8 data bytes"},
		{"three offsets", file(entry("a", `{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}`), -1, f32x2), "data_offsets [0 4 8]"},
		{"shape and bytes disagree", file(entry("a", `{"dtype":"F32","shape":[1],"data_offsets":[0,8]}`), -1, f32x2), "8 bytes for F32[1], want 4"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, -1, f32x2), `tensor "b" starts at data byte 4, want 8 (overlap or gap)`},
		{"gap", file(entry("a", `{"dtype":"F32","shape":[1],"data_offsets":[4,8]}`), -1, f32x2), "overlap or gap"},
		{"data not covered", file(entry("a", `{"dtype":"F32","shape":[1],"data_offsets":[0,4]}`), -1, f32x2), "8 data bytes, the tensors cover 4"},
		{"metadata not strings", file(`{"__metadata__":{"epoch":3}}`, -1, nil), `__metadata__: key "epoch": value "3", want a string`},
		{"metadata not an object", file(`{"__metadata__":"x"}`, -1, nil), "__metadata__: want a JSON object"},
		{"metadata duplicate key", file(`{"__metadata__":{"k":"a","k":"b"}}`, -1, nil), `key "k" appears twice`},
		{"metadata twice", file(`{"__metadata__":{},"__metadata__":{}}`, -1, nil), `key "__metadata__" appears twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.b)
			if err == nil {
				t.Fatal("parsed without error")
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "safetensors: ") {
				t.Errorf("error %q, want one line starting safetensors: and containing %q", msg, tc.want)
			}
		})
	}
}

// TestParseAccepts covers the valid corners: no tensors, null metadata
// (what serde writes), space padding, empty tensors at one offset.
func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		b     []byte
		names []string
	}{
		{"nothing", file(`{}`, -1, nil), nil},
		{"null metadata, padding", file(`{"__metadata__":null}   `, -1, nil), nil},
		{"empty tensors keep header order", file(`{"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"y":{"dtype":"I8","shape":[0,3],"data_offsets":[0,0]}}`, -1, []byte{9}), []string{"z", "y", "a"}},
	}
	// More empty tensors than a sort handles by insertion (stable by
	// chance), behind one that the sort must move to the front.
	many := []string{"a"}
	header := "{"
	for i := range 30 {
		name := "e" + strconv.Itoa(99-i)
		many = append(many, name)
		header += `"` + name + `":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},`
	}
	header += `"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	tests = append(tests, struct {
		name  string
		b     []byte
		names []string
	}{"30 empty tensors keep header order", file(header, -1, make([]byte, 4)), many})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, x := range f.Tensors {
				names = append(names, x.Name)
			}
			if !slices.Equal(names, tc.names) {
				t.Errorf("tensors %v, want %v", names, tc.names)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	le := binary.LittleEndian
	u16 := func(v ...uint16) (b []byte) {
		for _, x := range v {
			b = le.AppendUint16(b, x)
		}
		return b
	}
	inf := float32(math.Inf(1))
	floats := []struct {
		dtype string
		data  []byte
		want  []float32
	}{
		{"F32", le.AppendUint32(nil, math.Float32bits(-0.75)), []float32{-0.75}},
		{"F64", le.AppendUint64(nil, math.Float64bits(1.0/3)), []float32{1.0 / 3}},
		// binary16: 1, -2, smallest subnormal 2^-24, 65504 (largest), -inf
		{"F16", u16(0x3c00, 0xc000, 0x0001, 0x7bff, 0xfc00), []float32{1, -2, 1.0 / (1 << 24), 65504, -inf}},
		{"BF16", u16(0x3f80, 0xc0a0), []float32{1, -5}},
	}
	for _, tc := range floats {
		got, err := Tensor{Name: "t", DType: tc.dtype, Data: tc.data}.Float32s()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.dtype, got, err, tc.want)
		}
	}
	ints := []struct {
		dtype string
		data  []byte
		want  []int64
	}{
		{"I64", le.AppendUint64(nil, math.MaxUint64), []int64{-1}},
		{"I32", le.AppendUint32(nil, 0xfffffffe), []int64{-2}},
		{"U32", le.AppendUint32(nil, 0xfffffffe), []int64{0xfffffffe}},
		{"I16", u16(0x8000), []int64{-32768}},
		{"U16", u16(0x8000), []int64{32768}},
		{"I8", []byte{0xff, 3}, []int64{-1, 3}},
		{"U8", []byte{0xff, 3}, []int64{255, 3}},
		{"BOOL", []byte{1, 0}, []int64{1, 0}},
	}
	for _, tc := range ints {
		got, err := Tensor{Name: "t", DType: tc.dtype, Data: tc.data}.Int64s()
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.dtype, got, err, tc.want)
		}
	}
	if got, err := (Tensor{DType: "F64", Data: le.AppendUint64(nil, math.Float64bits(0.1))}).Float64s(); err != nil || got[0] != 0.1 {
		t.Errorf("F64 as float64: %v, %v", got, err)
	}
	for _, dtype := range []string{"U64", "F8_E4M3"} {
		if _, err := (Tensor{DType: dtype}).Int64s(); err == nil {
			t.Errorf("%s as int64: no error", dtype)
		}
		if _, err := (Tensor{DType: dtype}).Float32s(); err == nil {
			t.Errorf("%s as float32: no error", dtype)
		}
	}
}

func TestWriterRejects(t *testing.T) {
	a := Tensor{Name: "a", DType: "F32", Shape: []int{2}}
	header := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"duplicate name", []Tensor{a, a}, `"a" is taken`},
		{"metadata key as a name", []Tensor{{Name: "__metadata__", DType: "F32"}}, `"__metadata__" is taken`},
		{"unknown dtype", []Tensor{{Name: "a", DType: "F12"}}, `dtype "F12"`},
		{"negative extent", []Tensor{{Name: "a", DType: "F32", Shape: []int{-1}}}, "negative extent"},
	}
	for _, tc := range header {
		if _, err := NewWriter(&bytes.Buffer{}, tc.tensors, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	values := []struct {
		name  string
		write func(w *Writer) error
		want  string
	}{
		{"too few values", func(w *Writer) error { return w.WriteFloat32s([]float32{1}) }, `"a" is F32[2], written as 1 F32 values`},
		{"wrong dtype", func(w *Writer) error { return w.WriteInt64s([]int64{1, 2}) }, "written as 2 I64 values"},
		{"a tensor too many", func(w *Writer) error {
			w.WriteFloat32s([]float32{1, 2})
			return w.WriteFloat32s([]float32{1, 2})
		}, "more tensors written than the 1"},
		{"closed early", func(w *Writer) error { return w.Close() }, "0 of the 1 tensors written"},
	}
	for _, tc := range values {
		w, err := NewWriter(&bytes.Buffer{}, []Tensor{a}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.write(w); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// FuzzParse checks that Parse never panics and that what it accepts is
// consistent: the tensors tile the data with the bytes their dtype and
// shape need, and files of F32 and I64 tensors survive a write and a read.
func FuzzParse(f *testing.F) {
	two := twoTensors(f)
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "f32-i64-metadata", Args: []any{two}},
		fuzzcorpus.Seed{Name: "bf16", Args: []any{file(`{"__metadata__":{"format":"x"},"b":{"dtype":"BF16","shape":[1,1],"data_offsets":[0,2]}}`, -1, []byte{0x80, 0x3f})}},
		fuzzcorpus.Seed{Name: "cut", Args: []any{two[:len(two)-3]}},
		fuzzcorpus.Seed{Name: "overlap", Args: []any{file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, -1, []byte{1, 2})}},
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		fuzzcorpus.OneLine(t, err)
		if err != nil {
			return
		}
		total, roundTrip := 0, true
		for _, x := range file.Tensors {
			size, _ := DTypeSize(x.DType)
			n := size
			for _, d := range x.Shape {
				n *= d
			}
			if n != len(x.Data) {
				t.Fatalf("%s: %d bytes for %s%v", x.Name, len(x.Data), x.DType, x.Shape)
			}
			total += n
			roundTrip = roundTrip && (x.DType == "F32" || x.DType == "I64")
		}
		if n := binary.LittleEndian.Uint64(b); total != len(b)-8-int(n) {
			t.Fatalf("tensors cover %d of %d data bytes", total, len(b)-8-int(n))
		}
		if !roundTrip {
			return
		}
		var out bytes.Buffer
		w, err := NewWriter(&out, file.Tensors, file.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range file.Tensors {
			if x.DType == "F32" {
				v, _ := x.Float32s()
				err = w.WriteFloat32s(v)
			} else {
				v, _ := x.Int64s()
				err = w.WriteInt64s(v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("rewritten file does not parse: %v", err)
		}
		if !maps.Equal(back.Metadata, file.Metadata) {
			t.Fatalf("metadata %v, then %v", file.Metadata, back.Metadata)
		}
		for i, x := range back.Tensors {
			if y := file.Tensors[i]; x.Name != y.Name || x.DType != y.DType || !slices.Equal(x.Shape, y.Shape) || !bytes.Equal(x.Data, y.Data) {
				t.Fatalf("tensor %d: %s %s%v, then %s %s%v", i, y.Name, y.DType, y.Shape, x.Name, x.DType, x.Shape)
			}
		}
	})
}
