package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// IsFloat reports whether dtype is one of the floating types that
// Float32s converts.
func IsFloat(dtype string) bool {
	switch dtype {
	case "F32", "F64", "F16", "BF16":
		return true
	}
	return false
}

// Float32s returns the values of a floating tensor (F32, F64, F16, BF16)
// as float32: exactly, except that F64 values are rounded.
func (t Tensor) Float32s() ([]float32, error) {
	le := binary.LittleEndian
	raw := t.Data
	var out []float32
	switch t.DType {
	case "F32":
		out = make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
	case "F64":
		out = make([]float32, len(raw)/8)
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(raw[8*i:])))
		}
	case "F16":
		out = make([]float32, len(raw)/2)
		for i := range out {
			out[i] = halfToFloat(le.Uint16(raw[2*i:]))
		}
	case "BF16":
		out = make([]float32, len(raw)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(le.Uint16(raw[2*i:])) << 16)
		}
	default:
		return nil, fmt.Errorf("safetensors: tensor %q is %s, want F32, F64, F16 or BF16", t.Name, t.DType)
	}
	return out, nil
}

// Float64s returns the values of an F64 tensor.
func (t Tensor) Float64s() ([]float64, error) {
	if t.DType != "F64" {
		return nil, fmt.Errorf("safetensors: tensor %q is %s, want F64", t.Name, t.DType)
	}
	out := make([]float64, len(t.Data)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}

// Int64s returns the values of an integer or boolean tensor (I64, I32,
// I16, I8, U32, U16, U8, BOOL) as int64, which holds each exactly.
func (t Tensor) Int64s() ([]int64, error) {
	le := binary.LittleEndian
	raw := t.Data
	size, _ := DTypeSize(t.DType)
	var get func(b []byte) int64
	switch t.DType {
	case "I64":
		get = func(b []byte) int64 { return int64(le.Uint64(b)) }
	case "I32":
		get = func(b []byte) int64 { return int64(int32(le.Uint32(b))) }
	case "U32":
		get = func(b []byte) int64 { return int64(le.Uint32(b)) }
	case "I16":
		get = func(b []byte) int64 { return int64(int16(le.Uint16(b))) }
	case "U16":
		get = func(b []byte) int64 { return int64(le.Uint16(b)) }
	case "I8":
		get = func(b []byte) int64 { return int64(int8(b[0])) }
	case "U8", "BOOL":
		get = func(b []byte) int64 { return int64(b[0]) }
	default:
		return nil, fmt.Errorf("safetensors: tensor %q is %s, want an integer or BOOL dtype", t.Name, t.DType)
	}
	out := make([]int64, len(raw)/size)
	for i := range out {
		out[i] = get(raw[size*i:])
	}
	return out, nil
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
