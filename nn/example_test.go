package nn_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

func ExampleNewModel() {
	// The classic-width resnet32 with the official GLMC heads.
	m, err := nn.NewModel(nn.Config{Arch: "resnet32", NumClasses: 10, Width: 16}, tensor.NewRNG(1))
	if err != nil {
		panic(err)
	}
	x := autograd.Const(tensor.RandN(tensor.NewRNG(2), 2, 3, 32, 32))
	out := m.Heads(x) // training mode: all four heads
	fmt.Println(out.FC.Shape(), out.FCCB.Shape(), out.Z.Shape(), out.P.Shape())
	m.Train(false) // eval mode: running statistics, fc_cb logits
	fmt.Println(m.Forward(x).Shape(), len(m.Parameters()))
	// Output:
	// [2 10] [2 10] [2 128] [2 128]
	// [2 10] 101
}

func ExampleStateDict() {
	m, _ := nn.NewModel(nn.Config{Arch: "resnet18", NumClasses: 100}, tensor.NewRNG(1))
	entries := nn.StateDict(m)
	for _, e := range entries[:6] {
		fmt.Println(e.Name, e.Shape())
	}
	fmt.Println(entries[len(entries)-1].Name, entries[len(entries)-1].Shape())
	// Output:
	// conv1.0.weight [64 3 3 3]
	// conv1.1.weight [64]
	// conv1.1.bias [64]
	// conv1.1.running_mean [64]
	// conv1.1.running_var [64]
	// conv1.1.num_batches_tracked []
	// projection_head.0.bias [256]
}

func ExampleFunctionalConv2d() {
	x := autograd.Param(tensor.Ones(1, 1, 3, 3))
	w := autograd.Param(tensor.Ones(1, 1, 3, 3))
	y := nn.FunctionalConv2d(x, w, nil, 1, 1) // 3×3 box filter with zero padding
	fmt.Println(y.Value.Data)
	autograd.Sum(y).Backward()
	fmt.Println(w.Grad.Data)
	// Output:
	// [4 6 4 6 9 6 4 6 4]
	// [4 6 4 6 9 6 4 6 4]
}

func ExampleLoadModel() {
	// An official-layout PyTorch checkpoint ({'epoch', 'state_dict' with
	// DataParallel's "module." prefix, 'best_acc1'}): the architecture,
	// width, head width and classes are read off the tensor shapes.
	m, err := nn.LoadModel("testdata/golden/resnet32_w4.pth.tar", nn.Config{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s width %d head %d classes %d\n", m.Config.Arch, m.Config.Width, m.Config.HeadWidth, m.Config.NumClasses)

	// Saved again as safetensors, with the same official names.
	path := filepath.Join(os.TempDir(), "resnet32_w4.safetensors")
	defer os.Remove(path)
	if err := nn.SaveModel(path, m); err != nil {
		panic(err)
	}
	s, err := nn.LoadStateFile(path)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(s.Names), s.Names[0])
	// Output:
	// resnet32 width 4 head 128 classes 10
	// 194 conv1.weight
}
