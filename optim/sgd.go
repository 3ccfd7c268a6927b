package optim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// Options are the hyperparameters of torch.optim.SGD for one group of
// parameters. The official GLMC trainer uses LR 0.01, Momentum 0.9,
// WeightDecay 5e-3, no dampening and no Nesterov, on every parameter.
type Options struct {
	LR          float64 // learning rate η, finite and ≥ 0
	Momentum    float64 // momentum factor μ ≥ 0; 0 keeps no buffer
	Dampening   float64 // τ: after the first step the buffer gains (1−τ)·g
	WeightDecay float64 // coupled L2 factor λ ≥ 0: the gradient becomes g + λ·p
	Nesterov    bool    // Nesterov momentum; needs Momentum > 0 and Dampening 0, as in PyTorch
}

// Group is a set of parameters that share Options, like one of PyTorch's
// param_groups (for example the biases and batch-norm weights without
// weight decay).
type Group struct {
	Params []*autograd.Var
	Options
}

// SGD is torch.optim.SGD. For every parameter p with a gradient, Step does
//
//	g = p.Grad + λ·p
//	buf = g                  on p's first step (no dampening), else
//	buf = μ·buf + (1−τ)·g
//	g = g + μ·buf            with Nesterov, else g = buf (when μ > 0)
//	p = p − η·g
//
// Parameters whose Grad is nil are skipped and get no buffer, as PyTorch
// skips parameters whose grad is None. p.Grad itself is never changed.
//
// Parameters are numbered 0, 1, ... across the groups in order, as in
// PyTorch's optimizer state_dict; State and LoadState use these numbers.
// An SGD must be used from one goroutine at a time.
type SGD struct {
	groups  []Group
	bufs    []*tensor.Tensor // momentum buffer of parameter i, nil before its first step
	scratch []float32        // the decayed or Nesterov gradient, as long as the largest parameter
}

// NewSGD returns an optimiser for one group of parameters.
func NewSGD(params []*autograd.Var, o Options) (*SGD, error) {
	return NewSGDGroups(Group{Params: params, Options: o})
}

// NewSGDGroups returns an optimiser over several groups, each with its own
// Options. It fails, as PyTorch does, on an empty parameter list, a
// parameter listed twice, a negative or non-finite hyperparameter, and
// Nesterov without momentum or with dampening.
func NewSGDGroups(groups ...Group) (*SGD, error) {
	s := &SGD{}
	seen := map[*autograd.Var]bool{}
	largest := 0
	for gi, g := range groups {
		if err := g.Options.check(); err != nil {
			return nil, fmt.Errorf("optim: SGD group %d: %w", gi, err)
		}
		for pi, p := range g.Params {
			switch {
			case p == nil || p.Value == nil:
				return nil, fmt.Errorf("optim: SGD group %d: parameter %d is nil", gi, pi)
			case seen[p]:
				return nil, fmt.Errorf("optim: SGD group %d: parameter %d appears in more than one place", gi, pi)
			}
			seen[p] = true
			largest = max(largest, p.Value.Numel())
		}
		// The group is copied so that later changes to the caller's slice
		// cannot renumber the parameters behind the momentum buffers.
		s.groups = append(s.groups, Group{Params: slices.Clone(g.Params), Options: g.Options})
	}
	if len(seen) == 0 {
		return nil, errors.New("optim: SGD got an empty parameter list")
	}
	s.bufs = make([]*tensor.Tensor, len(seen))
	s.scratch = make([]float32, largest)
	return s, nil
}

func (o Options) check() error {
	for _, h := range []struct {
		name string
		v    float64
	}{{"learning rate", o.LR}, {"momentum", o.Momentum}, {"dampening", o.Dampening}, {"weight decay", o.WeightDecay}} {
		if !(h.v >= 0) || math.IsInf(h.v, 1) {
			return fmt.Errorf("%s %v: want a finite value ≥ 0", h.name, h.v)
		}
	}
	if o.Nesterov && (o.Momentum == 0 || o.Dampening != 0) {
		return fmt.Errorf("Nesterov momentum needs momentum > 0 and dampening 0 (have %v and %v)", o.Momentum, o.Dampening)
	}
	return nil
}

// Step updates every parameter that has a gradient, in place. It panics if
// a gradient's size differs from its parameter's, which only a bug can
// cause.
func (s *SGD) Step() {
	i := 0
	for gi := range s.groups {
		g := &s.groups[gi]
		for _, p := range g.Params {
			s.update(p, i, &g.Options)
			i++
		}
	}
}

// update applies the rule of the SGD doc comment to parameter i.
func (s *SGD) update(p *autograd.Var, i int, o *Options) {
	if p.Grad == nil {
		return
	}
	w := p.Value.Data
	if len(p.Grad.Data) != len(w) {
		panic(fmt.Sprintf("optim: SGD parameter %d: gradient of shape %v for a value of shape %v", i, p.Grad.Shape, p.Value.Shape))
	}
	// The steps below are PyTorch's single-tensor SGD, operation for
	// operation, with the float64 hyperparameters rounded to float32 as
	// PyTorch does for a float tensor's alpha.
	g := p.Grad.Data
	if o.WeightDecay != 0 || o.Nesterov {
		g = s.scratch[:len(w)]
		copy(g, p.Grad.Data)
		if o.WeightDecay != 0 {
			asm.Axpy(float32(o.WeightDecay), w, g)
		}
	}
	if o.Momentum != 0 {
		buf := s.bufs[i]
		if buf == nil {
			buf = tensor.OffHeap(tensor.FromSlice(g, p.Value.Shape...)) // lives as long as p: off the heap
			s.bufs[i] = buf
		} else {
			asm.Scale(float32(o.Momentum), buf.Data)
			asm.Axpy(float32(1-o.Dampening), g, buf.Data)
		}
		if o.Nesterov {
			asm.Axpy(float32(o.Momentum), buf.Data, g)
		} else {
			g = buf.Data
		}
	}
	asm.Axpy(float32(-o.LR), g, w)
}

// ZeroGrad sets every parameter's gradient to zero, keeping its storage
// (PyTorch's zero_grad(set_to_none=False)). A parameter whose gradient is
// zero rather than nil is still decayed and keeps its momentum.
func (s *SGD) ZeroGrad() {
	for _, g := range s.groups {
		autograd.ZeroGrad(g.Params...)
	}
}

// SetLR sets the learning rate of every group, as the official trainer
// does at the start of each epoch. It panics on a negative or non-finite
// rate: schedules built from validated options never produce one.
func (s *SGD) SetLR(lr float64) {
	if !(lr >= 0) || math.IsInf(lr, 1) {
		panic(fmt.Sprintf("optim: SetLR(%v): want a finite learning rate ≥ 0", lr))
	}
	for gi := range s.groups {
		s.groups[gi].LR = lr
	}
}

// LR returns the learning rate of the first group (of every group unless
// they were built with different rates and SetLR has not been called).
func (s *SGD) LR() float64 { return s.groups[0].LR }

// bufPrefix starts the State key of a momentum buffer; the parameter
// number follows.
const bufPrefix = "momentum_buffer."

// State returns copies of the momentum buffers, keyed "momentum_buffer.<i>"
// by parameter number. Parameters that have not taken a step yet have no
// entry, which is what makes their next step a first step again after
// LoadState. SGD keeps no other state: the rate comes from the schedule.
func (s *SGD) State() map[string]*tensor.Tensor {
	state := map[string]*tensor.Tensor{}
	for i, b := range s.bufs {
		if b != nil {
			state[bufPrefix+strconv.Itoa(i)] = b.Clone()
		}
	}
	return state
}

// LoadState replaces the momentum buffers with copies of those in state,
// as State returns them: parameters without an entry start afresh. It
// fails, changing nothing, on an unknown key, a parameter number out of
// range or in a group without momentum, or a shape that is not the
// parameter's.
func (s *SGD) LoadState(state map[string]*tensor.Tensor) error {
	params, opts := s.flat()
	bufs := make([]*tensor.Tensor, len(params))
	for key, t := range state {
		n, ok := strings.CutPrefix(key, bufPrefix)
		i, err := strconv.Atoi(n)
		switch {
		case !ok || err != nil || strconv.Itoa(i) != n:
			return fmt.Errorf("optim: SGD LoadState: key %q: want %s<parameter number>", key, bufPrefix)
		case i < 0 || i >= len(params):
			return fmt.Errorf("optim: SGD LoadState: key %q: the optimiser has %d parameters", key, len(params))
		case opts[i].Momentum == 0:
			return fmt.Errorf("optim: SGD LoadState: key %q: parameter %d is in a group without momentum", key, i)
		case t == nil || !slices.Equal(t.Shape, params[i].Value.Shape) || len(t.Data) != params[i].Value.Numel():
			return fmt.Errorf("optim: SGD LoadState: key %q: want shape %v", key, params[i].Value.Shape)
		}
		bufs[i] = tensor.OffHeap(t)
	}
	s.bufs = bufs
	return nil
}

// flat lists the parameters in their numbering, with their group's Options.
func (s *SGD) flat() ([]*autograd.Var, []*Options) {
	var params []*autograd.Var
	var opts []*Options
	for gi := range s.groups {
		for _, p := range s.groups[gi].Params {
			params = append(params, p)
			opts = append(opts, &s.groups[gi].Options)
		}
	}
	return params, opts
}
