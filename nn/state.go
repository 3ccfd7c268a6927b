package nn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/glmc/glmc/tensor"
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

// LoadStateFile reads a state dict from a safetensors file or a PyTorch
// checkpoint (.pth, .pth.tar: a zip archive), told apart by their first
// bytes. Errors are one line and name the file.
func LoadStateFile(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	var s *State
	if bytes.HasPrefix(b, []byte("PK")) {
		s, err = ReadPyTorch(b)
	} else {
		s, _, err = ReadSafetensors(b)
	}
	if err != nil {
		return nil, fmt.Errorf("nn: %s: %w", path, err)
	}
	return s, nil
}

// InferConfig reads the architecture, width, input channels, block
// counts, head width, number of classes and groups off the names and
// shapes of a state dict: resnet32 (ResNet_modify) has conv1.weight and
// layer1..3, the ResNet class of ResNet_cifar.py has conv1.0.weight and
// conv2_x..conv5_x, with BottleNeck blocks when residual_function.6
// exists, and the ResNet of Resnet_LT.py has conv1.weight and
// layer1..4 of bottlenecks (layer1.0.conv3), whose conv2 weight
// (width, width/groups, 3, 3) gives the groups and the width per group.
// Block counts that match no official constructor are kept in Blocks
// under the family's representative name (familyArch; resnet50_lt for
// Resnet_LT.py models without groups).
func InferConfig(s *State) (Config, error) {
	shape := func(name string, dims int) ([]int, error) {
		t, ok := s.Tensors[name]
		if !ok || len(t.Shape) != dims {
			return nil, fmt.Errorf("nn: cannot infer the model: no %d-D %q in the state dict", dims, name)
		}
		return t.Shape, nil
	}
	count := func(prefix string) int {
		n := 0
		for {
			if !hasPrefix(s, fmt.Sprintf("%s%d.", prefix, n)) {
				return n
			}
			n++
		}
	}
	var cfg Config
	var block string
	var stage func(i int) string // name prefix of stage i (from 0)
	if w, err := shape("conv1.weight", 4); err == nil {
		block, cfg.Width, cfg.InChannels = blockA, w[0], w[1]
		stage = func(i int) string { return fmt.Sprintf("layer%d.", i+1) }
		if !hasPrefix(s, "layer1.0.conv3.") && w[2] == 7 {
			return cfg, fmt.Errorf("nn: cannot infer the model: a 7×7 conv1.weight without bottlenecks (layer1.0.conv3) is a basic-block ResNet of Resnet_LT.py (resnet18/34), which glmc does not build; want resnet50_lt or resnext50_32x4d")
		}
		if hasPrefix(s, "layer1.0.conv3.") {
			block = blockLT
		}
	} else if w, err := shape("conv1.0.weight", 4); err == nil {
		block, cfg.Width, cfg.InChannels = blockBasic, w[0], w[1]
		stage = func(i int) string { return fmt.Sprintf("conv%d_x.", i+2) }
		if hasPrefix(s, "conv2_x.0.residual_function.6.") {
			block = blockBottleneck
		}
	} else {
		return cfg, fmt.Errorf("nn: cannot infer the model: neither conv1.weight (resnet32, resnet50_lt, resnext50_32x4d) nor conv1.0.weight (resnet18/34/50) in the state dict")
	}
	for i := 0; count(stage(i)) > 0; i++ {
		cfg.Blocks = append(cfg.Blocks, count(stage(i)))
	}
	if block == blockLT {
		var err error
		if cfg.Groups, cfg.WidthPerGroup, err = inferGroups(s, cfg.Width, len(cfg.Blocks)); err != nil {
			return cfg, err
		}
	}
	fc, err := shape("fc_cb.weight", 2)
	if err != nil {
		return cfg, err
	}
	head, err := shape("projection_head.0.weight", 2)
	if err != nil {
		return cfg, err
	}
	cfg.NumClasses, cfg.HeadWidth = fc[0], head[0]
	cfg.Arch = familyArch[block]
	if block == blockLT && cfg.Groups == 1 {
		cfg.Arch = "resnet50_lt"
	}
	for _, name := range Archs() {
		spec := archs[name]
		if spec.block == block && slices.Equal(spec.blocks, cfg.Blocks) && spec.groups == cfg.Groups && spec.widthPerGroup == cfg.WidthPerGroup {
			cfg.Arch = name
		}
	}
	return cfg, nil
}

// inferGroups reads the groups and the width per group of a Resnet_LT.py
// model of width nf off the grouped convolutions layerN.0.conv2.weight,
// (width, width/groups, 3, 3) with width = ⌊nf·2^i·WidthPerGroup/64⌋·groups
// in stage i. The width per group is the least that gives every stage's
// width; the last stage, with the most planes, narrows it down most.
func inferGroups(s *State, nf, stages int) (groups, widthPerGroup int, err error) {
	widths := make([]int, stages)
	for i := range widths {
		name := fmt.Sprintf("layer%d.0.conv2.weight", i+1)
		t, ok := s.Tensors[name]
		if !ok || len(t.Shape) != 4 || t.Shape[1] == 0 || t.Shape[0]%t.Shape[1] != 0 {
			return 0, 0, fmt.Errorf("nn: cannot infer the model: %s missing or not of shape (width, width/groups, 3, 3)", name)
		}
		if i == 0 {
			groups = t.Shape[0] / t.Shape[1]
		}
		if t.Shape[0]%groups != 0 {
			return 0, 0, fmt.Errorf("nn: cannot infer the model: %s has width %d, not a multiple of layer1's %d groups", name, t.Shape[0], groups)
		}
		widths[i] = t.Shape[0] / groups
	}
	last := nf << (stages - 1)
	for wpg := (widths[stages-1]*64 + last - 1) / last; wpg*last < (widths[stages-1]+1)*64; wpg++ {
		fits := true
		for i, w := range widths {
			fits = fits && (nf<<i)*wpg/64 == w
		}
		if fits {
			return groups, wpg, nil
		}
	}
	return 0, 0, fmt.Errorf("nn: cannot infer the model: grouped convolutions of %v channels per group in %d groups fit no width per group at width %d", widths, groups, nf)
}

// hasPrefix reports whether some name of s starts with prefix.
func hasPrefix(s *State, prefix string) bool {
	for _, name := range s.Names {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// LoadModel builds the model stored in a safetensors file or a PyTorch
// checkpoint and loads its state. Fields of cfg that are zero are inferred
// from the tensor shapes (InferConfig); given ones must match the file, or
// the load fails naming the first mismatching key. The model is in eval
// mode.
func LoadModel(path string, cfg Config) (*Model, error) {
	s, err := LoadStateFile(path)
	if err != nil {
		return nil, err
	}
	inferred, err := InferConfig(s)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	if cfg.Arch == "" {
		cfg.Arch = inferred.Arch
		if cfg.Blocks == nil {
			cfg.Blocks = inferred.Blocks
		}
	}
	if cfg.NumClasses == 0 {
		cfg.NumClasses = inferred.NumClasses
	}
	if cfg.Width == 0 {
		cfg.Width = inferred.Width
	}
	if cfg.HeadWidth == 0 {
		cfg.HeadWidth = inferred.HeadWidth
	}
	if cfg.InChannels == 0 {
		cfg.InChannels = inferred.InChannels
	}
	if cfg.Groups == 0 && cfg.WidthPerGroup == 0 {
		cfg.Groups, cfg.WidthPerGroup = inferred.Groups, inferred.WidthPerGroup
	}
	m, err := NewModel(cfg, tensor.NewRNG(0))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	if err := LoadState(m, s); err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	m.Train(false)
	return m, nil
}

// SaveModel writes the state dict of m to path as safetensors (atomically),
// with the model's configuration as metadata.
func SaveModel(path string, m *Model) error {
	blocks, _ := json.Marshal(m.Config.Blocks)
	meta := map[string]string{
		"arch": m.Config.Arch, "num_classes": strconv.Itoa(m.Config.NumClasses), "width": strconv.Itoa(m.Config.Width),
		"head_width": strconv.Itoa(m.Config.HeadWidth), "in_channels": strconv.Itoa(m.Config.InChannels), "blocks": string(blocks),
	}
	return SaveSafetensors(path, StateOf(m), meta)
}
