package autograd

import (
	"fmt"
	"slices"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/tensor"
)

// Custom records an op whose value out was computed from inputs, with a
// hand-written backward rule; it is how packages above add fused ops
// (convolution, batch norm) without touching autograd.
//
// backward receives the gradient of out (out's shape) and returns one
// gradient per input, each with that input's shape, or nil where no
// gradient flows; it may skip inputs whose RequiresGrad is false. The
// returned tensors are handed over: autograd may keep them as Grad and add
// into them later, or give them back to the graph's arena, so return fresh
// tensors (from the inputs' Arena().New, best) or gradOut itself (or a
// Reshape of it), never a buffer that is reused elsewhere. gradOut must
// not be modified, nor kept after the rule returns.
//
// When no input requires gradients nothing is recorded and the result is
// a leaf that does not require gradients. Either way the result belongs
// to the first arena among the inputs'.
func Custom(name string, out *tensor.Tensor, inputs []*Var, backward func(gradOut *tensor.Tensor) []*tensor.Tensor) *Var {
	var arena *tensor.Arena
	for _, in := range inputs {
		if arena = in.arena; arena != nil {
			break
		}
	}
	for _, in := range inputs {
		if in.requiresGrad {
			if backward == nil {
				panic(fmt.Sprintf("autograd: Custom %s: nil backward rule for inputs that require grad", name))
			}
			return &Var{
				Value: out, op: name, requiresGrad: true, arena: arena,
				parents: slices.Clone(inputs), backward: backward,
			}
		}
	}
	return ConstIn(arena, out)
}

// Backward computes the gradient of v, which must hold a single element
// (a loss), with respect to every Var below it that requires gradients.
func (v *Var) Backward() {
	if v.Value.Numel() != 1 {
		panic(fmt.Sprintf("autograd: Backward of a Var of shape %v; use BackwardWith for non-scalar outputs", v.Value.Shape))
	}
	v.BackwardWith(tensor.Full(1, v.Value.Shape...))
}

// BackwardWith back-propagates grad, the gradient of some scalar with
// respect to v (v's shape), through the graph below v, accumulating into
// the Grad of every Var that requires gradients, and then releases the
// graph (see the package documentation).
func (v *Var) BackwardWith(grad *tensor.Tensor) {
	if !v.requiresGrad {
		panic("autograd: Backward of a Var that does not require grad (no input required grad, or they were under NoGrad)")
	}
	if !tensor.SameShape(grad, v.Value) {
		panic(fmt.Sprintf("autograd: BackwardWith: gradient of shape %v for a Var of shape %v", grad.Shape, v.Value.Shape))
	}
	order := topoSort(v)
	v.accumulate(grad, false, nil)
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		if n.IsLeaf() {
			continue
		}
		passed := false
		if n.Grad != nil {
			passed = n.propagate()
		}
		if !n.retainGrad {
			if !passed {
				n.arena.Release(n.Grad)
			}
			n.Grad = nil
		}
		n.parents, n.backward, n.freed = nil, nil, true
	}
}

// propagate runs n's rule and accumulates the results into its parents,
// giving the gradients no parent kept back to the arena. It reports
// whether a parent took n's Grad itself as its own.
func (n *Var) propagate() (passed bool) {
	grads := n.backward(n.Grad)
	if len(grads) != len(n.parents) {
		panic(fmt.Sprintf("autograd: backward of %s returned %d gradients for %d inputs", n.op, len(grads), len(n.parents)))
	}
	// A returned tensor can become a parent's Grad without a copy unless it
	// shares storage with one already adopted, or is n's own Grad which n
	// keeps (RetainGrad). Every storage has one holder at a time, so a
	// gradient is given back once, by whoever holds it last.
	adopted := map[*float32]bool{}
	if n.retainGrad && n.Grad.Numel() > 0 {
		adopted[&n.Grad.Data[0]] = true
	}
	for j, p := range n.parents {
		g := grads[j]
		if g == nil || !p.requiresGrad {
			continue
		}
		if !tensor.SameShape(g, p.Value) {
			panic(fmt.Sprintf("autograd: backward of %s: gradient %d has shape %v, want %v", n.op, j, g.Shape, p.Value.Shape))
		}
		own := g.Numel() > 0 && !adopted[&g.Data[0]]
		if p.accumulate(g, own, n.arena) {
			adopted[&g.Data[0]] = true
		}
	}
	for _, g := range grads {
		switch {
		case g == nil || g.Numel() == 0 || adopted[&g.Data[0]]:
		case n.Grad.Numel() > 0 && &g.Data[0] == &n.Grad.Data[0]:
			// n's Grad: n gives it back.
		default:
			n.arena.Release(g)
		}
	}
	return n.Grad.Numel() > 0 && !n.retainGrad && adopted[&n.Grad.Data[0]]
}

// accumulate adds g, a gradient from the arena a (or from the heap), into
// v.Grad. With own set and no gradient yet, it takes g as the storage and
// reports true, unless g's storage would not live as long as v: a's storage
// lives until a.Reset, so only Vars of a's own graph take it. A parameter's
// gradient outlives every step: it is a copy, off the heap (tensor.OffHeap)
// as it lives as long as the model.
func (v *Var) accumulate(g *tensor.Tensor, own bool, a *tensor.Arena) bool {
	switch {
	case v.Grad == nil && own && (v.arena == a || !a.Owns(g)):
		v.Grad = g
		return true
	case v.Grad == nil && v.IsLeaf() && v.arena == nil:
		v.Grad = tensor.OffHeap(g)
	case v.Grad == nil:
		v.Grad = v.arena.Clone(g)
	default:
		asm.Axpy(1, g.Data, v.Grad.Data)
	}
	return false
}

// topoSort returns the Vars that require gradients below (and including)
// root, every Var after all of its parents. It is iterative, so deep graphs
// do not exhaust the stack.
func topoSort(root *Var) []*Var {
	type frame struct {
		v    *Var
		next int // index of the next parent to visit
	}
	var order []*Var
	seen := map[*Var]bool{root: true}
	stack := []frame{{v: root}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.v.freed {
			panic(fmt.Sprintf("autograd: Backward through the result of %s, whose graph an earlier Backward released; build the graph again", f.v.op))
		}
		if f.next < len(f.v.parents) {
			p := f.v.parents[f.next]
			f.next++
			if p.requiresGrad && !seen[p] {
				seen[p] = true
				stack = append(stack, frame{v: p})
			}
			continue
		}
		order = append(order, f.v)
		stack = stack[:len(stack)-1]
	}
	return order
}
