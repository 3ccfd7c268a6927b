package nn

import "github.com/glmc/glmc/autograd"

// Eval-time fusion of a convolution with the batch norm after it.
//
// In eval mode a batch norm is an affine map per channel, from its running
// statistics, so when nothing records gradients relu(bn(conv(x)) + res)
// needs no pass of its own over the convolution's output: the convolution
// applies the batch norm, the residual sum and the ReLU to each piece of
// its output right after writing it, while the piece is in cache (the
// epilogue). The float operations and their order are those of the
// separate passes (the convolution's value, then a·y + b, then + res,
// then the ReLU, by the same kernel over pieces that split its vectors
// alike), so the fused pass gives the same bits. In training mode, or when
// gradients are recorded, the ops run one after the other, as the backward
// pass needs the convolution's output.

// convBN returns relu(bn(conv(x)) + res), without the sum when res is nil
// and without the ReLU when relu is false, fused as above when it can be.
//
//	x (N, IC, H, W), res and the result (N, OC, OH, OW)
func convBN(conv *Conv2d, bn *BatchNorm2d, x, res *autograd.Var, relu bool) *autograd.Var {
	if !fusable(conv, bn, x, res) {
		return bn.forward(conv.Forward(x), res, relu)
	}
	s, _, bias := convOperands(x, conv.Weight, conv.Bias, conv.Stride, conv.Padding)
	g := bn.check([]int{s.n, s.oc, s.oh, s.ow}, res)
	mean, invstd := make([]float32, g.c), make([]float32, g.c)
	bn.runningStatistics(mean, invstd)
	var resData []float32
	if res != nil {
		resData = res.Value.Data
	}
	ep := newEpilogue(g, mean, invstd, bn.Weight.Value.Data, bn.Bias.Value.Data, resData, relu)
	y := x.Arena().Empty(s.n, s.oc, s.oh, s.ow) // every element written
	convForwardThen(s, y.Data, x.Value.Data, conv.Weight.Value.Data, bias, ep)
	return autograd.ConstIn(x.Arena(), y)
}

// fusable reports whether convBN can fuse: a dense convolution, a batch
// norm in eval mode and no operand that requires gradients.
func fusable(conv *Conv2d, bn *BatchNorm2d, x, res *autograd.Var) bool {
	if bn.training || conv.Groups > 1 {
		return false
	}
	for _, v := range []*autograd.Var{x, res, conv.Weight, conv.Bias, bn.Weight, bn.Bias} {
		if v != nil && v.RequiresGrad() {
			return false
		}
	}
	return true
}
