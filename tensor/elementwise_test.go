package tensor

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

var broadcastCases = []struct{ a, b []int }{
	{[]int{3, 4}, []int{3, 4}},
	{[]int{3, 1}, []int{1, 4}},
	{[]int{2, 3, 4}, []int{4}},
	{[]int{2, 3, 4}, []int{3, 1}},
	{[]int{4}, []int{2, 3, 4}},
	{[]int{}, []int{2, 3}},
	{[]int{5}, []int{}},
	{[]int{}, []int{}},
	{[]int{2, 1, 4}, []int{3, 1}},
	{[]int{4, 1, 1}, []int{1, 5, 6}},
	{[]int{1, 1}, []int{1}},
	{[]int{0, 3}, []int{3}},
	{[]int{2, 1, 3, 1}, []int{1, 4, 1, 5}},
}

var binaryOps = []struct {
	name string
	f    func(a, b *Tensor) *Tensor
	ref  func(x, y float64) float64
}{
	{"Add", Add, func(x, y float64) float64 { return x + y }},
	{"Sub", Sub, func(x, y float64) float64 { return x - y }},
	{"Mul", Mul, func(x, y float64) float64 { return x * y }},
	{"Div", Div, func(x, y float64) float64 { return x / y }},
	{"Maximum", Maximum, math.Max},
	{"Minimum", Minimum, math.Min},
	{"Map2", func(a, b *Tensor) *Tensor {
		return Map2(a, b, func(x, y float32) float32 { return 2*x - y*y })
	}, func(x, y float64) float64 { return 2*x - y*y }},
}

// refBinary evaluates f over the broadcast of a and b by explicit indexing.
func refBinary(a, b *Tensor, f func(x, y float64) float64) ([]int, []float64) {
	shape := BroadcastShapes(a.Shape, b.Shape)
	out := make([]float64, numel(shape))
	for i := range out {
		idx := unravel(i, shape)
		out[i] = f(float64(a.Data[flatIn(idx, a.Shape)]), float64(b.Data[flatIn(idx, b.Shape)]))
	}
	return shape, out
}

func TestBinaryBroadcast(t *testing.T) {
	for _, op := range binaryOps {
		for i, c := range broadcastCases {
			t.Run(fmt.Sprintf("%s/%v+%v", op.name, c.a, c.b), func(t *testing.T) {
				a, b := randT(uint64(2*i), c.a...), randT(uint64(2*i+1), c.b...)
				a0, b0 := a.Clone(), b.Clone()
				shape, want := refBinary(a, b, op.ref)
				requireClose(t, op.f(a, b), shape, want, 1e-6)
				requireEqual(t, a0, a, "input a changed")
				requireEqual(t, b0, b, "input b changed")
			})
		}
	}
}

func TestBinaryInto(t *testing.T) {
	intos := []struct {
		name string
		into func(dst, a, b *Tensor) *Tensor
		f    func(a, b *Tensor) *Tensor
	}{{"AddInto", AddInto, Add}, {"SubInto", SubInto, Sub}, {"MulInto", MulInto, Mul}, {"DivInto", DivInto, Div}}
	for _, op := range intos {
		t.Run(op.name, func(t *testing.T) {
			a, b := randT(1, 2, 3, 4), randT(2, 3, 1)
			want := op.f(a, b)
			dst := New(2, 3, 4)
			require.Same(t, dst, op.into(dst, a, b))
			requireEqual(t, want, dst)
			// In place: dst aliases the full-shape operand.
			requireEqual(t, want, op.into(a, a, b))
			requirePanic(t, "destination has shape", func() { op.into(New(3, 4), a, b) })
		})
	}
}

func TestBroadcastMismatchPanics(t *testing.T) {
	requirePanic(t, "tensor: Add: shapes [2 3] and [2] do not broadcast", func() { Add(New(2, 3), New(2)) })
	requirePanic(t, "do not broadcast", func() { Mul(New(4, 3), New(2, 1, 2)) })
}

func TestUnary(t *testing.T) {
	x := randT(7, 3, 5)
	pos := Map(x, func(v float32) float32 { return float32(math.Abs(float64(v))) + 0.1 })
	cases := []struct {
		name string
		in   *Tensor
		f    func(*Tensor) *Tensor
		ref  func(float64) float64
	}{
		{"Neg", x, Neg, func(v float64) float64 { return -v }},
		{"Exp", x, Exp, math.Exp},
		{"Log", pos, Log, math.Log},
		{"Sqrt", pos, Sqrt, math.Sqrt},
		{"Abs", x, Abs, math.Abs},
		{"ReLU", x, ReLU, func(v float64) float64 { return math.Max(v, 0) }},
		{"Tanh", x, Tanh, math.Tanh},
		{"Sigmoid", x, Sigmoid, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
		{"Pow2", x, func(t *Tensor) *Tensor { return Pow(t, 2) }, func(v float64) float64 { return v * v }},
		{"Pow3", x, func(t *Tensor) *Tensor { return Pow(t, 3) }, func(v float64) float64 { return v * v * v }},
		{"Pow0.5", pos, func(t *Tensor) *Tensor { return Pow(t, 0.5) }, math.Sqrt},
		{"Pow-1.5", pos, func(t *Tensor) *Tensor { return Pow(t, -1.5) }, func(v float64) float64 { return math.Pow(v, -1.5) }},
		{"Pow1", x, func(t *Tensor) *Tensor { return Pow(t, 1) }, func(v float64) float64 { return v }},
		{"Clamp", x, func(t *Tensor) *Tensor { return Clamp(t, -0.5, 0.7) }, func(v float64) float64 { return math.Min(math.Max(v, -0.5), 0.7) }},
		{"AddScalar", x, func(t *Tensor) *Tensor { return AddScalar(t, 1.5) }, func(v float64) float64 { return v + 1.5 }},
		{"MulScalar", x, func(t *Tensor) *Tensor { return MulScalar(t, -3) }, func(v float64) float64 { return -3 * v }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in0 := c.in.Clone()
			want := make([]float64, c.in.Numel())
			for i, v := range c.in.Data {
				want[i] = c.ref(float64(v))
			}
			requireClose(t, c.f(c.in), c.in.Shape, want, 1e-6)
			requireEqual(t, in0, c.in, "input changed")
		})
	}
}

func TestSpecialValues(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	x := FromSlice([]float32{nan, -inf, inf, -0.5, 0, 200, -200}, 7)
	isNaN := func(v float32) bool { return v != v }
	require.True(t, isNaN(ReLU(x).Data[0]), "ReLU keeps NaN")
	require.True(t, isNaN(Clamp(x, -1, 1).Data[0]), "Clamp keeps NaN")
	require.True(t, isNaN(Maximum(x, Scalar(0)).Data[0]), "Maximum lets NaN win")
	require.True(t, isNaN(Minimum(Scalar(0), x).Data[0]), "Minimum lets NaN win")
	s := Sigmoid(x)
	require.Equal(t, []float32{1, 0}, []float32{s.Data[5], s.Data[6]}, "Sigmoid saturates without NaN")
	require.Equal(t, []float32{0, 1}, Sigmoid(x).Data[1:3])
	require.Equal(t, []float32{inf, inf, 0.5}, Abs(x).Data[1:4])
}

func TestMapInto(t *testing.T) {
	x := randT(3, 4, 2)
	want := Map(x, func(v float32) float32 { return v * v })
	require.Same(t, x, MapInto(x, x, func(v float32) float32 { return v * v }))
	requireEqual(t, want, x, "MapInto in place")
}
