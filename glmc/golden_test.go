package glmc_test

import (
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/internal/goldenmodel"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/optim"
	"github.com/glmc/glmc/tensor"
)

// stepFixture is one GLMC step computed by PyTorch with the official
// formulation; glmc/testdata/README.md lists its tensors. It is rewritten
// by: /usr/bin/python3 tools/golden/gen_glmc.py
const stepFixture = "testdata/glmc_step.safetensors"

func loadStep(t *testing.T) *golden.File {
	t.Helper()
	f, err := golden.Load(stepFixture)
	if err != nil {
		t.Fatalf("%v (this fixture comes from /usr/bin/python3 tools/golden/gen_glmc.py)", err)
	}
	return f
}

// ints returns the I64 tensor name as ints.
func ints(t *testing.T, f *golden.File, name string) []int {
	t.Helper()
	_, v, err := f.Int64(name)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// scalar64 returns a F64 scalar of the fixture.
func scalar64(t *testing.T, f *golden.File, name string) float64 {
	t.Helper()
	_, v, err := f.Float64(name)
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

// metaFloat returns a number from the fixture's metadata.
func metaFloat(t *testing.T, f *golden.File, key string) float64 {
	t.Helper()
	var v float64
	if err := f.MetaJSON(key, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// expectExact requires ours to equal the fixture's tensor bit for bit:
// mixing and label arithmetic is a handful of float32 roundings that this
// package performs in PyTorch's order, so any difference is a bug.
func expectExact(t *testing.T, f *golden.File, name string, ours *tensor.Tensor) {
	t.Helper()
	want := goldenmodel.Tensor(t, f, name)
	if !slices.Equal(ours.Shape, want.Shape) {
		t.Errorf("%s: shape %v, torch %v", name, ours.Shape, want.Shape)
		return
	}
	for i := range want.Data {
		if math.Float32bits(ours.Data[i]) != math.Float32bits(want.Data[i]) {
			t.Errorf("%s[%d] = %g, torch %g (bitwise comparison)", name, i, ours.Data[i], want.Data[i])
			return
		}
	}
}

func TestGoldenCutBox(t *testing.T) {
	f := loadStep(t)
	in, boxes := ints(t, f, "bbox.input"), ints(t, f, "bbox.box")
	_, lams, err := f.Float64("bbox.lambda")
	if err != nil {
		t.Fatal(err)
	}
	for i, lam := range lams {
		h, w, row, col := in[4*i], in[4*i+1], in[4*i+2], in[4*i+3]
		b := boxes[4*i : 4*i+4]
		want := glmc.Box{R0: b[0], C0: b[1], R1: b[2], C1: b[3]}
		if got := glmc.CutBox(h, w, lam, row, col); got != want {
			t.Errorf("case %d: CutBox(%d, %d, %v, %d, %d) = %+v, official rand_bbox %+v", i, h, w, lam, row, col, got, want)
		}
	}
}

// stepDraws returns the fixture's λ and box, after checking that CutBox
// makes that box from λ and the drawn centre.
func stepDraws(t *testing.T, f *golden.File) glmc.Draws {
	t.Helper()
	b, centre := ints(t, f, "box"), ints(t, f, "centre")
	d := glmc.Draws{Lambda: scalar64(t, f, "lambda"), Box: glmc.Box{R0: b[0], C0: b[1], R1: b[2], C1: b[3]}}
	x := goldenmodel.Tensor(t, f, "x2")
	if got := glmc.CutBox(x.Shape[2], x.Shape[3], d.Lambda, centre[0], centre[1]); got != d.Box {
		t.Fatalf("CutBox from the fixture's centre %v: %+v, official %+v", centre, got, d.Box)
	}
	return d
}

func TestGoldenMixing(t *testing.T) {
	f := loadStep(t)
	d := stepDraws(t, f)
	x1, x2 := goldenmodel.Tensor(t, f, "x1"), goldenmodel.Tensor(t, f, "x2")
	xr1, xr2 := goldenmodel.Tensor(t, f, "xr1"), goldenmodel.Tensor(t, f, "xr2")
	expectExact(t, f, "mix_x", glmc.MixUp(x1, xr1, d.Lambda))
	expectExact(t, f, "cut_x", glmc.CutMix(x2, xr2, d.Box))

	var tau float64
	if err := f.MetaJSON("tau", &tau); err != nil {
		t.Fatal(err)
	}
	w, err := glmc.LabelWeights(ints(t, f, "counts"), tau)
	if err != nil {
		t.Fatal(err)
	}
	f.Expect(t, "weights", []int{len(w)}, w)
	// The labels are built from the fixture's weights so that a last-bit
	// difference in the weights (float64 pow) cannot hide a label error.
	_, weights := f.MustTensor(t, "weights")
	target, targetW := glmc.SoftLabels(ints(t, f, "y"), ints(t, f, "yr"), weights, d.Lambda)
	for _, name := range []string{"mixup_y", "cutmix_y"} {
		expectExact(t, f, name, target)
	}
	for _, name := range []string{"mixup_y_w", "cutmix_y_w"} {
		expectExact(t, f, name, targetW)
	}
}

// headsOf returns the fixture's outputs prefix+"out"+pass (pass 1 is the
// MixUp pass, 2 the CutMix pass) as gradient-requiring leaves.
func headsOf(t *testing.T, f *golden.File, prefix, pass string) nn.Outputs {
	t.Helper()
	leaf := func(head string) *autograd.Var {
		return autograd.Param(goldenmodel.Tensor(t, f, prefix+"out"+pass+"."+head))
	}
	return nn.Outputs{FC: leaf("fc"), FCCB: leaf("fc_cb"), Z: leaf("z"), P: leaf("p")}
}

// checkTerms compares the loss and its parts with the fixture's
// prefix+<term> tensors.
func checkTerms(t *testing.T, f *golden.File, prefix string, terms glmc.Terms) {
	t.Helper()
	for _, c := range []struct {
		name string
		v    *autograd.Var
	}{
		{"loss_mix", terms.Mix}, {"loss_cut", terms.Cut}, {"loss_mix_w", terms.MixW}, {"loss_cut_w", terms.CutW},
		{"contrastive", terms.Consistency}, {"loss", terms.Total},
	} {
		f.Expect(t, prefix+c.name, c.v.Shape(), c.v.Value.Data)
	}
}

func stepAlpha(t *testing.T, f *golden.File) float64 {
	t.Helper()
	alpha := glmc.Alpha(int(metaFloat(t, f, "epoch")), int(metaFloat(t, f, "epochs")))
	if want := metaFloat(t, f, "alpha"); alpha != want {
		t.Fatalf("Alpha = %v, the official 1 - (epoch/epochs)**2 = %v", alpha, want)
	}
	return alpha
}

// TestGoldenLossOnHeads runs the loss alone on given head outputs and
// checks its terms and its gradients with respect to fc, fc_cb and p; z
// must receive none, as the loss only sees it through a stop-gradient. The
// heads are PyTorch's outputs of the step (prefix "") and random ones
// ("heads."): at initialisation the z of the two passes are nearly
// parallel, so only the random heads tell the SimSiam pairings apart.
func TestGoldenLossOnHeads(t *testing.T) {
	f := loadStep(t)
	for _, prefix := range []string{"", "heads."} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			mix, cut := headsOf(t, f, prefix, "1"), headsOf(t, f, prefix, "2")
			terms := glmc.Loss(mix, cut, goldenmodel.Tensor(t, f, "mixup_y"), goldenmodel.Tensor(t, f, "mixup_y_w"),
				stepAlpha(t, f), metaFloat(t, f, "gamma"))
			checkTerms(t, f, prefix, terms)
			terms.Total.Backward()
			for i, h := range []nn.Outputs{mix, cut} {
				pass := strconv.Itoa(i + 1)
				for _, head := range []string{"fc", "fc_cb", "p"} {
					v := map[string]*autograd.Var{"fc": h.FC, "fc_cb": h.FCCB, "p": h.P}[head]
					if v.Grad == nil {
						t.Errorf("%sgrad_out%s.%s: no gradient", prefix, pass, head)
						continue
					}
					f.Expect(t, prefix+"grad_out"+pass+"."+head, v.Grad.Shape, v.Grad.Data)
				}
				if h.Z.Grad != nil {
					t.Errorf("%sout%s.z received a gradient through the stop-gradient", prefix, pass)
				}
			}
		})
	}
}

// stepLearner is the Learner of the fixture's step: its width-4 resnet32
// with the init.* state, torch.optim.SGD's settings from the metadata of
// f (the step's own fixture: lr, momentum, weight_decay), the label
// weights of LabelWeights and γ. The official Trainer projects nothing.
func stepLearner(t *testing.T, step, f *golden.File) *glmc.Learner {
	t.Helper()
	m := goldenmodel.Model(t, step, "init.")
	var o optim.Options
	for key, dst := range map[string]any{"lr": &o.LR, "momentum": &o.Momentum, "weight_decay": &o.WeightDecay} {
		if err := f.MetaJSON(key, dst); err != nil {
			t.Fatal(err)
		}
	}
	opt, err := optim.NewSGD(m.Parameters(), o)
	if err != nil {
		t.Fatal(err)
	}
	w, err := glmc.LabelWeights(ints(t, step, "counts"), metaFloat(t, step, "tau"))
	if err != nil {
		t.Fatal(err)
	}
	return &glmc.Learner{Model: m, Opt: opt, Weights: w, Gamma: metaFloat(t, step, "gamma")}
}

// checkUpdate compares what a step left in the model with the fixture f:
// the gradient of every parameter (grad.<name>; a parameter PyTorch gave
// none must have none), its value after the SGD update (after.<name>; a
// parameter without a gradient keeps its init.<name> of the step fixture
// bit for bit, no weight decay either) and the running statistics and
// batch counters (stats.<name>).
func checkUpdate(t *testing.T, step, f *golden.File, m *nn.Model) {
	t.Helper()
	params := nn.NamedParameters(m)
	if got, want := len(f.Names("grad.")), len(f.Names("after.")); got != want || got == 0 {
		t.Fatalf("%s: %d gradients and %d updated parameters", f.Path(), got, want)
	}
	for _, p := range params {
		if _, _, err := f.Shape("grad." + p.Name); err != nil {
			if p.Param.Grad != nil {
				t.Errorf("%s: a gradient, PyTorch has none", p.Name)
			}
			_, init := step.MustTensor(t, "init."+p.Name)
			if !slices.Equal(p.Param.Value.Data, init) {
				t.Errorf("%s changed, PyTorch's step leaves it alone (no gradient)", p.Name)
			}
			continue
		}
		goldenmodel.Expect(t, f, "grad."+p.Name, p.Param.Grad)
		goldenmodel.Expect(t, f, "after."+p.Name, p.Param.Value)
	}
	goldenmodel.ExpectStats(t, f, "stats.", m)
}

// TestGoldenStep is the parity of one full GLMC step, as Learner.GLMCStep
// takes it in training, with the official Trainer in PyTorch: from the
// fixture's four views, labels, λ and box, the loss terms, every parameter
// gradient, the parameters after the SGD update and the running statistics
// after both passes.
func TestGoldenStep(t *testing.T) {
	f := loadStep(t)
	l := stepLearner(t, f, f)
	p := glmc.Pair{X1: goldenmodel.Tensor(t, f, "x1"), X2: goldenmodel.Tensor(t, f, "x2"),
		XR1: goldenmodel.Tensor(t, f, "xr1"), XR2: goldenmodel.Tensor(t, f, "xr2"), Y: ints(t, f, "y"), YR: ints(t, f, "yr")}
	terms, err := l.GLMCStep(p, stepDraws(t, f), stepAlpha(t, f))
	if err != nil {
		t.Fatal(err)
	}
	checkTerms(t, f, "", terms)
	checkUpdate(t, f, f, l.Model)
}

// ceFixture is one step of the cross-entropy baseline from the initial
// state of stepFixture on its x1 and y, computed by PyTorch; written by
// the same script.
const ceFixture = "testdata/ce_step.safetensors"

// TestGoldenCEStep is the parity of Learner.CEStep with PyTorch: the
// loss, the gradients (none for fc and the contrast heads, which the
// baseline's fc_cb logits do not reach), the SGD update and the running
// statistics.
func TestGoldenCEStep(t *testing.T) {
	step := loadStep(t)
	f := golden.MustLoad(t, ceFixture)
	for key, want := range map[string]string{"init": "glmc_step.safetensors", "x": "x1", "y": "y"} {
		if got, _ := f.Meta(key); got != want {
			t.Fatalf("%s: metadata %s = %q, this test feeds %q", ceFixture, key, got, want)
		}
	}
	l := stepLearner(t, step, f)
	loss, err := l.CEStep(goldenmodel.Tensor(t, step, "x1"), ints(t, step, "y"))
	if err != nil {
		t.Fatal(err)
	}
	f.Expect(t, "loss", nil, []float32{loss})
	checkUpdate(t, step, f, l.Model)
}
