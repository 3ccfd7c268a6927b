package autograd

import (
	"fmt"

	"github.com/glmc/glmc/tensor"
)

// Var is a node of the computation graph: a forward value and, after a
// backward pass, the gradient of the output with respect to it.
type Var struct {
	Value *tensor.Tensor // forward value; autograd never writes to it
	Grad  *tensor.Tensor // accumulated gradient, Value's shape; nil until one arrives

	op           string // name of the op that made the Var; "" for a leaf
	requiresGrad bool
	retainGrad   bool // keep Grad of a non-leaf after backward
	freed        bool // the rule was released by a backward pass
	arena        *tensor.Arena
	parents      []*Var
	// backward maps the gradient of this Var to one gradient per parent
	// (nil where none flows).
	backward func(gradOut *tensor.Tensor) []*tensor.Tensor
}

// Param returns a leaf that requires gradients, such as a weight.
func Param(t *tensor.Tensor) *Var { return &Var{Value: t, requiresGrad: true} }

// Const returns a leaf that needs no gradient, such as an input batch.
func Const(t *tensor.Tensor) *Var { return &Var{Value: t} }

// ConstIn returns a Const whose graph takes its tensors from the arena a:
// every op on it (and on the ops' results) allocates its value and the
// gradients of its backward pass with a.New (see Arena), and a backward
// pass gives the intermediate gradients back to a as soon as they have
// been used. Everything the graph holds is therefore valid only until
// a.Reset: a training step resets the arena of the previous one and
// makes its input with ConstIn.
func ConstIn(a *tensor.Arena, t *tensor.Tensor) *Var { return &Var{Value: t, arena: a} }

// Detach returns a Const that shares v's Value (and its arena): the
// stop-gradient sg(v).
func Detach(v *Var) *Var { return &Var{Value: v.Value, arena: v.arena} }

// Arena is the arena of v's graph (see ConstIn), nil for none. Ops
// allocate their results and gradients with v.Arena().New, which is
// tensor.New when there is no arena.
func (v *Var) Arena() *tensor.Arena { return v.arena }

// RequiresGrad reports whether gradients flow to v.
func (v *Var) RequiresGrad() bool { return v.requiresGrad }

// SetRequiresGrad freezes (false) or unfreezes (true) a leaf, for example
// to fine-tune only part of a model. It panics on a non-leaf, whose
// status follows from its inputs.
func (v *Var) SetRequiresGrad(on bool) {
	if !v.IsLeaf() {
		panic(fmt.Sprintf("autograd: SetRequiresGrad on the result of %s; only leaves can be frozen", v.op))
	}
	v.requiresGrad = on
}

// IsLeaf reports whether v was made by Param, Const or Detach (or by an
// op none of whose inputs required gradients) rather than recorded.
func (v *Var) IsLeaf() bool { return v.op == "" }

// Op names the op that made v ("" for a leaf).
func (v *Var) Op() string { return v.op }

// Shape is the shape of v's Value.
func (v *Var) Shape() []int { return v.Value.Shape }

// Item returns the value of a one-element Var, such as a loss.
func (v *Var) Item() float32 {
	if v.Value.Numel() != 1 {
		panic(fmt.Sprintf("autograd: Item of a Var of shape %v", v.Value.Shape))
	}
	return v.Value.Data[0]
}

// RetainGrad keeps the Grad of a non-leaf after the backward pass (leaves
// always keep theirs), for inspection.
func (v *Var) RetainGrad() { v.retainGrad = true }

// ZeroGrad sets v's accumulated gradient to zero, keeping its storage.
func (v *Var) ZeroGrad() {
	if v.Grad != nil {
		clear(v.Grad.Data)
	}
}

// ZeroGrad zeroes the gradients of every given Var.
func ZeroGrad(vs ...*Var) {
	for _, v := range vs {
		v.ZeroGrad()
	}
}

// NoGrad runs f with the given leaves treated as constants, so that ops on
// them record nothing, and then restores their previous state (also when f
// panics). Pass a model's parameters to evaluate it without building a
// graph. Only these leaves are affected; see the package documentation for
// what that means for concurrent use. It panics on a non-leaf.
func NoGrad(leaves []*Var, f func()) {
	saved := make([]bool, len(leaves))
	for i, v := range leaves {
		saved[i] = v.requiresGrad
		v.SetRequiresGrad(false)
	}
	defer func() {
		// In reverse, so that a leaf listed twice ends as it started.
		for i := len(leaves) - 1; i >= 0; i-- {
			leaves[i].requiresGrad = saved[i]
		}
	}()
	f()
}
