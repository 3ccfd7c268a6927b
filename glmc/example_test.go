package glmc_test

import (
	"fmt"

	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/tensor"
)

func ExampleCutBox() {
	// λ = 0.75 on a 32×32 image: sides 32·√0.25 = 16, so 8 pixels each way
	// from the centre, clipped at the image border.
	fmt.Println(glmc.CutBox(32, 32, 0.75, 10, 20))
	fmt.Println(glmc.CutBox(32, 32, 0.75, 30, 2))
	// Output:
	// {2 12 18 28}
	// {22 0 32 10}
}

func ExampleSoftLabels() {
	w, err := glmc.LabelWeights([]int{400, 100}, 1) // w ∝ 1/n, summing to 2
	if err != nil {
		panic(err)
	}
	// Uniform batch label 0, re-balanced batch label 1, λ = 0.75.
	target, targetW := glmc.SoftLabels([]int{0}, []int{1}, w, 0.75)
	fmt.Println(w, target.Data, targetW.Data)
	// Output: [0.4 1.6] [0.75 0.25] [0.3 0.4]
}

func ExampleDraw() {
	// The draws of step 5 of epoch 2 depend on nothing else, so a resumed
	// run redraws them; λ and the box come from their own streams.
	d := glmc.Draw(3407, 2, 5, 32, 32)
	x1, x2 := tensor.Full(1, 64, 3, 32, 32), tensor.Full(1, 64, 3, 32, 32)
	xr1, xr2 := tensor.Full(0, 64, 3, 32, 32), tensor.Full(0, 64, 3, 32, 32)
	mixed := glmc.MixUp(x1, xr1, d.Lambda)
	cut := glmc.CutMix(x2, xr2, d.Box)
	fmt.Println(d == glmc.Draw(3407, 2, 5, 32, 32), mixed.Data[0] == float32(d.Lambda),
		tensor.Sum(cut) == float32(64*3*(32*32-d.Box.Area())))
	// Output: true true true
}
