package autograd

import "github.com/glmc/glmc/tensor"

// MatMul returns the matrix product a·b, with the shapes of tensor.MatMul
// (2-D, or batched 3-D with 2-D operands shared across the batch).
func MatMul(a, b *Var) *Var { return MatMulT(a, b, false, false) }

// MatMulT returns op(a)·op(b), where op transposes the last two dimensions
// when the matching flag is set; a Linear layer is MatMulT(x, w, false,
// true). The backward products are GEMMs with the transposes folded in, so
// no operand is ever transposed in memory.
func MatMulT(a, b *Var, transA, transB bool) *Var {
	out := tensor.MatMulT(a.Value, b.Value, transA, transB)
	return Custom("MatMul", out, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		// With C = op(A)·op(B): dop(A) = dC·op(B)ᵀ and dop(B) = op(A)ᵀ·dC;
		// a transposed operand gets the transpose of its product.
		var da, db *tensor.Tensor
		if a.requiresGrad {
			if transA {
				da = tensor.MatMulT(b.Value, g, transB, true)
			} else {
				da = tensor.MatMulT(g, b.Value, false, !transB)
			}
			da = unbatch(da, a)
		}
		if b.requiresGrad {
			if transB {
				db = tensor.MatMulT(g, a.Value, true, transA)
			} else {
				db = tensor.MatMulT(a.Value, g, !transA, false)
			}
			db = unbatch(db, b)
		}
		return grads(da, db)
	})
}

// unbatch sums a batched gradient over the batch for a 2-D operand that was
// shared by every batch entry.
func unbatch(g *tensor.Tensor, v *Var) *tensor.Tensor {
	if g.Dim() == v.Value.Dim() {
		return g
	}
	return tensor.SumAxes(g, false, 0)
}
