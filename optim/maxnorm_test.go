package optim

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/tensor"
)

// TestGoldenMaxNorm projects the fixture's [weight, bias] twice,
// with a perturbation between the calls, as MaxNorm_via_PGD.PGD does: the
// first call sets the limit, the second must reuse it, and the bias never
// changes.
func TestGoldenMaxNorm(t *testing.T) {
	f := golden.MustLoad(t, nnGolden+"maxnorm.safetensors")
	var thresh float64
	if err := f.MetaJSON("thresh", &thresh); err != nil {
		t.Fatal(err)
	}
	ws, w := f.MustTensor(t, "call1.weight_in")
	bs, b := f.MustTensor(t, "call1.bias_in")
	weight := autograd.Param(tensor.FromSlice(w, ws...))
	bias := autograd.Param(tensor.FromSlice(b, bs...))
	m, err := NewMaxNorm(thresh, weight, bias)
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []string{"call1.", "call2."} {
		_, w := f.MustTensor(t, call+"weight_in")
		_, b := f.MustTensor(t, call+"bias_in")
		copy(weight.Value.Data, w)
		copy(bias.Value.Data, b)
		m.Project()
		f.Expect(t, call+"weight_out", ws, weight.Value.Data)
		if _, want := f.MustTensor(t, call+"bias_out"); !slices.Equal(bias.Value.Data, want) || !slices.Equal(b, want) {
			t.Errorf("%s the bias changed", call)
		}
		if slices.Equal(weight.Value.Data, w) {
			t.Fatalf("%s no row was scaled; the fixture should exercise the projection", call)
		}
	}
	_, limit := f.MustTensor(t, "threshold")
	state := m.State()
	golden.Compare(t, "threshold", state["limit.0"].Data, limit)
	if !math.IsInf(float64(state["limit.1"].Data[0]), 1) {
		t.Errorf("bias limit %v, want +Inf", state["limit.1"].Data[0])
	}
}

// TestMaxNormRows works a 3-D parameter by hand: rows are the slices along
// the first axis, the limit comes from the first call only.
func TestMaxNormRows(t *testing.T) {
	// Row norms 1, 2 and 4; limit 1 + 0.5·(4 − 1) = 2.5.
	p := autograd.Param(tensor.FromSlice([]float32{
		1, 0, 0, 0,
		0, 0, 2, 0,
		2, 2, 2, 2,
	}, 3, 2, 2))
	m, err := NewMaxNorm(0.5, p)
	if err != nil {
		t.Fatal(err)
	}
	m.Project()
	want := []float32{1, 0, 0, 0, 0, 0, 2, 0, 1.25, 1.25, 1.25, 1.25}
	if !slices.Equal(p.Value.Data, want) {
		t.Fatalf("first projection: %v, want %v", p.Value.Data, want)
	}
	// Norms now 3, 0.5, 2.5: only the first row exceeds the fixed limit.
	copy(p.Value.Data, []float32{0, 3, 0, 0, 0, 0, 0.5, 0})
	m.Project()
	want = []float32{0, 2.5, 0, 0, 0, 0, 0.5, 0, 1.25, 1.25, 1.25, 1.25}
	if !slices.Equal(p.Value.Data, want) {
		t.Fatalf("second projection: %v, want %v", p.Value.Data, want)
	}
}

// TestMaxNormResume restores the limits into a fresh projection: with them
// it must act like the original; a projection that set its limits afresh
// from the trained rows would not.
func TestMaxNormResume(t *testing.T) {
	trained := func() *autograd.Var {
		return autograd.Param(tensor.FromSlice([]float32{9, 0, 0, 3, 0, 0, 0, 0, 3}, 3, 3))
	}
	a := autograd.Param(tensor.FromSlice([]float32{3, 0, 0, 1, 0, 0, 0, 0, 2}, 3, 3))
	m, err := NewMaxNorm(0, a)
	if err != nil {
		t.Fatal(err)
	}
	m.Project() // limit 1, the smallest row norm
	if got := m.State(); len(got) != 1 || got["limit.0"].Data[0] != 1 {
		t.Fatalf("State %v, want limit.0 = 1", got)
	}
	copy(a.Value.Data, trained().Value.Data) // what later steps might do

	resumed, fresh := trained(), trained()
	r, err := NewMaxNorm(0, resumed)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.LoadState(m.State()); err != nil {
		t.Fatal(err)
	}
	f, err := NewMaxNorm(0, fresh)
	if err != nil {
		t.Fatal(err)
	}
	m.Project()
	r.Project()
	f.Project()
	if want := []float32{1, 0, 0, 1, 0, 0, 0, 0, 1}; !slices.Equal(a.Value.Data, want) || !slices.Equal(resumed.Value.Data, want) {
		t.Fatalf("uninterrupted %v, resumed %v, want %v", a.Value.Data, resumed.Value.Data, want)
	}
	if slices.Equal(fresh.Value.Data, a.Value.Data) {
		t.Fatal("fresh limits gave the same result; the test would not notice a lost state")
	}
	if err := f.LoadState(map[string]*tensor.Tensor{}); err != nil || len(f.State()) != 0 {
		t.Errorf("empty state: %v, %v", err, f.State())
	}
}

func TestMaxNormErrors(t *testing.T) {
	w := autograd.Param(tensor.New(2, 3))
	b := autograd.Param(tensor.New(2))
	for _, c := range []struct {
		name   string
		thresh float64
		params []*autograd.Var
		want   string
	}{
		{"NaN", math.NaN(), []*autograd.Var{w}, "threshold NaN"},
		{"infinite", math.Inf(-1), []*autograd.Var{w}, "threshold -Inf"},
		{"nil", 0.1, []*autograd.Var{w, nil}, "parameter 1 is nil"},
		{"scalar", 0.1, []*autograd.Var{autograd.Param(tensor.Scalar(1))}, "shape []"},
		{"empty", 0.1, []*autograd.Var{autograd.Param(tensor.New(0, 3))}, "shape [0 3]"},
	} {
		if _, err := NewMaxNorm(c.thresh, c.params...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}

	m, err := NewMaxNorm(0.1, w, b)
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]*tensor.Tensor{"limit.0": tensor.Scalar(1), "limit.1": tensor.Scalar(float32(math.Inf(1)))}
	for _, c := range []struct {
		name  string
		edit  func(map[string]*tensor.Tensor)
		wantE string
	}{
		{"missing", func(s map[string]*tensor.Tensor) { delete(s, "limit.1") }, `no "limit.1"`},
		{"unknown", func(s map[string]*tensor.Tensor) { s["limit.2"] = tensor.Scalar(1) }, `unknown key "limit.2"`},
		{"not scalar", func(s map[string]*tensor.Tensor) { s["limit.0"] = tensor.New(1) }, "want a scalar"},
		{"finite bias limit", func(s map[string]*tensor.Tensor) { s["limit.1"] = tensor.Scalar(2) }, "1-D parameter"},
	} {
		s := map[string]*tensor.Tensor{}
		for k, v := range good {
			s[k] = v
		}
		c.edit(s)
		if err := m.LoadState(s); err == nil || !strings.Contains(err.Error(), c.wantE) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantE)
		}
		if len(m.State()) != 0 {
			t.Fatalf("%s: a failed LoadState set limits", c.name)
		}
	}
	if err := m.LoadState(good); err != nil || m.State()["limit.0"].Data[0] != 1 {
		t.Errorf("LoadState(good): %v, %v", err, m.State())
	}
}
