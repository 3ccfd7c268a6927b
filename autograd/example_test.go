package autograd_test

import (
	"fmt"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

func Example() {
	// loss = Σ (x·w - y)², the gradient of a tiny least-squares problem.
	x := autograd.Const(tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2))
	y := autograd.Const(tensor.FromSlice([]float32{1, 0}, 2, 1))
	w := autograd.Param(tensor.FromSlice([]float32{0.5, -0.5}, 2, 1))
	r := autograd.Sub(autograd.MatMul(x, w), y)
	loss := autograd.Sum(autograd.Mul(r, r))
	loss.Backward()
	fmt.Println(loss.Item(), w.Grad)
	// Output: 2.5 Tensor[2 1][-6 -10]
}

func ExampleCustom() {
	// A fused op with a hand-written rule: y = x³, dy/dx = 3x².
	cube := func(x *autograd.Var) *autograd.Var {
		out := tensor.Map(x.Value, func(v float32) float32 { return v * v * v })
		return autograd.Custom("Cube", out, []*autograd.Var{x}, func(g *tensor.Tensor) []*tensor.Tensor {
			dx := tensor.Map2(g, x.Value, func(g, v float32) float32 { return 3 * v * v * g })
			return []*tensor.Tensor{dx}
		})
	}
	x := autograd.Param(tensor.FromSlice([]float32{1, 2}, 2))
	autograd.Sum(cube(x)).Backward()
	fmt.Println(x.Grad)
	// Output: Tensor[2][3 12]
}

func ExampleNoGrad() {
	w := autograd.Param(tensor.FromSlice([]float32{2}, 1))
	x := autograd.Const(tensor.FromSlice([]float32{3}, 1))
	var y *autograd.Var
	autograd.NoGrad([]*autograd.Var{w}, func() { y = autograd.Mul(w, x) })
	fmt.Println(y.Item(), y.RequiresGrad(), w.RequiresGrad())
	// Output: 6 false true
}

func ExampleDetach() {
	// SimSiam-style stop-gradient: only p receives a gradient.
	p := autograd.Param(tensor.FromSlice([]float32{1, 0}, 1, 2))
	z := autograd.Param(tensor.FromSlice([]float32{1, 1}, 1, 2))
	loss := autograd.Neg(autograd.Mean(autograd.CosineSimilarity(p, autograd.Detach(z), 1, 1e-8)))
	loss.Backward()
	fmt.Printf("%.3f %v\n", loss.Item(), z.Grad)
	// Output: -0.707 <nil>
}
