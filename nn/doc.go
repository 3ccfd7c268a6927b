// Package nn holds the layers and models of the project: Conv2d (dense
// and grouped), BatchNorm2d, ReLU, max and global average pooling, Linear,
// Sequential, the option-A and option-B ResNet shortcuts, the official
// GLMC ResNets (resnet32 = ResNet_modify, the CIFAR resnet18/34/50, and
// the ImageNet-LT resnext50_32x4d and resnet50_lt of Resnet_LT.py) with
// their four heads, their PyTorch initialisation, and state dicts
// (safetensors files, official PyTorch checkpoints).
//
// # Numerics
//
// Every layer computes what PyTorch computes, to the parity tolerance of the
// golden tests (max|ours − torch| ≤ 1e-4·max|torch| + 1e-5 per tensor),
// with the same parameter and buffer names and shapes, so that state dicts
// move between the two without renaming. Layers record one fused op each
// through autograd.Custom: forward and backward are hand-written loops and
// GEMMs, llm.c-style pairs named <layer>Forward and <layer>Backward.
//
// # Layout and performance
//
// Activations are NCHW float32 tensors, as in PyTorch. Convolutions are
// im2col plus one asm.Sgemm per image, or per group of images on small
// maps (so the weights are packed once per ≥ 512 output columns): the
// (OC, IC·KH·KW) weights times the (IC·KH·KW, g·OH·OW) columns give the
// output planes. The columns are rebuilt in backward from the saved input
// rather than kept, so a layer holds no scratch memory between its forward
// and backward. For stride 1 the input gradient is the transposed
// convolution of the output gradient and runs like a forward pass (im2col
// of the gradient and one GEMM) instead of a scatter. Strided im2col and
// its adjoint go through phase planes (one strided pass per input plane,
// then contiguous shifted copies). The 3×3 stride-1 convolutions with
// enough channels run Winograd instead (winograd.go): F(4×4, 3×3) (36
// products over tiles of the whole batch in place of 144 multiply-adds per
// output tile) or F(2×2, 3×3) (16 in place of 36), for the forward pass,
// the input gradient and the weight gradient; a per-shape
// plan (planConv) picks the algorithm and tile of each pass from
// measurements, and GLMC_CONV=gemm|winograd|winograd2|winograd4|direct
// forces one. A grouped convolution, and the input gradient of the narrow
// strided 3×3 convolutions, run as direct convolutions (conv_shifted.go)
// whose kernel taps read the padded input planes in place, shifted, split
// over image blocks and groups. Batch norm, ReLU and
// the residual addition run as loops over contiguous channel planes, and a
// BatchNorm2d followed by ReLU (or by the residual addition and ReLU, at
// the end of a block) runs as one op.
//
// # Determinism
//
// Work is split between goroutines by output elements only (images,
// channels, GEMM tiles); reductions over the batch (weight gradients,
// batch statistics) use a blocking fixed by the shapes, never by the number
// of threads. So results are bit-identical for any GOMAXPROCS or
// asm.SetThreads value on a given SIMD implementation.
//
// # Concurrency
//
// A module must not run two forward passes at once in training mode: batch
// norm updates its running statistics there. Eval-mode forwards only read
// the module. Each layer parallelises its own work over asm.Threads()
// goroutines.
//
// # Modes
//
// Modules start in training mode. Train(false) switches batch norm to its
// running statistics (eval mode); Train(true) switches it back. The models'
// Forward returns the fc_cb logits (the official forward(x)); Heads returns
// all four GLMC outputs (the official forward(x, train=True)).
package nn
