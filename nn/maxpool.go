package nn

import (
	"fmt"
	"math"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/tensor"
)

// MaxPool2d is torch.nn.MaxPool2d(Kernel, Stride, Padding) with square
// windows, no dilation and floor rounding: each output is the largest
// input of its window, the padding counting as −∞. The ImageNet ResNets
// use MaxPool2d{3, 2, 1} after their stem.
type MaxPool2d struct{ Kernel, Stride, Padding int }

// Forward pools x (N, C, H, W) into (N, C, OH, OW), OH = (H + 2·Padding −
// Kernel)/Stride + 1 (floor), likewise OW. The gradient of an output goes
// to the first largest input of its window in row-major order (or to the last NaN
// in it), as PyTorch's CPU kernel does.
func (p MaxPool2d) Forward(x *autograd.Var) *autograd.Var {
	sh := x.Shape()
	if len(sh) != 4 || p.Kernel <= 0 || p.Stride <= 0 || p.Padding < 0 || 2*p.Padding > p.Kernel ||
		sh[2]+2*p.Padding < p.Kernel || sh[3]+2*p.Padding < p.Kernel {
		panic(fmt.Sprintf("nn: MaxPool2d(kernel %d, stride %d, padding %d) of shape %v: want (N, C, H, W) at least as large as the window, padding at most half the kernel",
			p.Kernel, p.Stride, p.Padding, sh))
	}
	h, w := sh[2], sh[3]
	oh, ow := (h+2*p.Padding-p.Kernel)/p.Stride+1, (w+2*p.Padding-p.Kernel)/p.Stride+1
	y := x.Arena().New(sh[0], sh[1], oh, ow)
	if !x.RequiresGrad() {
		// No backward pass (evaluation): the values alone, by the
		// quicker separable loops.
		parallelFor(sh[0]*sh[1], func(i int) {
			maxPoolValues(p, h, w, oh, ow, y.Data[i*oh*ow:(i+1)*oh*ow], x.Value.Data[i*h*w:(i+1)*h*w])
		})
		return autograd.Custom("MaxPool2d", y, []*autograd.Var{x}, nil)
	}
	arg := make([]int32, y.Numel()) // (N, C, OH, OW): index of the chosen input in its plane
	parallelFor(sh[0]*sh[1], func(i int) {
		maxPoolPlane(p, h, w, oh, ow, y.Data[i*oh*ow:(i+1)*oh*ow], arg[i*oh*ow:(i+1)*oh*ow], x.Value.Data[i*h*w:(i+1)*h*w])
	})
	return autograd.Custom("MaxPool2d", y, []*autograd.Var{x}, func(gy *tensor.Tensor) []*tensor.Tensor {
		dx := x.Arena().New(sh...)
		parallelFor(sh[0]*sh[1], func(i int) {
			plane := dx.Data[i*h*w : (i+1)*h*w]
			for k, g := range gy.Data[i*oh*ow : (i+1)*oh*ow] {
				plane[arg[i*oh*ow+k]] += g
			}
		})
		return []*tensor.Tensor{dx}
	})
}

// maxPoolPlane pools one plane x (H, W) into y (OH, OW), recording in arg
// the index into x of each chosen input.
func maxPoolPlane(p MaxPool2d, h, w, oh, ow int, y []float32, arg []int32, x []float32) {
	for oy := range oh {
		ylo, yhi := max(0, oy*p.Stride-p.Padding), min(h, oy*p.Stride-p.Padding+p.Kernel)
		for ox := range ow {
			xlo, xhi := max(0, ox*p.Stride-p.Padding), min(w, ox*p.Stride-p.Padding+p.Kernel)
			best, at := float32(math.Inf(-1)), ylo*w+xlo
			for iy := ylo; iy < yhi; iy++ {
				for ix := xlo; ix < xhi; ix++ {
					if v := x[iy*w+ix]; v > best || v != v {
						best, at = v, iy*w+ix
					}
				}
			}
			y[oy*ow+ox], arg[oy*ow+ox] = best, int32(at)
		}
	}
}

// maxPoolValues is maxPoolPlane without the indices, separably: the
// largest of each input column over the window's rows, then of those over
// the window's columns, with Go's max, which is NaN if either value is and
// has no branch to mispredict on random data. The values are
// maxPoolPlane's, but of two zeros of opposite signs it takes +0.
func maxPoolValues(p MaxPool2d, h, w, oh, ow int, y, x []float32) {
	col := make([]float32, w) // the column maxima of the window's rows
	for oy := range oh {
		ylo, yhi := max(0, oy*p.Stride-p.Padding), min(h, oy*p.Stride-p.Padding+p.Kernel)
		copy(col, x[ylo*w:(ylo+1)*w])
		for iy := ylo + 1; iy < yhi; iy++ {
			for i, v := range x[iy*w : (iy+1)*w] {
				col[i] = max(col[i], v)
			}
		}
		out := y[oy*ow : (oy+1)*ow]
		for ox := range out {
			xlo, xhi := max(0, ox*p.Stride-p.Padding), min(w, ox*p.Stride-p.Padding+p.Kernel)
			best := col[xlo]
			for _, v := range col[xlo+1 : xhi] {
				best = max(best, v)
			}
			out[ox] = best
		}
	}
}

// Train does nothing: pooling has no mode.
func (MaxPool2d) Train(bool) {}

// Visit visits nothing: pooling has no state.
func (MaxPool2d) Visit(string, func(Entry)) {}

// Parameters returns nil: pooling has no parameters.
func (MaxPool2d) Parameters() []*autograd.Var { return nil }
