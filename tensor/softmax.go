package tensor

import "math"

// Softmax returns exp(t) normalised to sum to 1 along axis (negative counts
// from the end). The maximum is subtracted first, so large logits do not
// overflow.
func Softmax(t *Tensor, axis int) *Tensor { return softmax("Softmax", t, axis, false) }

// LogSoftmax returns t - logsumexp(t) along axis, computed from the shifted
// logits so that it stays finite where Log(Softmax(t)) would give -Inf.
func LogSoftmax(t *Tensor, axis int) *Tensor { return softmax("LogSoftmax", t, axis, true) }

func softmax(op string, t *Tensor, axis int, log bool) *Tensor {
	axis = normAxis(op, axis, t.Dim())
	outer, n, inner := splitAt(t.Shape, axis)
	out := New(t.Shape...)
	for o := range outer {
		for j := range inner {
			base := o*n*inner + j
			x := t.Data[base:]
			y := out.Data[base:]
			m := float32(math.Inf(-1))
			for i := range n {
				m = maxNaN(x[i*inner], m)
			}
			if math.IsInf(float64(m), -1) {
				m = 0 // every logit is -Inf: let the result be NaN, not a shift by Inf
			}
			var s float64 // the exponentials are summed in float64 for accuracy, in a fixed order
			for i := range n {
				e := math.Exp(float64(x[i*inner] - m))
				s += e
				if !log {
					y[i*inner] = float32(e)
				}
			}
			if log {
				ls := float32(math.Log(s))
				for i := range n {
					y[i*inner] = x[i*inner] - m - ls
				}
				continue
			}
			r := 1 / s
			for i := range n {
				y[i*inner] = float32(float64(y[i*inner]) * r)
			}
		}
	}
	return out
}
