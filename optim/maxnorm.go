package optim

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// MaxNorm is the official MaxNorm_via_PGD(thresh, LpNorm=2, tau=1)
// (GLMC-2023 utils/regularizers.py): a projection, applied after the
// optimiser step, that keeps the L2 norm of each row of the chosen
// parameters (the slice along the first axis, so a conv filter for a 4-D
// weight) at or below a per-parameter limit.
//
// The first Project fixes each parameter's limit from its row norms at that
// moment: min + thresh·(max − min). Every Project (the first included)
// scales each row whose norm exceeds the limit by limit/norm. As in the
// official code, a 1-D parameter gets an infinite limit and never changes,
// so passing a layer's bias beside its weight (the official code projects
// [fc_cb.weight, fc_cb.bias]) is harmless. The official trainer does not
// call it; it is here for the recipes that add the constraint.
type MaxNorm struct {
	thresh float64
	params []*autograd.Var
	limits []float32 // per parameter; nil until the first Project
}

// NewMaxNorm returns the projection onto the given parameters with the
// threshold fraction thresh (0.1 in the code that introduced it). It fails
// on a non-finite thresh, a nil or 0-dimensional parameter, or one without
// elements, whose row norms have no minimum.
func NewMaxNorm(thresh float64, params ...*autograd.Var) (*MaxNorm, error) {
	if math.IsNaN(thresh) || math.IsInf(thresh, 0) {
		return nil, fmt.Errorf("optim: MaxNorm threshold %v: want a finite value", thresh)
	}
	for i, p := range params {
		switch {
		case p == nil || p.Value == nil:
			return nil, fmt.Errorf("optim: MaxNorm parameter %d is nil", i)
		case p.Value.Dim() == 0 || p.Value.Numel() == 0:
			return nil, fmt.Errorf("optim: MaxNorm parameter %d of shape %v: want at least one row with elements", i, p.Value.Shape)
		}
	}
	return &MaxNorm{thresh: thresh, params: slices.Clone(params)}, nil
}

// Project scales the rows that exceed their limits, in place; the first
// call sets the limits.
func (m *MaxNorm) Project() {
	if m.limits == nil {
		m.limits = make([]float32, len(m.params))
		for i, p := range m.params {
			m.limits[i] = m.firstLimit(p.Value)
		}
	}
	for i, p := range m.params {
		limit := m.limits[i]
		rows := rowsOf(p.Value)
		for r := range rows {
			row := rows[r]
			if n := rowNorm(row); n > limit {
				asm.Scale(limit/n, row)
			}
		}
	}
}

// firstLimit is min + thresh·(max − min) of t's row norms, or +Inf for a
// 1-D t, whose "rows" are single elements.
func (m *MaxNorm) firstLimit(t *tensor.Tensor) float32 {
	if t.Dim() == 1 {
		return float32(math.Inf(1))
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, row := range rowsOf(t) {
		n := rowNorm(row)
		lo, hi = min(lo, n), max(hi, n)
	}
	// float32 arithmetic, as PyTorch does on the float32 norms.
	return lo + float32(m.thresh)*(hi-lo)
}

// rowsOf splits t's data into its slices along the first axis.
func rowsOf(t *tensor.Tensor) [][]float32 {
	n := t.Shape[0]
	cols := t.Numel() / n
	rows := make([][]float32, n)
	for r := range rows {
		rows[r] = t.Data[r*cols : (r+1)*cols : (r+1)*cols]
	}
	return rows
}

// rowNorm is the L2 norm of row, summed in float64 so that the comparison
// with the limit does not depend on the length of the row.
func rowNorm(row []float32) float32 {
	var s float64
	for _, v := range row {
		s += float64(v) * float64(v)
	}
	return float32(math.Sqrt(s))
}

// limitPrefix starts the State key of a limit; the parameter number follows.
const limitPrefix = "limit."

// State returns the limits as scalar tensors keyed "limit.<i>" by the
// parameter's position in NewMaxNorm's list; it is empty before the first
// Project. A resumed run must restore it: limits computed afresh from the
// trained rows would differ.
func (m *MaxNorm) State() map[string]*tensor.Tensor {
	state := map[string]*tensor.Tensor{}
	for i, l := range m.limits {
		state[limitPrefix+strconv.Itoa(i)] = tensor.Scalar(l)
	}
	return state
}

// LoadState restores the limits that State returned. An empty state means
// no Project has run yet. Otherwise every parameter needs its limit; an
// unknown key, a missing or non-scalar limit, or a finite limit for a 1-D
// parameter (whose limit is always infinite) fails, changing nothing.
func (m *MaxNorm) LoadState(state map[string]*tensor.Tensor) error {
	if len(state) == 0 {
		m.limits = nil
		return nil
	}
	limits := make([]float32, len(m.params))
	known := map[string]bool{}
	for i, p := range m.params {
		key := limitPrefix + strconv.Itoa(i)
		known[key] = true
		t, ok := state[key]
		switch {
		case !ok:
			return fmt.Errorf("optim: MaxNorm LoadState: no %q", key)
		case t == nil || t.Dim() != 0 || len(t.Data) != 1:
			return fmt.Errorf("optim: MaxNorm LoadState: %q: want a scalar", key)
		case p.Value.Dim() == 1 && !math.IsInf(float64(t.Data[0]), 1):
			return fmt.Errorf("optim: MaxNorm LoadState: %q: %v for a 1-D parameter, whose limit is +Inf", key, t.Data[0])
		}
		limits[i] = t.Data[0]
	}
	for key := range state {
		if !known[key] {
			return fmt.Errorf("optim: MaxNorm LoadState: unknown key %q (the projection has %d parameters)", key, len(m.params))
		}
	}
	m.limits = limits
	return nil
}
