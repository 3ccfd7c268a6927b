// Package safetensors reads and writes files in the format of the
// safetensors library: an 8-byte little-endian header length n; n bytes
// of JSON mapping every tensor name to its dtype, shape and [begin, end)
// byte range in the data that follows, plus an optional "__metadata__"
// map of strings, padded with spaces; then the raw little-endian data,
// which the tensors tile without gaps or overlaps.
//
// Parse is strict: a file it accepts has one meaning. Duplicate keys,
// unknown fields, non-string metadata, overlapping or uncovered data all
// fail with a one-line error naming the tensor or key and what was
// expected.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// MaxHeader bounds the JSON header, so that a corrupt length cannot make
// a reader allocate gigabytes; a ResNet-152 header is about 100 KB.
const MaxHeader = 64 << 20

// metadataKey is the header key of the metadata map.
const metadataKey = "__metadata__"

// dtypeSizes gives the element size of every dtype of the format.
var dtypeSizes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// DTypeSize returns the bytes per element of dtype, false for a dtype the
// format does not have.
func DTypeSize(dtype string) (int, bool) {
	n, ok := dtypeSizes[dtype]
	return n, ok
}

// Tensor is one tensor of a file.
type Tensor struct {
	Name  string
	DType string // a dtype of the format, such as "F32" or "I64"
	Shape []int  // never nil when parsed: a scalar has shape []
	Data  []byte // the raw little-endian values; Parse shares the file's bytes
}

// File is a parsed safetensors file.
type File struct {
	Tensors  []Tensor          // in the order of their data
	Metadata map[string]string // nil when the header has none
}

// Parse decodes a whole safetensors file held in b. The tensors' Data
// share b's bytes. Errors describe what is wrong without the file name,
// which the caller adds.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("safetensors: %d bytes, shorter than the 8-byte header length (truncated file?)", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeader {
		return nil, fmt.Errorf("safetensors: header length %d, more than the %d allowed (not a safetensors file?)", n, MaxHeader)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d does not fit in the %d-byte file (truncated file?)", n, len(b))
	}
	fields, err := object(b[8 : 8+n])
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	data := b[8+n:]
	f := &File{}
	var entries []placed
	for _, fd := range fields {
		if fd.key == metadataKey {
			if string(fd.value) == "null" { // how serde writes "no metadata"
				continue
			}
			if f.Metadata, err = stringMap(fd.value); err != nil {
				return nil, fmt.Errorf("safetensors: header: %s: %w", metadataKey, err)
			}
			continue
		}
		p, err := parseEntry(fd.key, fd.value, data)
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", fd.key, err)
		}
		entries = append(entries, p)
	}
	// Data order; a stable sort keeps the header's order among empty
	// tensors at one offset, so equal files give equal results.
	slices.SortStableFunc(entries, func(a, b placed) int {
		if a.begin != b.begin {
			return a.begin - b.begin
		}
		return len(a.Data) - len(b.Data)
	})
	at := 0
	for _, p := range entries {
		if p.begin != at {
			return nil, fmt.Errorf("safetensors: tensor %q starts at data byte %d, want %d (overlap or gap)", p.Name, p.begin, at)
		}
		at += len(p.Data)
		f.Tensors = append(f.Tensors, p.Tensor)
	}
	if at != len(data) {
		return nil, fmt.Errorf("safetensors: %d data bytes, the tensors cover %d", len(data), at)
	}
	return f, nil
}

// placed is a tensor with the offset of its data.
type placed struct {
	Tensor
	begin int
}

// parseEntry decodes one tensor's header entry and slices its data.
func parseEntry(name string, raw json.RawMessage, data []byte) (placed, error) {
	fields, err := object(raw)
	if err != nil {
		return placed{}, err
	}
	var (
		dtype   string
		shape   []int
		offsets []int
	)
	for _, fd := range fields {
		var dst any
		switch fd.key {
		case "dtype":
			dst = &dtype
		case "shape":
			dst = &shape
		case "data_offsets":
			dst = &offsets
		default:
			return placed{}, fmt.Errorf("unknown field %q, want dtype, shape and data_offsets", fd.key)
		}
		if err := json.Unmarshal(fd.value, dst); err != nil {
			return placed{}, fmt.Errorf("%s: %w", fd.key, err)
		}
	}
	// A missing or null field leaves its zero value.
	if dtype == "" || shape == nil || offsets == nil {
		return placed{}, fmt.Errorf("dtype %q, shape %v, data_offsets %v: want all three", dtype, shape, offsets)
	}
	size, ok := dtypeSizes[dtype]
	if !ok {
		return placed{}, fmt.Errorf("dtype %q, want one of %s", dtype, dtypeList())
	}
	count := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && count > len(data)/size/d) {
			return placed{}, fmt.Errorf("shape %v: negative extent or more than the %d data bytes hold", shape, len(data))
		}
		count *= d
	}
	if len(offsets) != 2 || offsets[0] < 0 || offsets[0] > offsets[1] || offsets[1] > len(data) {
		return placed{}, fmt.Errorf("data_offsets %v outside the %d data bytes, want [begin, end] with begin <= end (truncated file?)", offsets, len(data))
	}
	if got := offsets[1] - offsets[0]; got != count*size {
		return placed{}, fmt.Errorf("%d bytes for %s%v, want %d", got, dtype, shape, count*size)
	}
	return placed{Tensor{Name: name, DType: dtype, Shape: shape, Data: data[offsets[0]:offsets[1]:offsets[1]]}, offsets[0]}, nil
}

// dtypeList names the dtypes of the format, for error messages.
func dtypeList() string {
	return strings.Join(slices.Sorted(maps.Keys(dtypeSizes)), ", ")
}

// field is one key and value of a JSON object.
type field struct {
	key   string
	value json.RawMessage
}

// object splits a JSON object into its fields in their order, refusing
// duplicate keys (which encoding/json would silently resolve to the last)
// and anything after the object but white space.
func object(b []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object, got %.40q", b)
	}
	var fields []field
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string) // inside an object, Token returns keys as strings
		if seen[key] {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%q: %w", key, err)
		}
		fields = append(fields, field{key, v})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("bytes after the JSON object (want only space padding)")
	}
	return fields, nil
}

// stringMap decodes a JSON object whose values are all strings.
func stringMap(b []byte) (map[string]string, error) {
	fields, err := object(b)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(fields))
	for _, fd := range fields {
		if len(fd.value) == 0 || fd.value[0] != '"' {
			return nil, fmt.Errorf("key %q: value %.40q, want a string", fd.key, fd.value)
		}
		var s string
		if err := json.Unmarshal(fd.value, &s); err != nil {
			return nil, fmt.Errorf("key %q: %w", fd.key, err)
		}
		m[fd.key] = s
	}
	return m, nil
}
