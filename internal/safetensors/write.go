package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
)

// Writer writes a safetensors file: NewWriter writes the header, then
// one WriteFloat32s or WriteInt64s per tensor, in the order given, then
// Close. Values stream to the output, so a writer never holds a second
// copy of a model.
type Writer struct {
	w       *bufio.Writer
	tensors []Tensor
	next    int // index of the next tensor to write
}

// NewWriter writes the header for tensors (their Data is not used) and
// meta (may be nil), and returns the writer of their values. The tensors'
// data follow each other in the given order.
func NewWriter(w io.Writer, tensors []Tensor, meta map[string]string) (*Writer, error) {
	var header bytes.Buffer
	header.WriteByte('{')
	if len(meta) > 0 {
		m, err := json.Marshal(meta)
		if err != nil {
			return nil, fmt.Errorf("safetensors: metadata: %w", err)
		}
		header.WriteString(`"` + metadataKey + `":`)
		header.Write(m)
	}
	seen := map[string]bool{metadataKey: true}
	offset := 0
	for i, t := range tensors {
		if seen[t.Name] {
			return nil, fmt.Errorf("safetensors: tensor name %q is taken (twice, or the metadata key)", t.Name)
		}
		seen[t.Name] = true
		size, ok := dtypeSizes[t.DType]
		if !ok {
			return nil, fmt.Errorf("safetensors: tensor %q: dtype %q, want one of %s", t.Name, t.DType, dtypeList())
		}
		count := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: negative extent in shape %v", t.Name, t.Shape)
			}
			count *= d
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{} // a scalar: the format wants [], not null
		}
		entry, err := json.Marshal(struct {
			DType   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}{t.DType, shape, [2]int{offset, offset + count*size}})
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		key, _ := json.Marshal(t.Name)
		if i > 0 || len(meta) > 0 {
			header.WriteByte(',')
		}
		header.Write(key)
		header.WriteByte(':')
		header.Write(entry)
		offset += count * size
	}
	header.WriteByte('}')
	// Spaces pad the header so that the data start 8-aligned.
	for header.Len()%8 != 0 {
		header.WriteByte(' ')
	}
	sw := &Writer{w: bufio.NewWriter(w), tensors: tensors}
	sw.w.Write(binary.LittleEndian.AppendUint64(nil, uint64(header.Len())))
	sw.w.Write(header.Bytes())
	return sw, nil
}

// start checks that the next tensor has the given dtype and n values.
func (w *Writer) start(dtype string, n int) error {
	if w.next >= len(w.tensors) {
		return fmt.Errorf("safetensors: more tensors written than the %d in the header", len(w.tensors))
	}
	t := w.tensors[w.next]
	count := 1
	for _, d := range t.Shape {
		count *= d
	}
	if t.DType != dtype || count != n {
		return fmt.Errorf("safetensors: tensor %q is %s%v, written as %d %s values", t.Name, t.DType, t.Shape, n, dtype)
	}
	w.next++
	return nil
}

// WriteFloat32s writes the values of the next tensor, which must be F32.
func (w *Writer) WriteFloat32s(v []float32) error {
	return writeValues(w, "F32", v, func(b []byte, x float32) []byte {
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	})
}

// WriteInt64s writes the values of the next tensor, which must be I64.
func (w *Writer) WriteInt64s(v []int64) error {
	return writeValues(w, "I64", v, func(b []byte, x int64) []byte {
		return binary.LittleEndian.AppendUint64(b, uint64(x))
	})
}

// writeValues writes v, the values of the next tensor, of type dtype, each
// encoded by put.
func writeValues[T any](w *Writer, dtype string, v []T, put func([]byte, T) []byte) error {
	if err := w.start(dtype, len(v)); err != nil {
		return err
	}
	var b [8]byte
	for _, x := range v {
		w.w.Write(put(b[:0], x))
	}
	return nil
}

// Close checks that every tensor was written and flushes the output.
func (w *Writer) Close() error {
	if w.next != len(w.tensors) {
		return fmt.Errorf("safetensors: %d of the %d tensors written", w.next, len(w.tensors))
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
