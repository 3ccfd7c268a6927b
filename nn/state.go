package nn

import (
	"fmt"
	"slices"
	"strings"
)

// State is a state dict read from or written to a file: named tensors in
// file order. Parameters and running statistics are float32; the batch
// counters num_batches_tracked are int64, as in PyTorch.
type State struct {
	Names   []string                // in order
	Tensors map[string]*StateTensor // by name
}

// StateTensor is one tensor of a State: Float holds the values of a float
// tensor, Int those of an int64 one (exactly one is non-nil, or both are
// nil for an empty tensor of either kind).
type StateTensor struct {
	Shape []int
	Float []float32
	Int   []int64
}

// numel is the product of the shape.
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// NewState returns an empty State.
func NewState() *State { return &State{Tensors: map[string]*StateTensor{}} }

// Add appends a tensor under name, replacing an earlier one of that name.
func (s *State) Add(name string, t *StateTensor) {
	if _, ok := s.Tensors[name]; !ok {
		s.Names = append(s.Names, name)
	}
	s.Tensors[name] = t
}

// StateOf copies the state dict of m into a State.
func StateOf(m Module) *State {
	s := NewState()
	for _, e := range StateDict(m) {
		if e.Count != nil {
			s.Add(e.Name, &StateTensor{Shape: []int{}, Int: []int64{*e.Count}})
			continue
		}
		t := e.Tensor()
		s.Add(e.Name, &StateTensor{Shape: slices.Clone(t.Shape), Float: slices.Clone(t.Data)})
	}
	return s
}

// LoadState copies s into the parameters and buffers of m, which keep their
// storage (so optimisers holding m's Vars see the new values). It is
// strict, like PyTorch's load_state_dict: every entry of m must be in s with
// the same shape, and s must have no other entries; the error names the
// first offending key and both shapes. Float entries accept no int64
// tensor; num_batches_tracked accepts either kind. On error m is unchanged.
func LoadState(m Module, s *State) error {
	entries := StateDict(m)
	want := map[string]bool{}
	for _, e := range entries {
		want[e.Name] = true
		t, ok := s.Tensors[e.Name]
		if !ok {
			return fmt.Errorf("nn: state dict: missing key %q (shape %v)", e.Name, e.Shape())
		}
		if !slices.Equal(t.Shape, e.Shape()) {
			return fmt.Errorf("nn: state dict: %q has shape %v in the file, the model has %v", e.Name, t.Shape, e.Shape())
		}
		if len(t.Float)+len(t.Int) != numel(t.Shape) {
			return fmt.Errorf("nn: state dict: %q has %d values for shape %v", e.Name, len(t.Float)+len(t.Int), t.Shape)
		}
		if e.Count == nil && t.Int != nil {
			return fmt.Errorf("nn: state dict: %q is an int64 tensor in the file, the model wants float32", e.Name)
		}
	}
	var extra []string
	for _, name := range s.Names {
		if !want[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("nn: state dict: unexpected key %q (shape %v) not in the model%s",
			extra[0], s.Tensors[extra[0]].Shape, more(len(extra)-1, "further unexpected keys"))
	}
	for _, e := range entries {
		t := s.Tensors[e.Name]
		switch {
		case e.Count != nil && t.Int != nil:
			*e.Count = t.Int[0]
		case e.Count != nil:
			*e.Count = int64(t.Float[0])
		default:
			copy(e.Tensor().Data, t.Float)
		}
	}
	return nil
}

// more says how many further items an error leaves out, if any.
func more(n int, what string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (and %d %s)", n, what)
}

// StripPrefix returns s with prefix removed from every name that has it
// (the "module." that DataParallel adds); names without it are kept.
func (s *State) StripPrefix(prefix string) *State {
	out := NewState()
	for _, name := range s.Names {
		out.Add(strings.TrimPrefix(name, prefix), s.Tensors[name])
	}
	return out
}
