package autograd

import (
	"math"

	"github.com/glmc/glmc/tensor"
)

// grads is shorthand for a rule's result.
func grads(g ...*tensor.Tensor) []*tensor.Tensor { return g }

// sumTo reduces a gradient of the broadcast shape back to v's shape, or
// returns nil when v needs no gradient.
func sumTo(g *tensor.Tensor, v *Var) *tensor.Tensor {
	switch {
	case !v.requiresGrad:
		return nil
	case tensor.SameShape(g, v.Value):
		return g
	}
	return tensor.SumTo(g, v.Value.Shape...)
}

// Add returns a + b with broadcasting.
func Add(a, b *Var) *Var {
	return Custom("Add", tensor.Add(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(sumTo(g, a), sumTo(g, b))
	})
}

// Sub returns a - b with broadcasting.
func Sub(a, b *Var) *Var {
	return Custom("Sub", tensor.Sub(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var db *tensor.Tensor
		if b.requiresGrad {
			db = tensor.Neg(sumTo(g, b))
		}
		return grads(sumTo(g, a), db)
	})
}

// Mul returns the element-wise product a·b with broadcasting.
func Mul(a, b *Var) *Var {
	return Custom("Mul", tensor.Mul(a.Value, b.Value), []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var da, db *tensor.Tensor
		if a.requiresGrad {
			da = sumTo(tensor.Mul(g, b.Value), a)
		}
		if b.requiresGrad {
			db = sumTo(tensor.Mul(g, a.Value), b)
		}
		return grads(da, db)
	})
}

// Div returns a / b with broadcasting.
func Div(a, b *Var) *Var {
	out := tensor.Div(a.Value, b.Value)
	return Custom("Div", out, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		var da, db *tensor.Tensor
		gb := tensor.Div(g, b.Value) // ∂/∂a = g/b
		if a.requiresGrad {
			da = sumTo(gb, a)
		}
		if b.requiresGrad { // ∂/∂b = -g·a/b² = -(g/b)·out
			db = sumTo(tensor.Neg(tensor.Mul(gb, out)), b)
		}
		return grads(da, db)
	})
}

// Maximum returns the element-wise maximum of a and b with broadcasting.
// Where they tie, each receives half of the gradient, as in torch.maximum.
func Maximum(a, b *Var) *Var {
	return extremum("Maximum", a, b, tensor.Maximum(a.Value, b.Value), 1)
}

// Minimum returns the element-wise minimum of a and b with broadcasting;
// ties split the gradient as in Maximum.
func Minimum(a, b *Var) *Var {
	return extremum("Minimum", a, b, tensor.Minimum(a.Value, b.Value), -1)
}

// extremum records Maximum (sign 1) or Minimum (sign -1): the gradient goes
// to the operand that won, halved on ties.
func extremum(name string, a, b *Var, out *tensor.Tensor, sign float32) *Var {
	return Custom(name, out, []*Var{a, b}, func(g *tensor.Tensor) []*tensor.Tensor {
		// share(x, y) is the fraction of the gradient that x gets against y.
		share := tensor.Map2(a.Value, b.Value, func(x, y float32) float32 {
			switch {
			case x == y:
				return 0.5
			case sign*x > sign*y || x != x:
				return 1
			}
			return 0
		})
		var da, db *tensor.Tensor
		if a.requiresGrad {
			da = sumTo(tensor.Mul(g, share), a)
		}
		if b.requiresGrad {
			db = sumTo(tensor.Mul(g, tensor.AddScalar(tensor.Neg(share), 1)), b)
		}
		return grads(da, db)
	})
}

// AddScalar returns v + s.
func AddScalar(v *Var, s float32) *Var {
	return Custom("AddScalar", tensor.AddScalar(v.Value, s), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(g)
	})
}

// MulScalar returns v·s.
func MulScalar(v *Var, s float32) *Var {
	return Custom("MulScalar", tensor.MulScalar(v.Value, s), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.MulScalar(g, s))
	})
}

// Neg returns -v.
func Neg(v *Var) *Var {
	return Custom("Neg", tensor.Neg(v.Value), []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		return grads(tensor.Neg(g))
	})
}

// pointwise records an element-wise op y = f(x) whose derivative at each
// element is d(x, y).
func pointwise(name string, v *Var, out *tensor.Tensor, d func(x, y float32) float32) *Var {
	return Custom(name, out, []*Var{v}, func(g *tensor.Tensor) []*tensor.Tensor {
		dx := tensor.New(g.Shape...)
		for i, gi := range g.Data {
			dx.Data[i] = gi * d(v.Value.Data[i], out.Data[i])
		}
		return grads(dx)
	})
}

// Exp returns e^v element-wise.
func Exp(v *Var) *Var {
	return pointwise("Exp", v, tensor.Exp(v.Value), func(_, y float32) float32 { return y })
}

// Log returns the natural logarithm element-wise.
func Log(v *Var) *Var {
	return pointwise("Log", v, tensor.Log(v.Value), func(x, _ float32) float32 { return 1 / x })
}

// Sqrt returns the square root element-wise.
func Sqrt(v *Var) *Var {
	return pointwise("Sqrt", v, tensor.Sqrt(v.Value), func(_, y float32) float32 { return 0.5 / y })
}

// Pow returns v raised to the constant power p element-wise.
func Pow(v *Var, p float32) *Var {
	return pointwise("Pow", v, tensor.Pow(v.Value, p), func(x, _ float32) float32 {
		if p == 2 {
			return 2 * x
		}
		return p * float32(math.Pow(float64(x), float64(p-1)))
	})
}

// Abs returns |v| element-wise; its gradient at 0 is 0, as in PyTorch.
func Abs(v *Var) *Var {
	return pointwise("Abs", v, tensor.Abs(v.Value), func(x, _ float32) float32 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	})
}

// Clamp limits v to [lo, hi]; the gradient flows where lo <= v <= hi, as in
// torch.clamp.
func Clamp(v *Var, lo, hi float32) *Var {
	return pointwise("Clamp", v, tensor.Clamp(v.Value, lo, hi), func(x, _ float32) float32 {
		return step(x >= lo && x <= hi)
	})
}

// ReLU returns max(v, 0); the gradient flows where v > 0.
func ReLU(v *Var) *Var {
	return pointwise("ReLU", v, tensor.ReLU(v.Value), func(_, y float32) float32 { return step(y > 0) })
}

// Tanh returns the hyperbolic tangent element-wise.
func Tanh(v *Var) *Var {
	return pointwise("Tanh", v, tensor.Tanh(v.Value), func(_, y float32) float32 { return 1 - y*y })
}

// Sigmoid returns 1/(1+e^-v) element-wise.
func Sigmoid(v *Var) *Var {
	return pointwise("Sigmoid", v, tensor.Sigmoid(v.Value), func(_, y float32) float32 { return y * (1 - y) })
}

func step(on bool) float32 {
	if on {
		return 1
	}
	return 0
}
