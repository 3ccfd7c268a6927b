package nn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"

	"github.com/glmc/glmc/internal/atomicfile"
)

// Safetensors files (the format of the safetensors library): an 8-byte
// little-endian header length n, n bytes of JSON mapping every tensor name
// to its dtype, shape and [begin, end) byte range in the data that
// follows, plus an optional "__metadata__" string map, then the raw
// little-endian data, the tensors tiling it without gaps or overlaps.

// maxSafetensorsHeader bounds the JSON header so that a corrupt length
// cannot make a reader allocate gigabytes; a ResNet-152 header is ~100 KB.
const maxSafetensorsHeader = 64 << 20

// stDtypes gives the element size of every dtype the reader converts:
// floating types become float32 (Float), integer types int64 (Int).
var stDtypes = map[string]int{"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}

// WriteSafetensors writes s as a safetensors file: float tensors as F32,
// integer ones (num_batches_tracked) as I64, in s's order, with meta (may
// be nil) as "__metadata__". PyTorch's safetensors.torch.load_file reads it.
func WriteSafetensors(w io.Writer, s *State, meta map[string]string) error {
	var header bytes.Buffer
	header.WriteByte('{')
	if len(meta) > 0 {
		m, err := json.Marshal(meta)
		if err != nil {
			return fmt.Errorf("nn: safetensors metadata: %w", err)
		}
		header.WriteString(`"__metadata__":`)
		header.Write(m)
	}
	offset := 0
	for i, name := range s.Names {
		t := s.Tensors[name]
		dtype, size := "F32", 4*len(t.Float)
		if t.Int != nil {
			dtype, size = "I64", 8*len(t.Int)
		}
		if len(t.Float)+len(t.Int) != numel(t.Shape) {
			return fmt.Errorf("nn: safetensors: %q has %d values for shape %v", name, len(t.Float)+len(t.Int), t.Shape)
		}
		entry, err := json.Marshal(map[string]any{"dtype": dtype, "shape": nonNil(t.Shape), "data_offsets": []int{offset, offset + size}})
		if err != nil {
			return fmt.Errorf("nn: safetensors: %q: %w", name, err)
		}
		key, _ := json.Marshal(name)
		if i > 0 || len(meta) > 0 {
			header.WriteByte(',')
		}
		header.Write(key)
		header.WriteByte(':')
		header.Write(entry)
		offset += size
	}
	header.WriteByte('}')
	// The format pads the header with spaces so the data starts 8-aligned.
	for header.Len()%8 != 0 {
		header.WriteByte(' ')
	}
	bw := bufio.NewWriter(w)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(header.Len()))
	bw.Write(n[:])
	bw.Write(header.Bytes())
	var b [8]byte
	for _, name := range s.Names {
		t := s.Tensors[name]
		for _, v := range t.Float {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			bw.Write(b[:4])
		}
		for _, v := range t.Int {
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			bw.Write(b[:])
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("nn: safetensors: %w", err)
	}
	return nil
}

// nonNil returns an empty shape instead of nil, so scalars encode as [].
func nonNil(shape []int) []int {
	if shape == nil {
		return []int{}
	}
	return shape
}

// SaveSafetensors writes s to path atomically (see atomicfile.Write), so
// a crash never leaves a half-written file under path.
func SaveSafetensors(path string, s *State, meta map[string]string) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return WriteSafetensors(w, s, meta) }); err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	return nil
}

// ReadSafetensors parses a whole safetensors file held in b. Floating
// tensors (F32, F64, F16, BF16) come back as float32 values, integer ones
// (I64, I32) as int64, in the order of their data. Errors describe what is
// wrong without the file name; LoadStateFile adds it.
func ReadSafetensors(b []byte) (*State, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("safetensors: %d bytes, shorter than the 8-byte header length (truncated file?)", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxSafetensorsHeader || n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d does not fit in the %d-byte file (truncated or not safetensors?)", n, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header: %w", err)
	}
	var meta map[string]string
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, nil, fmt.Errorf("safetensors: header: __metadata__: %w", err)
		}
		delete(raw, "__metadata__")
	}
	data := b[8+n:]
	type located struct {
		name       string
		dtype      string
		shape      []int
		begin, end int
	}
	tensors := make([]located, 0, len(raw))
	for name, m := range raw {
		var h struct {
			DType   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets []int  `json:"data_offsets"`
		}
		if err := json.Unmarshal(m, &h); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		size, ok := stDtypes[h.DType]
		if !ok {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: dtype %q is not one of F32, F64, F16, BF16, I64, I32", name, h.DType)
		}
		count := 1
		for _, d := range h.Shape {
			if d < 0 || (d > 0 && count > len(data)/d) {
				return nil, nil, fmt.Errorf("safetensors: tensor %q: shape %v does not fit in %d data bytes", name, h.Shape, len(data))
			}
			count *= d
		}
		if len(h.Offsets) != 2 || h.Offsets[0] < 0 || h.Offsets[0] > h.Offsets[1] || h.Offsets[1] > len(data) {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: data_offsets %v outside the %d data bytes (truncated file?)", name, h.Offsets, len(data))
		}
		if h.Offsets[1]-h.Offsets[0] != count*size {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %d bytes for %s%v, want %d", name, h.Offsets[1]-h.Offsets[0], h.DType, h.Shape, count*size)
		}
		tensors = append(tensors, located{name, h.DType, nonNil(h.Shape), h.Offsets[0], h.Offsets[1]})
	}
	sort.Slice(tensors, func(i, j int) bool {
		a, b := tensors[i], tensors[j]
		return a.begin < b.begin || (a.begin == b.begin && a.end < b.end)
	})
	s := NewState()
	at := 0
	for _, t := range tensors {
		if t.begin != at {
			return nil, nil, fmt.Errorf("safetensors: tensor %q starts at data byte %d, want %d (overlap or gap)", t.name, t.begin, at)
		}
		at = t.end
		s.Add(t.name, decodeTensor(t.dtype, slices.Clone(t.shape), data[t.begin:t.end]))
	}
	if at != len(data) {
		return nil, nil, fmt.Errorf("safetensors: %d data bytes, the tensors cover %d", len(data), at)
	}
	return s, meta, nil
}

// decodeTensor converts little-endian raw values of a safetensors dtype.
func decodeTensor(dtype string, shape []int, raw []byte) *StateTensor {
	t := &StateTensor{Shape: shape}
	le := binary.LittleEndian
	switch dtype {
	case "F32":
		t.Float = make([]float32, len(raw)/4)
		for i := range t.Float {
			t.Float[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case "F64":
		t.Float = make([]float32, len(raw)/8)
		for i := range t.Float {
			t.Float[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	case "F16":
		t.Float = make([]float32, len(raw)/2)
		for i := range t.Float {
			t.Float[i] = halfToFloat(le.Uint16(raw[2*i:]))
		}
	case "BF16":
		t.Float = make([]float32, len(raw)/2)
		for i := range t.Float {
			t.Float[i] = math.Float32frombits(uint32(le.Uint16(raw[2*i:])) << 16)
		}
	case "I64":
		t.Int = make([]int64, len(raw)/8)
		for i := range t.Int {
			t.Int[i] = int64(le.Uint64(raw[8*i:]))
		}
	case "I32":
		t.Int = make([]int64, len(raw)/4)
		for i := range t.Int {
			t.Int[i] = int64(int32(le.Uint32(raw[4*i:])))
		}
	}
	return t
}

// halfToFloat converts an IEEE 754 binary16 value to float32 exactly.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch exp {
	case 0: // zero or subnormal: frac·2^-24
		v := float32(frac) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(v) | sign)
	case 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}
