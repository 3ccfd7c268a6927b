package tensor_test

import (
	"fmt"

	"github.com/glmc/glmc/tensor"
)

func ExampleAdd() {
	// A (2, 3) batch plus a (3) bias row: the bias is broadcast over rows.
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := tensor.FromSlice([]float32{10, 20, 30}, 3)
	fmt.Println(tensor.Add(x, b))
	// Output: Tensor[2 3][11 22 33 14 25 36]
}

func ExampleMatMulT() {
	// x·Wᵀ, the product of a Linear layer with weight W of shape (out, in).
	x := tensor.FromSlice([]float32{1, 2}, 1, 2)
	w := tensor.FromSlice([]float32{1, 0, 0, 1, 1, 1}, 3, 2)
	fmt.Println(tensor.MatMulT(x, w, false, true))
	// Output: Tensor[1 3][1 2 3]
}

func ExampleSumAxes() {
	x := tensor.FromSlice([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	fmt.Println(tensor.SumAxes(x, false, 0))
	fmt.Println(tensor.SumAxes(x, true, -1))
	// Output:
	// Tensor[3][5 7 9]
	// Tensor[2 1][6 15]
}

func ExampleSoftmax() {
	logits := tensor.FromSlice([]float32{0, 0, 1000, 1000}, 2, 2)
	fmt.Println(tensor.Softmax(logits, 1))
	// Output: Tensor[2 2][0.5 0.5 0.5 0.5]
}

func ExamplePad() {
	x := tensor.FromSlice([]float32{1, 2, 3, 4}, 2, 2)
	fmt.Println(tensor.Pad(x, [][2]int{{0, 0}, {1, 0}}))
	// Output: Tensor[2 3][0 1 2 0 3 4]
}

func ExampleNewRNG() {
	// One stream per (epoch, sample, purpose): the same numbers whatever
	// goroutine draws them.
	const seed, epoch, sample, purposeFlip = 3407, 2, 17, 1
	a := tensor.NewRNG(seed, epoch, sample, purposeFlip)
	b := tensor.NewRNG(seed, epoch, sample, purposeFlip)
	fmt.Println(a.Float64() == b.Float64(), a.Intn(10) == b.Intn(10))
	// Output: true true
}
