package tensor

import (
	"fmt"

	"github.com/glmc/glmc/asm"
)

// MatMul returns the matrix product a·b. a is (m, k) or (B, m, k), b is
// (k, n) or (B, k, n); a 2-D operand is shared by every batch entry. The
// result is (m, n), or (B, m, n) when either operand is batched.
func MatMul(a, b *Tensor) *Tensor { return MatMulInto(nil, a, b, false, false) }

// MatMulT returns op(a)·op(b), where op transposes the last two dimensions
// of its operand when the matching flag is set; x·Wᵀ for a Linear layer is
// MatMulT(x, w, false, true). Shapes follow MatMul.
func MatMulT(a, b *Tensor, transA, transB bool) *Tensor {
	return MatMulInto(nil, a, b, transA, transB)
}

// MatMulInto stores op(a)·op(b) in dst and returns it; a nil dst is
// allocated, otherwise it must have the product's shape and must not
// overlap a or b. The products run through asm.Sgemm.
func MatMulInto(dst, a, b *Tensor, transA, transB bool) *Tensor {
	g := planMatMul(a, b, transA, transB)
	shape := []int{g.m, g.n}
	if g.batch > 0 {
		shape = []int{g.batch, g.m, g.n}
	}
	if dst == nil {
		dst = New(shape...)
	} else {
		mustShape("MatMulInto", dst, shape)
	}
	if g.batch > 0 && g.strideA > 0 && g.strideB == 0 && !transA {
		// A shared right operand: the batch is just more rows of A.
		asm.Sgemm(false, transB, g.batch*g.m, g.n, g.k, 1, a.Data, g.lda, b.Data, g.ldb, 0, dst.Data, max(g.n, 1))
		return dst
	}
	for i := range max(g.batch, 1) {
		asm.Sgemm(transA, transB, g.m, g.n, g.k, 1,
			a.Data[i*g.strideA:], g.lda, b.Data[i*g.strideB:], g.ldb,
			0, dst.Data[i*g.m*g.n:], max(g.n, 1))
	}
	return dst
}

// gemmPlan is the shape analysis of a (possibly batched) matrix product.
type gemmPlan struct {
	m, n, k          int
	batch            int // 0 when neither operand is batched
	lda, ldb         int
	strideA, strideB int // elements between batch entries; 0 for a shared operand
}

func planMatMul(a, b *Tensor, transA, transB bool) gemmPlan {
	bad := func(why string) {
		panic(fmt.Sprintf("tensor: MatMul: %s (a %v transA=%v, b %v transB=%v)", why, a.Shape, transA, b.Shape, transB))
	}
	if a.Dim() < 2 || a.Dim() > 3 || b.Dim() < 2 || b.Dim() > 3 {
		bad("operands must be 2-D or 3-D")
	}
	ra, ca := a.Shape[a.Dim()-2], a.Shape[a.Dim()-1]
	rb, cb := b.Shape[b.Dim()-2], b.Shape[b.Dim()-1]
	var g gemmPlan
	g.lda, g.ldb = max(ca, 1), max(cb, 1)
	g.m, g.k = ra, ca
	if transA {
		g.m, g.k = ca, ra
	}
	kb, n := rb, cb
	if transB {
		kb, n = cb, rb
	}
	if kb != g.k {
		bad(fmt.Sprintf("inner extents %d and %d differ", g.k, kb))
	}
	g.n = n
	if a.Dim() == 3 {
		g.batch, g.strideA = a.Shape[0], ra*ca
	}
	if b.Dim() == 3 {
		if a.Dim() == 3 && b.Shape[0] != g.batch {
			bad("batch sizes differ")
		}
		g.batch, g.strideB = b.Shape[0], rb*cb
	}
	return g
}
