package nn

import "github.com/glmc/glmc/tensor"

// MoveParametersOffHeap gives every parameter of m a copy of its value
// whose storage lies outside the Go heap (tensor.OffHeap): the weights of
// a model that trains for a whole run are live all along, and on the heap
// the collector would let the heap grow by as much again before it
// collects. Call it on a new model, before anything keeps a parameter's
// Value tensor (keeping its Var is fine). Gradients of parameters are off
// the heap anyway (see autograd), as are SGD's momentum buffers.
func MoveParametersOffHeap(m Module) {
	m.Visit("", func(e Entry) {
		if e.Param != nil {
			e.Param.Value = tensor.OffHeap(e.Param.Value)
		}
	})
}
