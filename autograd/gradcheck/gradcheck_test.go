package gradcheck_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/autograd/gradcheck"
	"github.com/glmc/glmc/tensor"
	"github.com/stretchr/testify/require"
)

// square is y = x² recorded through autograd.Custom with the backward rule
// rule(x, gradOut), so tests can plant mistakes in it.
func square(rule func(x, g *tensor.Tensor) *tensor.Tensor) func(in []*autograd.Var) *autograd.Var {
	return func(in []*autograd.Var) *autograd.Var {
		x := in[0]
		return autograd.Custom("square", tensor.Mul(x.Value, x.Value), in, func(g *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{rule(x.Value, g)}
		})
	}
}

// rightRule is the correct gradient of x², 2x·g.
func rightRule(x, g *tensor.Tensor) *tensor.Tensor { return tensor.Mul(tensor.MulScalar(x, 2), g) }

func TestCheckAcceptsRightRules(t *testing.T) {
	x := tensor.RandN(tensor.NewRNG(1), 4, 5)
	require.NoError(t, gradcheck.Check(square(rightRule), []*tensor.Tensor{x}, gradcheck.Options{}))
	require.NoError(t, gradcheck.Check(square(rightRule), []*tensor.Tensor{x}, gradcheck.Options{MaxElems: 7}))
	// Large values: the step is relative, so the check still holds.
	big := tensor.MulScalar(x, 300)
	require.NoError(t, gradcheck.Check(square(rightRule), []*tensor.Tensor{big}, gradcheck.Options{}))
}

func TestCheckRejectsWrongRules(t *testing.T) {
	x := tensor.RandN(tensor.NewRNG(2), 4, 5)
	wrong := map[string]func(x, g *tensor.Tensor) *tensor.Tensor{
		"1% too large": func(x, g *tensor.Tensor) *tensor.Tensor {
			return tensor.MulScalar(rightRule(x, g), 1.01)
		},
		"ignores gradOut": func(x, _ *tensor.Tensor) *tensor.Tensor { return tensor.MulScalar(x, 2) },
		"one element with the wrong sign": func(x, g *tensor.Tensor) *tensor.Tensor {
			d := rightRule(x, g)
			d.Data[7] = -d.Data[7]
			return d
		},
		"elements swapped": func(x, g *tensor.Tensor) *tensor.Tensor {
			d := rightRule(x, g)
			d.Data[3], d.Data[11] = d.Data[11], d.Data[3]
			return d
		},
		"transposed": func(x, g *tensor.Tensor) *tensor.Tensor {
			return tensor.Transpose(rightRule(x, g).Reshape(5, 4), 0, 1).Reshape(4, 5)
		},
		"missing": func(x, _ *tensor.Tensor) *tensor.Tensor { return nil },
		"NaN": func(x, g *tensor.Tensor) *tensor.Tensor {
			d := rightRule(x, g)
			d.Data[0] = float32(math.NaN())
			return d
		},
	}
	for name, rule := range wrong {
		t.Run(name, func(t *testing.T) {
			err := gradcheck.Check(square(rule), []*tensor.Tensor{x}, gradcheck.Options{})
			require.Error(t, err)
			require.Contains(t, err.Error(), "input 0 (shape [4 5])")
		})
	}
}

func TestCheckWrongRuleOfOneInput(t *testing.T) {
	// a·b with a correct gradient for a and a wrong one for b: the error
	// names input 1.
	a, b := tensor.RandN(tensor.NewRNG(3), 3), tensor.RandN(tensor.NewRNG(4), 3)
	f := func(in []*autograd.Var) *autograd.Var {
		out := tensor.Mul(in[0].Value, in[1].Value)
		return autograd.Custom("mul", out, in, func(g *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{tensor.Mul(g, in[1].Value), tensor.Mul(g, in[1].Value)}
		})
	}
	err := gradcheck.Check(f, []*tensor.Tensor{a, b}, gradcheck.Options{})
	require.ErrorContains(t, err, "input 1")
}

func TestCheckNamesKinks(t *testing.T) {
	// ReLU just left of its kink: the step crosses it.
	x := tensor.FromSlice([]float32{-0.003, 1, -1}, 3)
	err := gradcheck.Check(func(in []*autograd.Var) *autograd.Var { return autograd.ReLU(in[0]) }, []*tensor.Tensor{x}, gradcheck.Options{})
	require.ErrorContains(t, err, "not smooth")
}

func TestCheckLeavesInputsAlone(t *testing.T) {
	x := tensor.RandN(tensor.NewRNG(5), 6)
	x0 := x.Clone()
	require.NoError(t, gradcheck.Check(square(rightRule), []*tensor.Tensor{x}, gradcheck.Options{}))
	require.Equal(t, x0.Data, x.Data)
}

func TestCheckNeedsARecordedOutput(t *testing.T) {
	x := tensor.RandN(tensor.NewRNG(6), 2)
	f := func(in []*autograd.Var) *autograd.Var { return autograd.Const(in[0].Value.Clone()) }
	require.ErrorContains(t, gradcheck.Check(f, []*tensor.Tensor{x}, gradcheck.Options{}), "does not depend")
}

func Example() {
	// Check a hand-written rule for y = x³, whose gradient is 3x²·gradOut.
	cube := func(in []*autograd.Var) *autograd.Var {
		x := in[0]
		return autograd.Custom("cube", tensor.Pow(x.Value, 3), in, func(g *tensor.Tensor) []*tensor.Tensor {
			return []*tensor.Tensor{tensor.Mul(g, tensor.MulScalar(tensor.Mul(x.Value, x.Value), 3))}
		})
	}
	x := tensor.RandN(tensor.NewRNG(7), 2, 3)
	err := gradcheck.Check(cube, []*tensor.Tensor{x}, gradcheck.Options{})
	fmt.Println(err)
	// Output: <nil>
}
