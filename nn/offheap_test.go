package nn

import (
	"slices"
	"testing"

	"github.com/glmc/glmc/tensor"
)

func TestMoveParametersOffHeapKeepsValues(t *testing.T) {
	m, err := NewModel(Config{Arch: "resnet32", NumClasses: 3, Width: 2, Blocks: []int{1, 1, 1}}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	before := StateOf(m)
	old := map[string]*tensor.Tensor{}
	for _, e := range NamedParameters(m) {
		old[e.Name] = e.Param.Value
	}
	MoveParametersOffHeap(m)
	for _, e := range NamedParameters(m) {
		if e.Param.Value == old[e.Name] || !slices.Equal(e.Param.Value.Data, before.Tensors[e.Name].Float) ||
			!slices.Equal(e.Param.Value.Shape, before.Tensors[e.Name].Shape) {
			t.Errorf("%s: not moved, or its value changed", e.Name)
		}
	}
}
