package optim_test

import (
	"fmt"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/optim"
	"github.com/glmc/glmc/tensor"
)

// The official CIFAR recipe on a tiny least-squares problem: SGD with
// momentum 0.9 and weight decay on every parameter, the rate set from the
// cosine schedule at the start of each epoch.
func Example() {
	x := autograd.Const(tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 3, 2))
	y := autograd.Const(tensor.FromSlice([]float32{1, 2, 3}, 3, 1))
	w := autograd.Param(tensor.New(2, 1))
	b := autograd.Param(tensor.New(1))
	loss := func() *autograd.Var {
		r := autograd.Sub(autograd.Add(autograd.MatMul(x, w), b), y)
		return autograd.Mean(autograd.Mul(r, r))
	}

	opt, err := optim.NewSGD([]*autograd.Var{w, b}, optim.Options{LR: 0.01, Momentum: 0.9, WeightDecay: 5e-3})
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.4f\n", loss().Item())
	sched := optim.Cosine{Base: opt.LR(), Epochs: 50}
	for epoch := range sched.Epochs {
		opt.SetLR(sched.LR(epoch))
		for range 4 { // batches
			opt.ZeroGrad()
			loss().Backward()
			opt.Step()
		}
	}
	fmt.Printf("loss %.4f\n", loss().Item())
	// Output:
	// loss 4.6667
	// loss 0.0000
}

// The official ImageNet-LT schedule: lr 0.1 over 135 epochs. Epoch 0 runs
// at the base rate before the first call of paco_adjust_learning_rate,
// which then restarts the warm-up at 0.01.
func ExamplePaco() {
	s := optim.Paco{Base: 0.1, Warmup: 10, Epochs: 135}
	for _, e := range []int{0, 1, 10, 11, 12, 70, 134} {
		fmt.Printf("epoch %3d: %.6f\n", e, s.LR(e))
	}
	// Output:
	// epoch   0: 0.100000
	// epoch   1: 0.010000
	// epoch  10: 0.100000
	// epoch  11: 0.110000
	// epoch  12: 0.099938
	// epoch  70: 0.053737
	// epoch 134: 0.000062
}

func ExampleSGD_State() {
	p := autograd.Param(tensor.FromSlice([]float32{1, 2}, 2))
	opt, err := optim.NewSGD([]*autograd.Var{p}, optim.Options{LR: 0.1, Momentum: 0.9})
	if err != nil {
		panic(err)
	}
	p.Grad = tensor.FromSlice([]float32{1, 1}, 2)
	opt.Step()
	state := opt.State() // save it with the parameters in the checkpoint

	resumed, err := optim.NewSGD([]*autograd.Var{p}, optim.Options{LR: 0.1, Momentum: 0.9})
	if err != nil {
		panic(err)
	}
	if err := resumed.LoadState(state); err != nil {
		panic(err)
	}
	fmt.Println(state["momentum_buffer.0"])
	// Output: Tensor[2][1 1]
}
