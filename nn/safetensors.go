package nn

import (
	"fmt"
	"io"

	"github.com/glmc/glmc/internal/atomicfile"
	"github.com/glmc/glmc/internal/safetensors"
)

// Native state dicts are safetensors files (see internal/safetensors):
// float tensors as F32, integer ones (num_batches_tracked) as I64, under
// PyTorch's names, so safetensors.torch.load_file reads them.

// WriteSafetensors writes s as a safetensors file: float tensors as F32,
// integer ones (num_batches_tracked) as I64, in s's order, with meta (may
// be nil) as "__metadata__". PyTorch's safetensors.torch.load_file reads it.
func WriteSafetensors(w io.Writer, s *State, meta map[string]string) error {
	tensors := make([]safetensors.Tensor, len(s.Names))
	for i, name := range s.Names {
		t := s.Tensors[name]
		dtype := "F32"
		if t.Int != nil {
			dtype = "I64"
		}
		tensors[i] = safetensors.Tensor{Name: name, DType: dtype, Shape: t.Shape}
	}
	sw, err := safetensors.NewWriter(w, tensors, meta)
	if err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	for _, name := range s.Names {
		t := s.Tensors[name]
		if t.Int != nil {
			err = sw.WriteInt64s(t.Int)
		} else {
			err = sw.WriteFloat32s(t.Float)
		}
		if err != nil {
			return fmt.Errorf("nn: %w", err)
		}
	}
	if err := sw.Close(); err != nil {
		return fmt.Errorf("nn: %w", err)
	}
	return nil
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
// tensors (F32, F64, F16, BF16) come back as float32 values, integer and
// boolean ones as int64, in the order of their data. Errors describe what
// is wrong without the file name; LoadStateFile adds it.
func ReadSafetensors(b []byte) (*State, map[string]string, error) {
	f, err := safetensors.Parse(b)
	if err != nil {
		return nil, nil, err
	}
	s := NewState()
	for _, t := range f.Tensors {
		st, err := stateTensor(t)
		if err != nil {
			return nil, nil, err
		}
		s.Add(t.Name, st)
	}
	return s, f.Metadata, nil
}

// stateTensor converts a tensor's values: floating types to Float,
// integer ones to Int.
func stateTensor(t safetensors.Tensor) (*StateTensor, error) {
	st := &StateTensor{Shape: t.Shape}
	var err error
	if safetensors.IsFloat(t.DType) {
		st.Float, err = t.Float32s()
	} else {
		st.Int, err = t.Int64s()
	}
	return st, err
}
