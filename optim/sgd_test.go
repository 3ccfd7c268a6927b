package optim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/tensor"
)

// sgdFixture is optim/testdata/sgd.safetensors, written by
// tools/golden/gen_optim.py (rerun that script, not gen_nn.py, if the
// version check fails on it).
const sgdFixture = "testdata/sgd.safetensors"

// ruleTol bounds max|ours − torch| / max|torch| for the update rule on
// given gradients. A few float32 operations per step over six steps, some
// of which PyTorch fuses into FMAs, give at most 1.7e-7 (measured, with
// every asm implementation); a wrong rule (a dampened first step, decay
// after the momentum) is off by percents, and even a rate off by 3e-6
// fails.
const ruleTol = 1e-6

// fixtureCase is one entry of the fixture's "cases" metadata.
type fixtureCase struct {
	Name   string
	LRs    []float64 `json:"lrs"`
	Groups []struct {
		Params      []int
		LR          float64
		Momentum    float64
		Dampening   float64
		WeightDecay float64 `json:"weight_decay"`
		Nesterov    bool
	}
}

// TestGoldenSGD replays torch.optim.SGD on the fixture's given
// gradients: plain, weight decay, momentum, dampening, Nesterov, two
// groups with their own rates, and a parameter without a gradient on the
// first step. Every parameter after every step and the final momentum
// buffers must match.
func TestGoldenSGD(t *testing.T) {
	f := golden.MustLoad(t, sgdFixture)
	var cases []fixtureCase
	if err := f.MetaJSON("cases", &cases); err != nil {
		t.Fatal(err)
	}
	var steps int
	if err := f.MetaJSON("steps", &steps); err != nil {
		t.Fatal(err)
	}
	nparams := len(f.Names("init."))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			params := make([]*autograd.Var, nparams)
			for i := range params {
				shape, data := f.MustTensor(t, fmt.Sprint("init.", i))
				params[i] = autograd.Param(tensor.FromSlice(data, shape...))
			}
			var groups []Group
			for _, g := range c.Groups {
				var ps []*autograd.Var
				for _, i := range g.Params {
					ps = append(ps, params[i])
				}
				groups = append(groups, Group{Params: ps, Options: Options{
					LR: g.LR, Momentum: g.Momentum, Dampening: g.Dampening, WeightDecay: g.WeightDecay, Nesterov: g.Nesterov}})
			}
			opt, err := NewSGDGroups(groups...)
			if err != nil {
				t.Fatal(err)
			}
			for k := range steps {
				if c.LRs != nil {
					opt.SetLR(c.LRs[k])
				}
				for i, p := range params {
					p.Grad = nil
					if name := fmt.Sprintf("grad.%d.%d", k, i); slices.Contains(f.Names(name), name) {
						shape, data := f.MustTensor(t, name)
						p.Grad = tensor.FromSlice(data, shape...)
					}
				}
				opt.Step()
				for i, p := range params {
					_, want := f.MustTensor(t, fmt.Sprintf("%s.step%d.%d", c.Name, k, i))
					expectClose(t, fmt.Sprintf("step %d parameter %d", k, i), p.Value.Data, want, ruleTol)
				}
			}
			state := opt.State()
			prefix := c.Name + ".buf."
			if len(state) != len(f.Names(prefix)) {
				t.Errorf("%d momentum buffers, PyTorch has %d", len(state), len(f.Names(prefix)))
			}
			for _, name := range f.Names(prefix) {
				key := bufPrefix + strings.TrimPrefix(name, prefix)
				_, want := f.MustTensor(t, name)
				if state[key] == nil {
					t.Errorf("no %s in State", key)
					continue
				}
				expectClose(t, key, state[key].Data, want, ruleTol)
			}
		})
	}
}

// expectClose fails when max|got − want| > tol·max|want| (+ tol, so
// that an all-zero want still has a scale).
func expectClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale, worst, at := 1.0, 0.0, 0
	for i := range want {
		scale = math.Max(scale, math.Abs(float64(want[i])))
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= worst) {
			worst, at = d, i
		}
	}
	if !(worst <= tol*scale) {
		t.Errorf("%s: max|got − want| = %.3g at [%d] (got %g, want %g) > %.3g", what, worst, at, got[at], want[at], tol*scale)
	}
}

// ref is the documented torch.optim.SGD rule in float64 for one parameter.
type ref struct {
	p, buf []float64
}

func (r *ref) step(o Options, grad []float32) {
	g := make([]float64, len(grad))
	for i := range g {
		g[i] = float64(grad[i]) + o.WeightDecay*r.p[i]
	}
	if o.Momentum != 0 {
		if r.buf == nil {
			r.buf = slices.Clone(g)
		} else {
			for i := range g {
				r.buf[i] = o.Momentum*r.buf[i] + (1-o.Dampening)*g[i]
			}
		}
		for i := range g {
			if o.Nesterov {
				g[i] += o.Momentum * r.buf[i]
			} else {
				g[i] = r.buf[i]
			}
		}
	}
	for i := range g {
		r.p[i] -= o.LR * g[i]
	}
}

// leastSquares is a small real training problem on autograd: the mean
// squared error of x·W + b against y, plus, from step lateFrom on only, a
// term in the extra parameter c, so that c has no gradient (and no
// momentum buffer) before then.
type leastSquares struct {
	x, y     *autograd.Var
	w, b, c  *autograd.Var
	lateFrom int
}

func newLeastSquares(seed uint64) *leastSquares {
	rng := tensor.NewRNG(seed)
	return &leastSquares{
		x:        autograd.Const(tensor.RandN(rng, 8, 5)),
		y:        autograd.Const(tensor.RandN(rng, 8, 3)),
		w:        autograd.Param(tensor.RandN(rng, 5, 3)),
		b:        autograd.Param(tensor.RandN(rng, 3)),
		c:        autograd.Param(tensor.RandN(rng, 2, 2)),
		lateFrom: 2,
	}
}

func (m *leastSquares) params() []*autograd.Var { return []*autograd.Var{m.w, m.b, m.c} }

// backward zeroes the gradients through opt and computes those of step k.
func (m *leastSquares) backward(opt *SGD, k int) {
	opt.ZeroGrad()
	r := autograd.Sub(autograd.Add(autograd.MatMul(m.x, m.w), m.b), m.y)
	loss := autograd.Mean(autograd.Mul(r, r))
	if k >= m.lateFrom {
		loss = autograd.Add(loss, autograd.Mean(autograd.Mul(m.c, m.c)))
	}
	loss.Backward()
}

// TestSGDRule trains leastSquares with every combination the options
// allow and follows each step with the float64 rule on the same
// gradients: the float32 parameters must stay within rounding of it, and
// Step must leave the gradients as backward made them.
func TestSGDRule(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
	}{
		{"plain", Options{LR: 0.1}},
		{"weight decay", Options{LR: 0.1, WeightDecay: 0.05}},
		{"momentum", Options{LR: 0.05, Momentum: 0.9}},
		{"momentum and decay", Options{LR: 0.05, Momentum: 0.9, WeightDecay: 5e-3}},
		{"dampening", Options{LR: 0.05, Momentum: 0.8, Dampening: 0.3, WeightDecay: 1e-2}},
		{"full dampening", Options{LR: 0.05, Momentum: 0.5, Dampening: 1}},
		{"nesterov", Options{LR: 0.05, Momentum: 0.9, Nesterov: true}},
		{"nesterov and decay", Options{LR: 0.05, Momentum: 0.9, WeightDecay: 5e-3, Nesterov: true}},
		{"zero rate", Options{Momentum: 0.9, WeightDecay: 0.1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newLeastSquares(1)
			opt, err := NewSGD(m.params(), c.opt)
			if err != nil {
				t.Fatal(err)
			}
			refs := make([]*ref, len(m.params()))
			for i, p := range m.params() {
				refs[i] = &ref{p: float64s(p.Value.Data)}
			}
			for k := range 6 {
				m.backward(opt, k)
				grads := make([][]float32, len(refs))
				for i, p := range m.params() {
					if p.Grad != nil {
						grads[i] = slices.Clone(p.Grad.Data)
						refs[i].step(c.opt, grads[i])
					}
				}
				opt.Step()
				for i, p := range m.params() {
					if grads[i] != nil && !slices.Equal(p.Grad.Data, grads[i]) {
						t.Fatalf("step %d: Step changed the gradient of parameter %d", k, i)
					}
					expectClose(t, fmt.Sprintf("step %d parameter %d", k, i), p.Value.Data, float32s(refs[i].p), ruleTol)
				}
			}
			if got := len(opt.State()); c.opt.Momentum != 0 && got != 3 || c.opt.Momentum == 0 && got != 0 {
				t.Errorf("%d momentum buffers", got)
			}
		})
	}
}

// TestSGDSkipsMissingGradients checks the first-step rule per parameter:
// c has no gradient for two steps, so it must not move (not even by
// weight decay) and must get its buffer only when its gradient arrives,
// as a plain copy of it.
func TestSGDSkipsMissingGradients(t *testing.T) {
	m := newLeastSquares(2)
	before := slices.Clone(m.c.Value.Data)
	o := Options{LR: 0.1, Momentum: 0.9, Dampening: 0.5, WeightDecay: 0.1}
	opt, err := NewSGD(m.params(), o)
	if err != nil {
		t.Fatal(err)
	}
	for k := range m.lateFrom {
		m.backward(opt, k)
		opt.Step()
	}
	if !slices.Equal(m.c.Value.Data, before) {
		t.Fatal("a parameter without a gradient moved")
	}
	if _, ok := opt.State()[bufPrefix+"2"]; ok {
		t.Fatal("a parameter without a gradient got a momentum buffer")
	}
	m.backward(opt, m.lateFrom)
	want := &ref{p: float64s(m.c.Value.Data)}
	want.step(o, m.c.Grad.Data)
	opt.Step()
	expectClose(t, "first step of c", m.c.Value.Data, float32s(want.p), ruleTol)
	expectClose(t, "first buffer of c", opt.State()[bufPrefix+"2"].Data, float32s(want.buf), ruleTol)
}

// TestSGDResume stops a run after each possible step, moves parameters
// and State into a fresh model and optimiser, and requires the continued
// run to end with the same bits as the uninterrupted one. Stopping before
// step lateFrom also covers a parameter that has no buffer yet.
func TestSGDResume(t *testing.T) {
	const steps = 6
	o := Options{LR: 0.05, Momentum: 0.9, WeightDecay: 5e-3, Nesterov: true}
	train := func(m *leastSquares, opt *SGD, from, to int) {
		for k := from; k < to; k++ {
			m.backward(opt, k)
			opt.Step()
		}
	}
	whole := newLeastSquares(3)
	opt, err := NewSGD(whole.params(), o)
	if err != nil {
		t.Fatal(err)
	}
	train(whole, opt, 0, steps)

	for stop := range steps {
		first := newLeastSquares(3)
		opt1, err := NewSGD(first.params(), o)
		if err != nil {
			t.Fatal(err)
		}
		train(first, opt1, 0, stop)
		state := opt1.State()

		second := newLeastSquares(3)
		for i, p := range second.params() {
			copy(p.Value.Data, first.params()[i].Value.Data)
		}
		opt2, err := NewSGD(second.params(), o)
		if err != nil {
			t.Fatal(err)
		}
		if err := opt2.LoadState(state); err != nil {
			t.Fatal(err)
		}
		for _, b := range state {
			clear(b.Data) // LoadState must have copied
		}
		train(second, opt2, stop, steps)
		for i, p := range second.params() {
			if !slices.Equal(p.Value.Data, whole.params()[i].Value.Data) {
				t.Errorf("stopped after %d steps: parameter %d differs from the uninterrupted run", stop, i)
			}
		}
	}
}

func TestSGDState(t *testing.T) {
	m := newLeastSquares(4)
	opt, err := NewSGD(m.params(), Options{LR: 0.1, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.State()) != 0 {
		t.Fatal("State before any step is not empty")
	}
	m.backward(opt, 0)
	opt.Step()
	state := opt.State()
	keys := []string{}
	for k := range state {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"momentum_buffer.0", "momentum_buffer.1"}; !slices.Equal(keys, want) {
		t.Fatalf("State keys %v, want %v", keys, want)
	}
	if !slices.Equal(state["momentum_buffer.0"].Shape, []int{5, 3}) {
		t.Errorf("buffer shape %v", state["momentum_buffer.0"].Shape)
	}
	clear(state["momentum_buffer.0"].Data)
	if slices.Equal(opt.State()["momentum_buffer.0"].Data, state["momentum_buffer.0"].Data) {
		t.Error("State returned the live buffer, not a copy")
	}

	bad := []struct {
		key  string
		t    *tensor.Tensor
		want string
	}{
		{"momentum_buffer", tensor.New(5, 3), "want momentum_buffer.<parameter number>"},
		{"buf.0", tensor.New(5, 3), "want momentum_buffer."},
		{"momentum_buffer.00", tensor.New(5, 3), "want momentum_buffer."},
		{"momentum_buffer.-1", tensor.New(5, 3), "has 3 parameters"},
		{"momentum_buffer.3", tensor.New(5, 3), "has 3 parameters"},
		{"momentum_buffer.0", tensor.New(3, 5), "want shape [5 3]"},
		{"momentum_buffer.0", nil, "want shape [5 3]"},
	}
	good := opt.State()
	for _, c := range bad {
		s := opt.State()
		s[c.key] = c.t
		err := opt.LoadState(s)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadState with %q: error %v, want one containing %q", c.key, err, c.want)
		}
	}
	if got := opt.State(); !slices.Equal(got["momentum_buffer.0"].Data, good["momentum_buffer.0"].Data) || len(got) != len(good) {
		t.Error("a failed LoadState changed the state")
	}
	if err := opt.LoadState(nil); err != nil || len(opt.State()) != 0 {
		t.Errorf("LoadState(nil): %v, %d buffers left", err, len(opt.State()))
	}

	plain, err := NewSGD(m.params(), Options{LR: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.LoadState(good); err == nil || !strings.Contains(err.Error(), "without momentum") {
		t.Errorf("buffers into an SGD without momentum: %v", err)
	}
}

func TestNewSGDErrors(t *testing.T) {
	p := autograd.Param(tensor.New(2))
	q := autograd.Param(tensor.New(3))
	cases := []struct {
		name   string
		groups []Group
		want   string
	}{
		{"no groups", nil, "empty parameter list"},
		{"empty group", []Group{{Options: Options{LR: 0.1}}}, "empty parameter list"},
		{"nil parameter", []Group{{Params: []*autograd.Var{p, nil}}}, "parameter 1 is nil"},
		{"twice", []Group{{Params: []*autograd.Var{p, q}}, {Params: []*autograd.Var{p}}}, "group 1: parameter 0 appears in more than one place"},
		{"negative rate", []Group{{Params: []*autograd.Var{p}, Options: Options{LR: -1}}}, "learning rate -1"},
		{"NaN momentum", []Group{{Params: []*autograd.Var{p}, Options: Options{Momentum: math.NaN()}}}, "momentum NaN"},
		{"infinite decay", []Group{{Params: []*autograd.Var{p}, Options: Options{WeightDecay: math.Inf(1)}}}, "weight decay +Inf"},
		{"negative dampening", []Group{{Params: []*autograd.Var{p}, Options: Options{Dampening: -0.1}}}, "dampening -0.1"},
		{"nesterov without momentum", []Group{{Params: []*autograd.Var{p}, Options: Options{Nesterov: true}}}, "Nesterov"},
		{"nesterov with dampening", []Group{{Params: []*autograd.Var{p}, Options: Options{Momentum: 0.9, Dampening: 0.1, Nesterov: true}}}, "Nesterov"},
	}
	for _, c := range cases {
		_, err := NewSGDGroups(c.groups...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestSGDSetLR(t *testing.T) {
	p := autograd.Param(tensor.FromSlice([]float32{1}, 1))
	q := autograd.Param(tensor.FromSlice([]float32{1}, 1))
	opt, err := NewSGDGroups(Group{Params: []*autograd.Var{p}, Options: Options{LR: 0.1}},
		Group{Params: []*autograd.Var{q}, Options: Options{LR: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	if opt.LR() != 0.1 {
		t.Errorf("LR() = %v, want the first group's 0.1", opt.LR())
	}
	opt.SetLR(0.5)
	p.Grad = tensor.FromSlice([]float32{1}, 1)
	q.Grad = tensor.FromSlice([]float32{1}, 1)
	opt.Step()
	if opt.LR() != 0.5 || p.Value.Data[0] != 0.5 || q.Value.Data[0] != 0.5 {
		t.Errorf("after SetLR(0.5) and a unit step: LR %v, parameters %v %v", opt.LR(), p.Value.Data[0], q.Value.Data[0])
	}
	for _, lr := range []float64{-1, math.NaN(), math.Inf(1)} {
		assert.Panics(t, func() { opt.SetLR(lr) }, "SetLR(%v)", lr)
	}
}

func float64s(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func float32s(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}
