// Package gradcheck checks backward rules against finite differences, for
// the tests of autograd and of every package that adds ops with
// autograd.Custom.
//
// # Method
//
// The function under test maps input Vars to an output Var of any shape.
// Check turns it into the scalar φ(x) = Σ w·f(x) with fixed random weights w
// (a scalar made by summing would hide errors that cancel, such as any
// gradient of a softmax) and compares, element by element, the analytic
// gradient from one BackwardWith(w) with a numerical derivative of φ:
//
//   - φ is accumulated in float64 from the float32 outputs, so the only
//     float32 rounding left is the op's own, about one unit in the last
//     place of each output element that the perturbed input touches;
//   - the derivative is the central difference with Richardson
//     extrapolation, D = (4·D(h/2) − D(h))/3, whose truncation error is
//     O(h⁴), which allows a step h large enough (1e-2 relative by default)
//     to keep the rounding noise, about 1e-7·|f|/h, far below the
//     tolerance; the steps used are the exact float32 differences of the
//     perturbed inputs;
//   - outputs that an element does not affect are bit-identical in both
//     evaluations (every op is deterministic) and cancel exactly.
//
// An analytic value a passes against the numerical n when
// |a − n| ≤ RelTol·|n| + AbsTol·s, where s is the largest |a| or |n| over
// the whole input. The numerical derivatives of the ops in autograd agree
// with their rules to about 1e-4·s, so the defaults leave a tenfold margin
// while a rule that is 1% off fails wherever the gradient exceeds s/8; the
// package's tests assert that deliberately wrong rules fail. A kink within
// the step (ReLU near 0, near-ties in Max) usually makes D(h) and D(h/2)
// disagree, and the error message then says so. Keep test inputs away from
// kinks by more than the step.
package gradcheck

import (
	"errors"
	"fmt"
	"math"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// Options tunes Check; the zero value selects the defaults.
type Options struct {
	// Step is the finite-difference step relative to the element:
	// h = Step·max(1, |x|). Default 1e-2.
	Step float64
	// RelTol and AbsTol bound the allowed difference (see the package
	// documentation). Defaults 2e-3 and 1e-3.
	RelTol, AbsTol float64
	// MaxElems, if positive, checks only that many elements of each input,
	// spread evenly over it, to bound the cost on large inputs.
	MaxElems int
	// Seed selects the projection weights w.
	Seed uint64
}

func (o Options) withDefaults() Options {
	if o.Step == 0 {
		o.Step = 1e-2
	}
	if o.RelTol == 0 {
		o.RelTol = 2e-3
	}
	if o.AbsTol == 0 {
		o.AbsTol = 1e-3
	}
	return o
}

// Check compares the gradients of f at inputs with finite differences and
// returns an error describing the worst mismatch, or nil. f must be
// deterministic and must not modify its inputs; it is called with Params
// once and with Consts for every numerical evaluation. The inputs are not
// modified.
func Check(f func(in []*autograd.Var) *autograd.Var, inputs []*tensor.Tensor, opt Options) error {
	opt = opt.withDefaults()
	xs := make([]*tensor.Tensor, len(inputs))
	vars := make([]*autograd.Var, len(inputs))
	for i, t := range inputs {
		xs[i] = t.Clone()
		vars[i] = autograd.Param(xs[i])
	}
	out := f(vars)
	if !out.RequiresGrad() {
		return fmt.Errorf("gradcheck: the output (op %q) does not depend on the inputs through recorded ops", out.Op())
	}
	w := tensor.RandN(tensor.NewRNG(opt.Seed, 0x67726164), out.Value.Shape...)
	out.BackwardWith(w)

	phi := func() float64 {
		consts := make([]*autograd.Var, len(xs))
		for i, x := range xs {
			consts[i] = autograd.Const(x)
		}
		y := f(consts).Value
		var s float64
		for i, v := range y.Data {
			s += float64(w.Data[i]) * float64(v)
		}
		return s
	}
	for i, x := range xs {
		analytic := vars[i].Grad
		if analytic == nil {
			analytic = tensor.ZerosLike(x)
		}
		if err := checkInput(i, x, analytic, phi, opt); err != nil {
			return err
		}
	}
	return nil
}

// checkInput compares the analytic gradient of input i with numerical
// derivatives of phi, perturbing x in place and restoring it.
func checkInput(i int, x, analytic *tensor.Tensor, phi func() float64, opt Options) error {
	n := x.Numel()
	idx := make([]int, 0, n)
	if opt.MaxElems > 0 && opt.MaxElems < n {
		for k := range opt.MaxElems {
			idx = append(idx, k*n/opt.MaxElems)
		}
	} else {
		for j := range n {
			idx = append(idx, j)
		}
	}
	numeric := make([]float64, len(idx))
	smooth := make([]bool, len(idx))
	scale := 0.0
	for k, j := range idx {
		x0 := x.Data[j]
		h := opt.Step * math.Max(1, math.Abs(float64(x0)))
		diff := func(h float64) float64 {
			xp, xm := float32(float64(x0)+h), float32(float64(x0)-h)
			x.Data[j] = xp
			fp := phi()
			x.Data[j] = xm
			fm := phi()
			return (fp - fm) / (float64(xp) - float64(xm))
		}
		d1, d2 := diff(h), diff(h/2)
		x.Data[j] = x0
		numeric[k] = d2 + (d2-d1)/3
		// Smooth functions have |d2-d1| = O(h²); a kink makes it O(1).
		smooth[k] = math.Abs(d2-d1) <= 0.1*math.Max(math.Abs(d2), 1e-3)
		scale = math.Max(scale, math.Max(math.Abs(numeric[k]), math.Abs(float64(analytic.Data[j]))))
	}
	worst, worstK, bad := 0.0, -1, 0
	for k, j := range idx {
		a, num := float64(analytic.Data[j]), numeric[k]
		tol := opt.RelTol*math.Abs(num) + opt.AbsTol*scale
		e := math.Abs(a - num)
		if e <= tol {
			continue
		}
		bad++
		r := e / tol
		if math.IsNaN(r) {
			r = math.Inf(1)
		}
		if r > worst || worstK < 0 {
			worst, worstK = r, k
		}
	}
	if worstK < 0 {
		return nil
	}
	j := idx[worstK]
	msg := fmt.Sprintf("gradcheck: input %d (shape %v): %d of %d elements differ; worst at flat index %d: analytic %.6g, numeric %.6g",
		i, x.Shape, bad, len(idx), j, analytic.Data[j], numeric[worstK])
	if !smooth[worstK] {
		msg += " (the function is not smooth within the step there: keep inputs away from kinks)"
	}
	return errors.New(msg)
}
