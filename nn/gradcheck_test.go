package nn

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/autograd/gradcheck"
	"github.com/glmc/glmc/tensor"
)

// convCase is a convolution geometry of the conv tests.
type convCase struct {
	n, c, h, w, oc, kh, kw, stride, pad int
	bias                                bool
}

func (c convCase) String() string {
	return fmt.Sprintf("x%dx%dx%dx%d_w%dx%dx%d_s%d_p%d", c.n, c.c, c.h, c.w, c.oc, c.kh, c.kw, c.stride, c.pad)
}

// convCases cover both input-gradient algorithms, odd and non-square
// sizes, and the map size where im2col is skipped.
var convCases = []convCase{
	{2, 3, 7, 5, 4, 3, 3, 1, 1, true},   // stride 1: transposed-convolution input gradient
	{2, 3, 7, 5, 4, 3, 3, 2, 1, false},  // stride 2: col2im
	{1, 2, 6, 7, 3, 5, 5, 1, 2, true},   // 5×5
	{3, 2, 9, 9, 2, 3, 3, 1, 0, false},  // no padding
	{2, 3, 5, 6, 2, 1, 1, 2, 0, false},  // 1×1 stride 2 (option-B shortcut)
	{2, 2, 6, 5, 3, 3, 1, 1, 1, true},   // non-square kernel
	{2, 2, 4, 4, 3, 3, 3, 3, 2, false},  // stride 3, padding 2
	{2, 2, 24, 24, 3, 1, 1, 1, 0, true}, // 1×1 on a map large enough to skip im2col
}

func TestConv2dGradcheck(t *testing.T) {
	for _, c := range convCases {
		t.Run(c.String(), func(t *testing.T) {
			rng := tensor.NewRNG(5)
			inputs := []*tensor.Tensor{tensor.RandN(rng, c.n, c.c, c.h, c.w), tensor.RandN(rng, c.oc, c.c, c.kh, c.kw)}
			if c.bias {
				inputs = append(inputs, tensor.RandN(rng, c.oc))
			}
			err := gradcheck.Check(func(in []*autograd.Var) *autograd.Var {
				var b *autograd.Var
				if len(in) == 3 {
					b = in[2]
				}
				return FunctionalConv2d(in[0], in[1], b, c.stride, c.pad)
			}, inputs, gradcheck.Options{MaxElems: 60})
			if err != nil {
				t.Error(err)
			}
		})
	}
}

// TestConvGradHalves: the exported input and weight gradients are the two
// halves of FunctionalConv2d's backward rule (checked above against finite
// differences and in layers_test.go against PyTorch), bit for bit.
func TestConvGradHalves(t *testing.T) {
	for _, c := range convCases {
		t.Run(c.String(), func(t *testing.T) {
			rng := tensor.NewRNG(7)
			x := autograd.Param(tensor.RandN(rng, c.n, c.c, c.h, c.w))
			w := autograd.Param(tensor.RandN(rng, c.oc, c.c, c.kh, c.kw))
			y := FunctionalConv2d(x, w, nil, c.stride, c.pad)
			gy := tensor.RandN(rng, y.Shape()...)
			y.BackwardWith(gy)
			dx := Conv2dInputGrad(x.Shape(), w.Value, gy, c.stride, c.pad)
			dw := Conv2dWeightGrad(x.Value, w.Shape(), gy, c.stride, c.pad)
			for _, g := range []struct {
				name       string
				got, autod *tensor.Tensor
			}{{"Conv2dInputGrad", dx, x.Grad}, {"Conv2dWeightGrad", dw, w.Grad}} {
				if !slices.Equal(g.got.Shape, g.autod.Shape) || !slices.Equal(g.got.Data, g.autod.Data) {
					t.Errorf("%s differs from the backward rule's gradient", g.name)
				}
			}
		})
	}
	w, x := tensor.New(4, 3, 3, 3), tensor.New(2, 3, 8, 8)
	assert.Panics(t, func() { Conv2dInputGrad(x.Shape, w, tensor.New(2, 4, 7, 8), 1, 1) }, "input grad, wrong gy")
	assert.Panics(t, func() { Conv2dWeightGrad(x, w.Shape, tensor.New(2, 4, 4, 4), 1, 1) }, "weight grad, wrong gy")
}

func TestConv2dEmptyBatch(t *testing.T) {
	x := autograd.Param(tensor.New(0, 2, 5, 5))
	w := autograd.Param(tensor.Ones(3, 2, 3, 3))
	y := FunctionalConv2d(x, w, nil, 1, 1)
	if !slices.Equal(y.Shape(), []int{0, 3, 5, 5}) {
		t.Fatalf("shape %v", y.Shape())
	}
	y.BackwardWith(tensor.New(0, 3, 5, 5))
	if tensor.Sum(w.Grad) != 0 {
		t.Error("non-zero weight gradient from an empty batch")
	}
}

func TestBatchNorm2dGradcheck(t *testing.T) {
	rng := tensor.NewRNG(6)
	x := tensor.RandN(rng, 3, 4, 3, 5)
	res := tensor.RandN(rng, 3, 4, 3, 5)
	gamma, beta := tensor.RandU(rng, 0.5, 1.5, 4), tensor.RandN(rng, 4)
	for _, c := range []struct {
		name     string
		training bool
		residual bool
	}{{"train", true, false}, {"train_residual", true, true}, {"eval", false, false}, {"eval_residual", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			bn := NewBatchNorm2d(4)
			copy(bn.RunningMean.Data, []float32{0.1, -0.2, 0.3, 0})
			copy(bn.RunningVar.Data, []float32{0.5, 1.5, 2, 1})
			bn.Train(c.training)
			inputs := []*tensor.Tensor{x, gamma, beta}
			if c.residual {
				inputs = append(inputs, res)
			}
			err := gradcheck.Check(func(in []*autograd.Var) *autograd.Var {
				bn.Weight, bn.Bias = in[1], in[2]
				var r *autograd.Var
				if len(in) == 4 {
					r = in[3]
				}
				return bn.forward(in[0], r, false)
			}, inputs, gradcheck.Options{})
			if err != nil {
				t.Error(err)
			}
		})
	}
}

// TestFusedBatchNormReLU checks that the fused BN+ReLU (and BN + residual
// + ReLU) gives exactly the values and gradients of the separate ops.
func TestFusedBatchNormReLU(t *testing.T) {
	rng := tensor.NewRNG(7)
	x, res, gy := tensor.RandN(rng, 2, 3, 4, 4), tensor.RandN(rng, 2, 3, 4, 4), tensor.RandN(rng, 2, 3, 4, 4)
	run := func(fused, residual bool) (y *tensor.Tensor, grads []*tensor.Tensor) {
		bn := NewBatchNorm2d(3)
		xv, rv := autograd.Param(x.Clone()), autograd.Param(res.Clone())
		var r *autograd.Var
		if residual {
			r = rv
		}
		var out *autograd.Var
		if fused {
			out = bn.forward(xv, r, true)
		} else {
			out = bn.Forward(xv)
			if residual {
				out = autograd.Add(out, rv)
			}
			out = ReLU{}.Forward(out)
		}
		out.BackwardWith(gy)
		grads = []*tensor.Tensor{xv.Grad, bn.Weight.Grad, bn.Bias.Grad}
		if residual {
			grads = append(grads, rv.Grad)
		}
		return out.Value, grads
	}
	for _, residual := range []bool{false, true} {
		y1, g1 := run(true, residual)
		y2, g2 := run(false, residual)
		if !slices.Equal(y1.Data, y2.Data) {
			t.Errorf("residual=%v: fused output differs", residual)
		}
		for i := range g1 {
			if d := maxAbsDiff(g1[i].Data, g2[i].Data); d > 1e-6 {
				t.Errorf("residual=%v: gradient %d differs by %g", residual, i, d)
			}
		}
	}
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, float64(abs32(a[i]-b[i])))
	}
	return d
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func TestShortcutAGradcheck(t *testing.T) {
	for _, shape := range [][]int{{2, 4, 8, 8}, {2, 3, 7, 5}} {
		x := tensor.RandN(tensor.NewRNG(8), shape...)
		err := gradcheck.Check(func(in []*autograd.Var) *autograd.Var {
			return ShortcutA{Pad: 2}.Forward(in[0])
		}, []*tensor.Tensor{x}, gradcheck.Options{})
		if err != nil {
			t.Errorf("%v: %v", shape, err)
		}
	}
}

func TestLinearAndPoolGradcheck(t *testing.T) {
	rng := tensor.NewRNG(9)
	err := gradcheck.Check(func(in []*autograd.Var) *autograd.Var {
		return (&Linear{Weight: in[1], Bias: in[2]}).Forward(in[0])
	}, []*tensor.Tensor{tensor.RandN(rng, 3, 5), tensor.RandN(rng, 4, 5), tensor.RandN(rng, 4)}, gradcheck.Options{})
	if err != nil {
		t.Error("Linear:", err)
	}
	err = gradcheck.Check(func(in []*autograd.Var) *autograd.Var {
		return GlobalAvgPool{}.Forward(in[0])
	}, []*tensor.Tensor{tensor.RandN(rng, 2, 3, 3, 4)}, gradcheck.Options{})
	if err != nil {
		t.Error("GlobalAvgPool:", err)
	}
}

// TestThreadsBitIdentical runs a training forward and backward of a
// resnet32, of a bottleneck net and of a ResNeXt with 1, 2 and 3 threads: outputs,
// gradients and running statistics must be the same bits.
func TestThreadsBitIdentical(t *testing.T) {
	for _, cfg := range []Config{
		{Arch: "resnet32", NumClasses: 10, Width: 8, Blocks: []int{1, 1, 1}},
		{Arch: "resnet50", NumClasses: 10, Width: 4, HeadWidth: 16, Blocks: []int{1, 1, 1, 1}},
		{Arch: "resnext50_32x4d", NumClasses: 10, Width: 8, HeadWidth: 16, Blocks: []int{1, 1, 1, 1}, Groups: 4, WidthPerGroup: 16},
	} {
		var want [][]float32
		for _, threads := range []int{1, 2, 3} {
			prev := asm.SetThreads(threads)
			rng := tensor.NewRNG(10)
			m, err := NewModel(cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			x := tensor.RandN(rng, 20, 3, 32, 32)
			target := tensor.Softmax(tensor.RandN(rng, 20, 10), 1)
			out := m.Heads(autograd.Const(x))
			glmcLoss(out, target, target).Backward()
			got := [][]float32{out.FC.Value.Data, out.P.Value.Data}
			for _, e := range StateDict(m) {
				switch {
				case e.Param != nil:
					got = append(got, e.Param.Grad.Data)
				case e.Buffer != nil:
					got = append(got, e.Buffer.Data)
				}
			}
			asm.SetThreads(prev)
			if want == nil {
				want = got
				continue
			}
			for i := range want {
				if !slices.Equal(want[i], got[i]) {
					t.Errorf("%s: %d threads: tensor %d differs from 1 thread", cfg.Arch, threads, i)
				}
			}
		}
	}
}

// glmcLoss is a GLMC-shaped loss that reaches all four heads, for tests
// and benchmarks that need gradients everywhere: α·CE(fc, target) +
// (1−α)·CE(fc_cb, target_w) − γ·mean cos(p, sg(z)), α = 0.75, γ = 2.
func glmcLoss(out Outputs, target, targetW *tensor.Tensor) *autograd.Var {
	const alpha, gamma = 0.75, 2
	ce := autograd.Add(
		autograd.MulScalar(autograd.CrossEntropy(out.FC, autograd.Const(target)), alpha),
		autograd.MulScalar(autograd.CrossEntropy(out.FCCB, autograd.Const(targetW)), 1-alpha))
	cos := autograd.Mean(autograd.CosineSimilarity(out.P, autograd.Detach(out.Z), 1, 1e-8))
	return autograd.Sub(ce, autograd.MulScalar(cos, gamma))
}
