package autograd_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/autograd/gradcheck"
	"github.com/glmc/glmc/tensor"
	"github.com/stretchr/testify/require"
)

// randn returns standard normal values from a stream named by seed.
func randn(seed uint64, shape ...int) *tensor.Tensor {
	return tensor.RandN(tensor.NewRNG(seed, 0xad), shape...)
}

// awayFromZero pushes every value at least d away from 0, keeping its sign,
// so that kinks at 0 (ReLU, Abs) lie outside the finite-difference step.
func awayFromZero(t *tensor.Tensor, d float32) *tensor.Tensor {
	return tensor.Map(t, func(x float32) float32 {
		if x < 0 {
			return x - d
		}
		return x + d
	})
}

// positive maps values to |x| + 0.5, a safe domain for Log, Sqrt and Pow.
func positive(t *tensor.Tensor) *tensor.Tensor {
	return tensor.AddScalar(tensor.Abs(t), 0.5)
}

// spaced returns a random permutation of 0.1·(0..n-1) plus small noise, in
// the given shape: no two values come within 0.05 of each other, so a
// maximum never changes hands within the step.
func spaced(seed uint64, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	r := tensor.NewRNG(seed, 0x5ace)
	for i, p := range r.Perm(t.Numel()) {
		t.Data[i] = 0.1*float32(p) + 0.02*r.Float32() - 1
	}
	return t
}

type gradCase struct {
	name   string
	inputs []*tensor.Tensor
	f      func(in []*autograd.Var) *autograd.Var
}

// unaryCase applies op to a single input.
func unaryCase(name string, x *tensor.Tensor, op func(*autograd.Var) *autograd.Var) gradCase {
	return gradCase{name, []*tensor.Tensor{x}, func(in []*autograd.Var) *autograd.Var { return op(in[0]) }}
}

// binaryCase applies op to two inputs.
func binaryCase(name string, a, b *tensor.Tensor, op func(a, b *autograd.Var) *autograd.Var) gradCase {
	return gradCase{name, []*tensor.Tensor{a, b}, func(in []*autograd.Var) *autograd.Var { return op(in[0], in[1]) }}
}

func gradCases() []gradCase {
	var cs []gradCase
	broadcast := [][2][]int{
		{{3, 4}, {3, 4}}, {{3, 1}, {1, 4}}, {{2, 3, 4}, {4}}, {{2, 3, 4}, {3, 1}},
		{{4}, {2, 3, 4}}, {{}, {2, 3}}, {{2, 1, 3}, {}},
	}
	binaries := []struct {
		name string
		op   func(a, b *autograd.Var) *autograd.Var
		b    func(*tensor.Tensor) *tensor.Tensor // domain of the second operand
	}{
		{"Add", autograd.Add, nil},
		{"Sub", autograd.Sub, nil},
		{"Mul", autograd.Mul, nil},
		{"Div", autograd.Div, positive},
		{"Maximum", autograd.Maximum, nil},
		{"Minimum", autograd.Minimum, nil},
	}
	for i, s := range broadcast {
		for _, op := range binaries {
			a, b := randn(uint64(i), s[0]...), randn(uint64(i+100), s[1]...)
			if op.b != nil {
				b = op.b(b)
			}
			if op.name == "Maximum" || op.name == "Minimum" {
				// |a| >= 0.5 > |b|: no ties within the step, and both win somewhere.
				a, b = awayFromZero(a, 0.5), tensor.MulScalar(tensor.Tanh(b), 0.25)
			}
			cs = append(cs, binaryCase(fmt.Sprintf("%s/%v,%v", op.name, s[0], s[1]), a, b, op.op))
		}
	}

	x := randn(1, 3, 4)
	cs = append(cs,
		unaryCase("AddScalar", x, func(v *autograd.Var) *autograd.Var { return autograd.AddScalar(v, 2) }),
		unaryCase("MulScalar", x, func(v *autograd.Var) *autograd.Var { return autograd.MulScalar(v, -3) }),
		unaryCase("Neg", x, autograd.Neg),
		unaryCase("Exp", x, autograd.Exp),
		unaryCase("Log", positive(x), autograd.Log),
		unaryCase("Sqrt", positive(x), autograd.Sqrt),
		unaryCase("Pow2", x, func(v *autograd.Var) *autograd.Var { return autograd.Pow(v, 2) }),
		unaryCase("Pow3", x, func(v *autograd.Var) *autograd.Var { return autograd.Pow(v, 3) }),
		unaryCase("Pow-1.5", positive(x), func(v *autograd.Var) *autograd.Var { return autograd.Pow(v, -1.5) }),
		unaryCase("Pow0.5", positive(x), func(v *autograd.Var) *autograd.Var { return autograd.Pow(v, 0.5) }),
		unaryCase("Abs", awayFromZero(x, 0.1), autograd.Abs),
		unaryCase("ReLU", awayFromZero(x, 0.1), autograd.ReLU),
		unaryCase("Tanh", x, autograd.Tanh),
		unaryCase("Sigmoid", x, autograd.Sigmoid),
		unaryCase("Clamp", spaced(2, 3, 4), func(v *autograd.Var) *autograd.Var { return autograd.Clamp(v, -0.47, 0.33) }),
		unaryCase("Sum", x, autograd.Sum),
		unaryCase("Mean", x, autograd.Mean),
	)

	// Reductions over every single axis, every pair and all axes, with
	// and without keepdim.
	for _, axes := range [][]int{{0}, {1}, {2}, {-1}, {0, 2}, {1, 2}, {}} {
		for _, keep := range []bool{false, true} {
			sfx := fmt.Sprintf("%v/keep=%v", axes, keep)
			cs = append(cs,
				unaryCase("SumAxes"+sfx, randn(3, 2, 3, 4), func(v *autograd.Var) *autograd.Var { return autograd.SumAxes(v, keep, axes...) }),
				unaryCase("MeanAxes"+sfx, randn(4, 2, 3, 4), func(v *autograd.Var) *autograd.Var { return autograd.MeanAxes(v, keep, axes...) }),
				unaryCase("MaxAxes"+sfx, spaced(5, 2, 3, 4), func(v *autograd.Var) *autograd.Var { return autograd.MaxAxes(v, keep, axes...) }),
			)
		}
	}

	matmuls := []struct{ a, b []int }{
		{[]int{3, 4}, []int{4, 5}}, {[]int{2, 3, 4}, []int{2, 4, 5}},
		{[]int{2, 3, 4}, []int{4, 5}}, {[]int{3, 4}, []int{2, 4, 5}},
	}
	for _, m := range matmuls {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			sa, sb := swapLast(m.a, tr[0]), swapLast(m.b, tr[1])
			cs = append(cs, binaryCase(fmt.Sprintf("MatMulT/%v,%v/trans%v", sa, sb, tr), randn(6, sa...), randn(7, sb...),
				func(a, b *autograd.Var) *autograd.Var { return autograd.MatMulT(a, b, tr[0], tr[1]) }))
		}
	}

	cs = append(cs, binaryCase("MatMul", randn(6, 3, 4), randn(7, 4, 5), autograd.MatMul))

	for axis := -1; axis < 3; axis++ {
		z := tensor.MulScalar(randn(8, 2, 3, 4), 2)
		cs = append(cs,
			unaryCase(fmt.Sprintf("Softmax/%d", axis), z, func(v *autograd.Var) *autograd.Var { return autograd.Softmax(v, axis) }),
			unaryCase(fmt.Sprintf("LogSoftmax/%d", axis), z, func(v *autograd.Var) *autograd.Var { return autograd.LogSoftmax(v, axis) }),
		)
	}

	y := randn(9, 2, 3, 4)
	cs = append(cs,
		unaryCase("Reshape", y, func(v *autograd.Var) *autograd.Var { return autograd.Reshape(v, 4, -1) }),
		unaryCase("BroadcastTo", randn(10, 3, 1), func(v *autograd.Var) *autograd.Var { return autograd.BroadcastTo(v, 2, 3, 4) }),
		unaryCase("Permute", y, func(v *autograd.Var) *autograd.Var { return autograd.Permute(v, 2, 0, 1) }),
		unaryCase("Transpose", y, func(v *autograd.Var) *autograd.Var { return autograd.Transpose(v, 0, -1) }),
		unaryCase("Narrow", y, func(v *autograd.Var) *autograd.Var { return autograd.Narrow(v, -1, 1, 2) }),
		unaryCase("Crop", y, func(v *autograd.Var) *autograd.Var { return autograd.Crop(v, []int{1, 0, 1}, []int{1, 2, 3}) }),
		unaryCase("Pad", y, func(v *autograd.Var) *autograd.Var { return autograd.Pad(v, [][2]int{{1, 0}, {0, 0}, {2, 1}}) }),
		unaryCase("IndexSelect", y, func(v *autograd.Var) *autograd.Var { return autograd.IndexSelect(v, 1, []int{2, 0, 2, 2}) }),
		gradCase{"Concat", []*tensor.Tensor{randn(11, 2, 1, 4), y, randn(12, 2, 2, 4)}, func(in []*autograd.Var) *autograd.Var {
			return autograd.Concat(1, in...)
		}},
		gradCase{"Stack", []*tensor.Tensor{randn(13, 3, 4), randn(14, 3, 4)}, func(in []*autograd.Var) *autograd.Var {
			return autograd.Stack(-1, in...)
		}},
		binaryCase("CrossEntropy", tensor.MulScalar(randn(15, 5, 7), 2), tensor.Softmax(randn(16, 5, 7), 1), autograd.CrossEntropy),
		binaryCase("CosineSimilarity", randn(17, 4, 6), randn(18, 4, 6), func(a, b *autograd.Var) *autograd.Var {
			return autograd.CosineSimilarity(a, b, 1, 1e-8)
		}),
		binaryCase("CosineSimilarity/axis0,broadcast", randn(19, 5, 3), randn(20, 5, 1), func(a, b *autograd.Var) *autograd.Var {
			return autograd.CosineSimilarity(a, b, 0, 1e-8)
		}),
		// A composite: a two-layer net with a loss, every rule chained.
		gradCase{"MLP", []*tensor.Tensor{randn(21, 5, 3), randn(22, 4, 3), randn(23, 4), randn(24, 2, 4)}, func(in []*autograd.Var) *autograd.Var {
			h := autograd.Tanh(autograd.Add(autograd.MatMulT(in[0], in[1], false, true), in[2]))
			return autograd.Mean(autograd.Pow(autograd.MatMulT(h, in[3], false, true), 2))
		}},
	)
	return cs
}

// swapLast returns shape with its last two extents swapped when trans is
// set: the stored shape of an operand used transposed.
func swapLast(shape []int, trans bool) []int {
	s := append([]int(nil), shape...)
	if trans {
		s[len(s)-1], s[len(s)-2] = s[len(s)-2], s[len(s)-1]
	}
	return s
}

func TestGradients(t *testing.T) {
	for _, c := range gradCases() {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, gradcheck.Check(c.f, c.inputs, gradcheck.Options{}))
		})
	}
}

func TestCrossEntropyValue(t *testing.T) {
	logits, target := randn(1, 3, 5), tensor.Softmax(randn(2, 3, 5), 1)
	var want float64
	for n := range 3 {
		row := logits.Data[n*5 : n*5+5]
		var m, s float64 = math.Inf(-1), 0
		for _, v := range row {
			m = math.Max(m, float64(v))
		}
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		for c, v := range row {
			want -= float64(target.Data[n*5+c]) * (float64(v) - m - math.Log(s))
		}
	}
	got := autograd.CrossEntropy(autograd.Const(logits), autograd.Const(target))
	require.InDelta(t, want/3, float64(got.Item()), 1e-6)
}

func TestCosineSimilarityValue(t *testing.T) {
	a := tensor.FromSlice([]float32{1, 2, 3, 0, 0, 0, 3, 0, 0}, 3, 3)
	b := tensor.FromSlice([]float32{2, 4, 6, 1, 1, 1, 0, 5, 0}, 3, 3)
	pa := autograd.Param(a)
	cos := autograd.CosineSimilarity(pa, autograd.Const(b), 1, 1e-8)
	require.InDeltaSlice(t, []float32{1, 0, 0}, cos.Value.Data, 1e-6, "parallel, zero and orthogonal rows")
	autograd.Sum(cos).Backward()
	for _, g := range pa.Grad.Data {
		require.False(t, math.IsNaN(float64(g)) || math.IsInf(float64(g), 0), "finite gradient at a zero vector")
	}
}
