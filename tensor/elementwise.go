package tensor

import (
	"math"

	"github.com/glmc/glmc/asm"
)

// zipKernel computes one inner run of a binary op: dst[i] = f(x[i], y[i]),
// where x or y may hold a single value that stands for the whole run (a
// broadcast operand).
type zipKernel func(dst, x, y []float32)

// zip builds the zipKernel of a scalar function.
func zip(f func(x, y float32) float32) zipKernel {
	return func(dst, x, y []float32) {
		switch {
		case len(x) == 1 && len(dst) > 1:
			a := x[0]
			for i := range dst {
				dst[i] = f(a, y[i])
			}
		case len(y) == 1 && len(dst) > 1:
			b := y[0]
			for i := range dst {
				dst[i] = f(x[i], b)
			}
		default:
			for i := range dst {
				dst[i] = f(x[i], y[i])
			}
		}
	}
}

// withVector uses a SIMD kernel for runs without broadcasting, the common
// case on hot paths, and k otherwise.
func withVector(vec func(dst, x, y []float32), k zipKernel) zipKernel {
	return func(dst, x, y []float32) {
		if len(x) == len(dst) && len(y) == len(dst) {
			vec(dst, x, y)
			return
		}
		k(dst, x, y)
	}
}

var (
	addKernel = withVector(asm.Add, zip(func(x, y float32) float32 { return x + y }))
	subKernel = zip(func(x, y float32) float32 { return x - y })
	mulKernel = withVector(asm.Mul, zip(func(x, y float32) float32 { return x * y }))
	divKernel = zip(func(x, y float32) float32 { return x / y })
	maxKernel = zip(maxNaN)
	minKernel = zip(func(x, y float32) float32 { return -maxNaN(-x, -y) })
)

// maxNaN is the larger of x and y, or NaN if either is NaN (as in PyTorch).
func maxNaN(x, y float32) float32 {
	if x > y || x != x {
		return x
	}
	return y
}

// zipInto applies k over the broadcast of a and b into dst (allocated when
// nil, else it must have the broadcast shape; it may be a or b).
func zipInto(op string, dst, a, b *Tensor, k zipKernel) *Tensor {
	shape := broadcastShapes(op, a.Shape, b.Shape)
	if dst == nil {
		dst = New(shape...)
	} else {
		mustShape(op, dst, shape)
	}
	w := newWalk(shape, stridesOf(shape), broadcastStrides(a.Shape, shape), broadcastStrides(b.Shape, shape))
	n, na, nb := w.n(), max(w.step(1)*w.n(), 1), max(w.step(2)*w.n(), 1)
	w.each(func(off []int) {
		k(dst.Data[off[0]:off[0]+n], a.Data[off[1]:off[1]+na], b.Data[off[2]:off[2]+nb])
	})
	return dst
}

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor { return zipInto("Add", nil, a, b, addKernel) }

// AddInto stores a + b (broadcast) in dst and returns it; a nil dst is
// allocated. dst may be a or b when it has the broadcast shape.
func AddInto(dst, a, b *Tensor) *Tensor { return zipInto("AddInto", dst, a, b, addKernel) }

// Sub returns a - b with broadcasting.
func Sub(a, b *Tensor) *Tensor { return zipInto("Sub", nil, a, b, subKernel) }

// SubInto stores a - b (broadcast) in dst, as AddInto does.
func SubInto(dst, a, b *Tensor) *Tensor { return zipInto("SubInto", dst, a, b, subKernel) }

// Mul returns the element-wise product a·b with broadcasting.
func Mul(a, b *Tensor) *Tensor { return zipInto("Mul", nil, a, b, mulKernel) }

// MulInto stores a·b (broadcast) in dst, as AddInto does.
func MulInto(dst, a, b *Tensor) *Tensor { return zipInto("MulInto", dst, a, b, mulKernel) }

// Div returns a / b with broadcasting (IEEE semantics: x/0 is ±Inf or NaN).
func Div(a, b *Tensor) *Tensor { return zipInto("Div", nil, a, b, divKernel) }

// DivInto stores a / b (broadcast) in dst, as AddInto does.
func DivInto(dst, a, b *Tensor) *Tensor { return zipInto("DivInto", dst, a, b, divKernel) }

// Maximum returns the element-wise maximum of a and b with broadcasting;
// NaN wins, as in torch.maximum.
func Maximum(a, b *Tensor) *Tensor { return zipInto("Maximum", nil, a, b, maxKernel) }

// Minimum returns the element-wise minimum of a and b with broadcasting;
// NaN wins, as in torch.minimum.
func Minimum(a, b *Tensor) *Tensor { return zipInto("Minimum", nil, a, b, minKernel) }

// Map2 returns f applied element-wise over the broadcast of a and b. It is
// the escape hatch for element-wise rules without a named function (masks
// in backward rules, for instance).
func Map2(a, b *Tensor, f func(x, y float32) float32) *Tensor {
	return zipInto("Map2", nil, a, b, zip(f))
}

// Map returns f applied to every element of t.
func Map(t *Tensor, f func(x float32) float32) *Tensor { return MapInto(nil, t, f) }

// MapInto stores f applied to every element of t in dst and returns it; a
// nil dst is allocated, otherwise it must have t's shape (it may be t).
func MapInto(dst, t *Tensor, f func(x float32) float32) *Tensor {
	if dst == nil {
		dst = New(t.Shape...)
	} else {
		mustShape("MapInto", dst, t.Shape)
	}
	for i, v := range t.Data {
		dst.Data[i] = f(v)
	}
	return dst
}

// AddScalar returns t + s.
func AddScalar(t *Tensor, s float32) *Tensor {
	return Map(t, func(x float32) float32 { return x + s })
}

// MulScalar returns t·s.
func MulScalar(t *Tensor, s float32) *Tensor {
	out := t.Clone()
	asm.Scale(s, out.Data)
	return out
}

// Neg returns -t.
func Neg(t *Tensor) *Tensor { return MulScalar(t, -1) }

// Exp returns e^t element-wise.
func Exp(t *Tensor) *Tensor { return Map(t, exp32) }

// Log returns the natural logarithm element-wise (-Inf at 0, NaN below).
func Log(t *Tensor) *Tensor {
	return Map(t, func(x float32) float32 { return float32(math.Log(float64(x))) })
}

// Sqrt returns the square root element-wise (NaN below 0).
func Sqrt(t *Tensor) *Tensor {
	return Map(t, func(x float32) float32 { return float32(math.Sqrt(float64(x))) })
}

// Pow returns t raised to the power p element-wise.
func Pow(t *Tensor, p float32) *Tensor {
	switch p {
	case 1:
		return t.Clone()
	case 2:
		return Mul(t, t)
	case 0.5:
		return Sqrt(t)
	}
	return Map(t, func(x float32) float32 { return float32(math.Pow(float64(x), float64(p))) })
}

// Abs returns |t| element-wise.
func Abs(t *Tensor) *Tensor {
	return Map(t, func(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) })
}

// Clamp limits every element of t to [lo, hi]; NaN stays NaN. Use ±Inf for
// a one-sided clamp.
func Clamp(t *Tensor, lo, hi float32) *Tensor {
	return Map(t, func(x float32) float32 {
		switch {
		case x < lo:
			return lo
		case x > hi:
			return hi
		}
		return x
	})
}

// ReLU returns max(t, 0) element-wise; NaN stays NaN.
func ReLU(t *Tensor) *Tensor {
	out := New(t.Shape...)
	asm.Relu(out.Data, t.Data)
	return out
}

// Tanh returns the hyperbolic tangent element-wise.
func Tanh(t *Tensor) *Tensor {
	return Map(t, func(x float32) float32 { return float32(math.Tanh(float64(x))) })
}

// Sigmoid returns 1/(1+e^-t) element-wise, computed without overflow for
// large |t|.
func Sigmoid(t *Tensor) *Tensor {
	return Map(t, func(x float32) float32 {
		if x >= 0 {
			return float32(1 / (1 + math.Exp(-float64(x))))
		}
		e := math.Exp(float64(x))
		return float32(e / (1 + e))
	})
}

func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }
