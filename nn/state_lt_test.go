package nn

import (
	"slices"
	"strings"
	"testing"

	"github.com/glmc/glmc/tensor"
)

// TestInferConfigLT recovers narrow Resnet_LT.py models from their state
// dicts: the groups exactly, and a width per group that gives the same
// shapes (the least one, where several do), so that the state loads.
func TestInferConfigLT(t *testing.T) {
	for _, c := range []struct {
		cfg      Config
		arch     string
		inferred int // width per group inferred
	}{
		{Config{Arch: "resnext50_32x4d", Width: 8, Blocks: []int{2, 1, 1, 1}, Groups: 4, WidthPerGroup: 16}, "resnext50_32x4d", 16},
		{Config{Arch: "resnext50_32x4d", Width: 16, Blocks: []int{1, 1, 1, 1}}, "resnext50_32x4d", 4},
		{Config{Arch: "resnext50_32x4d", Width: 16, Blocks: []int{1, 1, 1, 1}, Groups: 8, WidthPerGroup: 6}, "resnext50_32x4d", 6},
		{Config{Arch: "resnext50_32x4d", Width: 4, Blocks: []int{1, 1, 1, 1}, Groups: 2, WidthPerGroup: 21}, "resnext50_32x4d", 20}, // 20 to 22 give the same shapes
		{Config{Arch: "resnet50_lt", Width: 4, Blocks: []int{1, 2, 1, 1}}, "resnet50_lt", 64},
	} {
		c.cfg.NumClasses, c.cfg.HeadWidth = 7, 8
		m, err := NewModel(c.cfg, tensor.NewRNG(2))
		if err != nil {
			t.Fatal(err)
		}
		got, err := InferConfig(StateOf(m))
		if err != nil {
			t.Fatal(err)
		}
		if got.Arch != c.arch || got.Width != c.cfg.Width || !slices.Equal(got.Blocks, c.cfg.Blocks) || got.Groups != m.Config.Groups ||
			got.WidthPerGroup != c.inferred || got.NumClasses != 7 || got.HeadWidth != 8 {
			t.Errorf("%+v: inferred %+v", c.cfg, got)
		}
		back, err := NewModel(got, tensor.NewRNG(3))
		if err != nil {
			t.Fatal(err)
		}
		if err := LoadState(back, StateOf(m)); err != nil {
			t.Errorf("%+v: the state does not load into the inferred model: %v", c.cfg, err)
		}
	}
}

// TestLTConfigErrors: groups belong to the Resnet_LT.py models only, a
// bottleneck needs channels, and a basic-block Resnet_LT.py state dict is
// refused by name.
func TestLTConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Arch: "resnet50", NumClasses: 3, Groups: 2}, "only the Resnet_LT.py architectures"},
		{Config{Arch: "resnext50_32x4d", NumClasses: 3, Width: 8}, "width·(width per group) ≥ 64"},
		{Config{Arch: "resnext50_32x4d", NumClasses: 3, Groups: -1}, "want positive sizes"},
	} {
		if _, err := NewModel(c.cfg, tensor.NewRNG(1)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one saying %q", c.cfg, err, c.want)
		}
	}
	s := NewState()
	s.Add("conv1.weight", &StateTensor{Shape: []int{64, 3, 7, 7}, Float: make([]float32, 64*3*49)})
	s.Add("layer1.0.conv1.weight", &StateTensor{Shape: []int{64, 64, 3, 3}, Float: make([]float32, 64*64*9)})
	if _, err := InferConfig(s); err == nil || !strings.Contains(err.Error(), "basic-block ResNet of Resnet_LT.py") {
		t.Errorf("a Resnet_LT.py resnet18 state dict: error %v", err)
	}
}
