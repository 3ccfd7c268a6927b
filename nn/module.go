package nn

import (
	"strconv"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// Module is a layer or a network of layers.
type Module interface {
	// Forward applies the module to x and records the op for backward
	// when x or a parameter requires gradients.
	Forward(x *autograd.Var) *autograd.Var
	// Train switches training mode on (batch statistics, running-stat
	// updates in batch norm) or off (eval mode: running statistics).
	Train(on bool)
	// Visit calls fn for every parameter and buffer of the module in
	// PyTorch's state-dict order, each name preceded by prefix.
	Visit(prefix string, fn func(Entry))
	// Parameters returns the trainable parameters in state-dict order.
	Parameters() []*autograd.Var
}

// Entry is one state-dict entry: a parameter, a float buffer (running
// mean or variance) or the int64 batch counter of a batch norm. Exactly one
// of Param, Buffer and Count is set.
type Entry struct {
	Name   string         // official PyTorch name, such as "layer1.0.bn1.running_var"
	Param  *autograd.Var  // a weight or bias; the values are Param.Value
	Buffer *tensor.Tensor // running_mean or running_var
	Count  *int64         // num_batches_tracked (an int64 scalar in PyTorch)
}

// Tensor returns the float values of a parameter or buffer, nil for Count.
func (e Entry) Tensor() *tensor.Tensor {
	switch {
	case e.Param != nil:
		return e.Param.Value
	case e.Buffer != nil:
		return e.Buffer
	}
	return nil
}

// Shape is the entry's shape; the batch counter is a scalar (shape []).
func (e Entry) Shape() []int {
	if t := e.Tensor(); t != nil {
		return t.Shape
	}
	return []int{}
}

// StateDict returns every parameter and buffer of m by name, in PyTorch's
// state-dict order. The entries share storage with m.
func StateDict(m Module) []Entry {
	var out []Entry
	m.Visit("", func(e Entry) { out = append(out, e) })
	return out
}

// NamedParameters returns m's parameters with their names, in state-dict
// order (buffers left out).
func NamedParameters(m Module) []Entry {
	var out []Entry
	m.Visit("", func(e Entry) {
		if e.Param != nil {
			out = append(out, e)
		}
	})
	return out
}

// parameters is the body of every module's Parameters method.
func parameters(m Module) []*autograd.Var {
	var out []*autograd.Var
	m.Visit("", func(e Entry) {
		if e.Param != nil {
			out = append(out, e.Param)
		}
	})
	return out
}

// Sequential applies its layers in order, as torch.nn.Sequential. Layers
// are named by their index in the state dict ("0.weight", "3.running_mean"),
// unless Names gives other names (the ResNet trunks use it for "conv1",
// "layer1", ...). A BatchNorm2d directly followed by a ReLU runs as one
// fused op, and so does a Conv2d directly followed by them (see convBN).
type Sequential struct {
	Layers []Module
	Names  []string // state-dict name of each layer; nil means "0", "1", ...
}

// NewSequential returns the layers in order, named by index.
func NewSequential(layers ...Module) *Sequential { return &Sequential{Layers: layers} }

// Forward applies the layers in order.
func (s *Sequential) Forward(x *autograd.Var) *autograd.Var { return runLayers(s.Layers, x) }

// runLayers applies layers in order, running a Conv2d directly followed
// by a BatchNorm2d (and a ReLU) with convBN, and a BatchNorm2d directly
// followed by a ReLU as one op. The intermediate results go back to their
// arena as soon as they are consumed, when that is safe (releaseConsumed).
func runLayers(layers []Module, x *autograd.Var) *autograd.Var {
	in := x
	for i := 0; i < len(layers); i++ {
		prev := x
		_, relu := at(layers, i+1).(ReLU)
		switch l := layers[i].(type) {
		case *Conv2d:
			if bn, ok := at(layers, i+1).(*BatchNorm2d); ok {
				_, relu = at(layers, i+2).(ReLU)
				x = convBN(l, bn, x, nil, relu)
				if i++; relu {
					i++
				}
			} else {
				x = l.Forward(x)
			}
		case *BatchNorm2d:
			if relu {
				x = l.forward(x, nil, true)
				i++
			} else {
				x = l.Forward(x)
			}
		default:
			x = l.Forward(x)
		}
		if prev != in {
			releaseConsumed(prev, x)
		}
	}
	return x
}

// releaseConsumed gives the storage of v, an intermediate result that
// nothing but the op that made out from it reads, back to v's arena, so
// that a pass without gradients (evaluation) holds a few activations at a
// time rather than all of them until the arena is reset. It does so only
// when no gradient is recorded through v or out (a backward rule may keep
// v's values) and out has storage of its own from the arena (it is not v
// nor a view into it); otherwise v lives until the reset.
func releaseConsumed(v, out *autograd.Var) {
	a := v.Arena()
	if a == nil || v.RequiresGrad() || out.RequiresGrad() || !a.Owns(out.Value) || &out.Value.Data[0] == &v.Value.Data[0] {
		return
	}
	a.Release(v.Value)
}

// at returns layers[i], or nil past the end.
func at(layers []Module, i int) Module {
	if i < len(layers) {
		return layers[i]
	}
	return nil
}

// Train sets the mode of every layer.
func (s *Sequential) Train(on bool) {
	for _, l := range s.Layers {
		l.Train(on)
	}
}

// Visit visits the layers in order under their names.
func (s *Sequential) Visit(prefix string, fn func(Entry)) {
	for i, l := range s.Layers {
		name := strconv.Itoa(i)
		if s.Names != nil {
			name = s.Names[i]
		}
		l.Visit(prefix+name+".", fn)
	}
}

// Parameters returns the parameters of all layers in order.
func (s *Sequential) Parameters() []*autograd.Var { return parameters(s) }
