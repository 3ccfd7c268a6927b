// Package goldenmodel turns the PyTorch fixtures of package golden into
// nn values for the parity tests of nn, optim and glmc: tensors, state
// dicts and whole models.
//
// Models are built from the fixture's metadata and loaded through the
// production loader, nn.LoadState, so the tests take the path real
// checkpoints take, and a fixture that does not fit the model fails with
// LoadState's message naming the first key. It is a package of its own
// because golden cannot import nn: nn's own tests import golden.
package goldenmodel

import (
	"strings"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// archOf names an nn architecture of each official block class of the
// fixture metadata "block"; the metadata "blocks" then sets the depth.
var archOf = map[string]string{"BasicBlock_s": "resnet32", "BasicBlock": "resnet18", "BottleNeck": "resnet50"}

// Config returns the model a fixture describes in its metadata: block (or
// arch, which gen_ltmodels.py writes and which takes precedence), blocks,
// nf, hidden and classes, and groups and width_per_group where present.
func Config(t testing.TB, f *golden.File) nn.Config {
	t.Helper()
	block, _ := f.Meta("block")
	cfg := nn.Config{Arch: archOf[block]}
	if arch, ok := f.Meta("arch"); ok {
		cfg.Arch = arch
	}
	if cfg.Arch == "" {
		t.Fatalf("golden: %s: metadata block %q and no arch, want a block of BasicBlock_s, BasicBlock, BottleNeck", f.Path(), block)
	}
	for key, dst := range map[string]any{"blocks": &cfg.Blocks, "nf": &cfg.Width, "hidden": &cfg.HeadWidth, "classes": &cfg.NumClasses} {
		if err := f.MetaJSON(key, dst); err != nil {
			t.Fatal(err)
		}
	}
	for key, dst := range map[string]*int{"groups": &cfg.Groups, "width_per_group": &cfg.WidthPerGroup} {
		if _, ok := f.Meta(key); ok {
			if err := f.MetaJSON(key, dst); err != nil {
				t.Fatal(err)
			}
		}
	}
	return cfg
}

// State reads the tensors of f whose names start with prefix ("init.",
// "stats.", ...) as an nn.State with the prefix removed: I64 tensors
// (num_batches_tracked) as integers, the others as float32.
func State(t testing.TB, f *golden.File, prefix string) *nn.State {
	t.Helper()
	s := nn.NewState()
	for _, name := range f.Names(prefix) {
		shape, dtype, err := f.Shape(name)
		if err != nil {
			t.Fatal(err)
		}
		st := &nn.StateTensor{Shape: shape}
		if dtype == "I64" {
			_, st.Int, err = f.Int64(name)
		} else {
			_, st.Float, err = f.Tensor(name)
		}
		if err != nil {
			t.Fatal(err)
		}
		s.Add(strings.TrimPrefix(name, prefix), st)
	}
	return s
}

// Model builds the model of f's metadata and loads the state dict under
// prefix with nn.LoadState, which requires every entry of the model and
// no other. The model is in training mode, as NewModel leaves it.
func Model(t testing.TB, f *golden.File, prefix string) *nn.Model {
	t.Helper()
	m, err := nn.NewModel(Config(t, f), tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := nn.LoadState(m, State(t, f, prefix)); err != nil {
		t.Fatalf("%v (state %s* of %s)", err, prefix, f.Path())
	}
	return m
}

// Tensor returns the F32 tensor name of f.
func Tensor(t testing.TB, f *golden.File, name string) *tensor.Tensor {
	t.Helper()
	shape, data := f.MustTensor(t, name)
	return tensor.FromSlice(data, shape...)
}

// Expect compares v with the F32 tensor name of f at the parity
// tolerance (golden.File.Expect); a nil v, a gradient that never arrived,
// is an error.
func Expect(t testing.TB, f *golden.File, name string, v *tensor.Tensor) {
	t.Helper()
	if v == nil {
		t.Errorf("golden: %s: no value (gradient never arrived)", name)
		return
	}
	f.Expect(t, name, v.Shape, v.Data)
}

// Loss is the loss of gen_nn.py's model fixtures on the outputs of
// Model.Heads, with f's target and target_w tensors and its alpha and
// gamma metadata: α·CE(fc, target) + (1−α)·CE(fc_cb, target_w) −
// γ·mean cos(p, sg(z)), the three kinds of GLMC term on one forward.
func Loss(t testing.TB, f *golden.File, out nn.Outputs) *autograd.Var {
	t.Helper()
	var alpha, gamma float32
	for key, dst := range map[string]any{"alpha": &alpha, "gamma": &gamma} {
		if err := f.MetaJSON(key, dst); err != nil {
			t.Fatal(err)
		}
	}
	ce := autograd.Add(
		autograd.MulScalar(autograd.CrossEntropy(out.FC, autograd.Const(Tensor(t, f, "target"))), alpha),
		autograd.MulScalar(autograd.CrossEntropy(out.FCCB, autograd.Const(Tensor(t, f, "target_w"))), 1-alpha))
	cos := autograd.Mean(autograd.CosineSimilarity(out.P, autograd.Detach(out.Z), 1, 1e-8))
	return autograd.Sub(ce, autograd.MulScalar(cos, gamma))
}

// ExpectStats compares m's batch-norm running statistics and batch
// counters with f's tensors prefix+name, as a training forward leaves
// them.
func ExpectStats(t testing.TB, f *golden.File, prefix string, m *nn.Model) {
	t.Helper()
	for _, e := range nn.StateDict(m) {
		if e.Param == nil {
			ExpectEntry(t, f, prefix, e)
		}
	}
}

// ExpectEntry compares one state-dict entry with f's tensor prefix+name:
// a float entry at the parity tolerance, a batch counter exactly.
func ExpectEntry(t testing.TB, f *golden.File, prefix string, e nn.Entry) {
	t.Helper()
	name := prefix + e.Name
	if e.Count == nil {
		Expect(t, f, name, e.Tensor())
		return
	}
	if _, want, err := f.Int64(name); err != nil || len(want) != 1 || *e.Count != want[0] {
		t.Errorf("%s = %d, PyTorch %v (one count per training forward) %v", name, *e.Count, want, err)
	}
}
