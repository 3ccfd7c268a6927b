package tensor

import (
	"fmt"
	"math"
	"testing"
)

// refMatMul is the float64 triple loop for one (possibly batched) product.
func refMatMul(a, b *Tensor, transA, transB bool) ([]int, []float64) {
	g := planMatMul(a, b, transA, transB)
	at := func(t *Tensor, batch, i, j int, trans bool) float64 {
		r, c := t.Shape[t.Dim()-2], t.Shape[t.Dim()-1]
		if t.Dim() == 2 {
			batch = 0
		}
		if trans {
			i, j = j, i
		}
		return float64(t.Data[batch*r*c+i*c+j])
	}
	nb := max(g.batch, 1)
	out := make([]float64, nb*g.m*g.n)
	for bi := range nb {
		for i := range g.m {
			for j := range g.n {
				var s float64
				for p := range g.k {
					s += at(a, bi, i, p, transA) * at(b, bi, p, j, transB)
				}
				out[(bi*g.m+i)*g.n+j] = s
			}
		}
	}
	shape := []int{g.m, g.n}
	if g.batch > 0 {
		shape = []int{g.batch, g.m, g.n}
	}
	return shape, out
}

func TestMatMul(t *testing.T) {
	cases := []struct{ a, b []int }{
		{[]int{3, 4}, []int{4, 5}},
		{[]int{1, 1}, []int{1, 1}},
		{[]int{17, 33}, []int{33, 15}},
		{[]int{2, 3, 4}, []int{2, 4, 5}},
		{[]int{2, 3, 4}, []int{4, 5}},
		{[]int{3, 4}, []int{2, 4, 5}},
		{[]int{0, 4}, []int{4, 3}},
		{[]int{3, 0}, []int{0, 2}},
		{[]int{65, 130}, []int{130, 7}},
	}
	for i, c := range cases {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			sa, sb := swapLast(c.a, tr[0]), swapLast(c.b, tr[1])
			t.Run(fmt.Sprintf("%v×%v/trans%v", sa, sb, tr), func(t *testing.T) {
				a, b := randT(uint64(i), sa...), randT(uint64(i+50), sb...)
				shape, want := refMatMul(a, b, tr[0], tr[1])
				k := c.a[len(c.a)-1]
				requireClose(t, MatMulT(a, b, tr[0], tr[1]), shape, want, 1e-6*float64(k+1))
				dst := Full(float32(math.NaN()), shape...)
				MatMulInto(dst, a, b, tr[0], tr[1])
				requireClose(t, dst, shape, want, 1e-6*float64(k+1))
			})
		}
	}
	requirePanic(t, "inner extents 4 and 5 differ", func() { MatMul(New(3, 4), New(5, 2)) })
	requirePanic(t, "batch sizes differ", func() { MatMul(New(2, 3, 4), New(3, 4, 2)) })
	requirePanic(t, "2-D or 3-D", func() { MatMul(New(4), New(4, 2)) })
}

// swapLast returns shape with its last two extents swapped when trans is set,
// the stored shape of an operand that is used transposed.
func swapLast(shape []int, trans bool) []int {
	s := append([]int(nil), shape...)
	if trans {
		s[len(s)-1], s[len(s)-2] = s[len(s)-2], s[len(s)-1]
	}
	return s
}
