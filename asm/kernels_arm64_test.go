//go:build !purego

package asm

// Differential tests of the NEON kernels against the generic ones, run on
// amd64 hosts under qemu-aarch64-static (see .ci/qemu-arm64.sh). Every name
// here starts with neon so that it cannot clash with the package's shared
// test helpers.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// neonFusesFMA reports whether the Go compiler fuses a*b + c into one FMA
// on this architecture (arm64 does). The generic kernels are compiled Go,
// so only then do they round like the FMLA-based NEON ones, bit for bit.
var neonFusesFMA = neonMulAdd(1+1.0/(1<<12), 1+1.0/(1<<12), -(1+1.0/(1<<11))) != 0

// neonMulAdd is a*b + c as the compiler emits it: (1+2⁻¹²)² = 1+2⁻¹¹+2⁻²⁴
// rounds to 1+2⁻¹¹ in float32, so the unfused result is 0 and the fused
// one 2⁻²⁴.
//
//go:noinline
func neonMulAdd(a, b, c float32) float32 { return a*b + c }

// neonGuard is the number of NaN floats on each side of a test slice.
const neonGuard = 16

// neonGuarded places vals at offset inside NaN guards and returns the
// slice and a function that fails t if a guard was written.
func neonGuarded(t *testing.T, vals []float32, offset int) ([]float32, func()) {
	t.Helper()
	buf := make([]float32, offset+neonGuard+len(vals)+neonGuard)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	lo, hi := offset+neonGuard, offset+neonGuard+len(vals)
	s := buf[lo:hi:hi]
	copy(s, vals)
	return s, func() {
		t.Helper()
		for i, v := range buf {
			if (i < lo || i >= hi) && !math.IsNaN(float64(v)) {
				t.Fatalf("guard element %d (slice at %d..%d) overwritten with %v", i, lo, hi, v)
			}
		}
	}
}

// neonRand returns n values uniform in [-1, 1).
func neonRand(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// neonSpecial returns n values of which about a quarter are the values that
// comparisons and signs get wrong: ±0, ±Inf, NaNs with payloads and sign,
// subnormals and the extremes.
func neonSpecial(r *rand.Rand, n int) []float32 {
	specials := []float32{
		0, float32(math.Copysign(0, -1)),
		float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc00001),
		math.Float32frombits(0x7f800123), // signalling NaN with a payload
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		math.MaxFloat32, -math.MaxFloat32,
	}
	s := neonRand(r, n)
	for i := range s {
		if r.IntN(4) == 0 {
			s[i] = specials[r.IntN(len(specials))]
		}
	}
	return s
}

// neonSameBits reports whether a and b hold identical bit patterns.
func neonSameBits(a, b []float32) (int, bool) {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i, false
		}
	}
	return -1, true
}

// neonSameValues is neonSameBits, except that any NaN matches any NaN: which
// payload an arithmetic op keeps depends on operand order, which the
// compiler may swap in the generic code.
func neonSameValues(a, b []float32) (int, bool) {
	for i := range a {
		nanA, nanB := a[i] != a[i], b[i] != b[i]
		if nanA != nanB || !nanA && math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i, false
		}
	}
	return -1, true
}

// neonLengths are the vector lengths tested: every length up to a few
// times the 16-element unroll and the 32-element reduction block, then
// sizes around larger multiples.
func neonLengths() []int {
	var ns []int
	for n := 0; n <= 70; n++ {
		ns = append(ns, n)
	}
	return append(ns, 95, 96, 97, 127, 128, 129, 1023, 1024, 1027)
}

func TestNEONUsable(t *testing.T) {
	if !neonImpl.usable() {
		t.Skip("CPU reports no ASIMD")
	}
	if got := Available(); got[len(got)-1] != "neon" {
		t.Errorf("Available() = %v; want neon last", got)
	}
	if !neonFusesFMA {
		t.Log("compiler does not fuse a*b+c: FMA-based results are checked with a tolerance only")
	}
}

// TestNEONSgemmKernel checks the 8×12 micro-kernel against the generic 4×4
// kernel run on its six sub-tiles (bit for bit when the compiler fuses
// multiply-adds, as the generic sums are then computed in the same order
// with the same roundings), against a float64 reference, and against the
// contract: C is not read when accumulate is false (it starts as NaN), the
// accumulated tile is exactly C + (the overwritten tile), and nothing
// outside the tile is written.
func TestNEONSgemmKernel(t *testing.T) {
	const nr = 12
	if !neonImpl.usable() {
		t.Skip("CPU reports no ASIMD")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, kc := range []int{0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 64, 255, 256, 257} {
		for _, ldc := range []int{nr, nr + 1, 17, 32} {
			for _, accumulate := range []bool{false, true} {
				name := fmt.Sprintf("kc=%d/ldc=%d/accumulate=%v", kc, ldc, accumulate)
				t.Run(name, func(t *testing.T) {
					neonCheckKernel(t, r, kc, ldc, accumulate, kc%4)
				})
			}
		}
	}
}

func neonCheckKernel(t *testing.T, r *rand.Rand, kc, ldc int, accumulate bool, offset int) {
	const mr, nr = 8, 12
	aVals, bVals := neonRand(r, mr*kc), neonRand(r, nr*kc)
	a, checkA := neonGuarded(t, aVals, offset)
	b, checkB := neonGuarded(t, bVals, 3-offset)
	// C is mr rows of ldc; columns nr..ldc-1 of each row are NaN and must
	// stay so, and the tile starts as NaN unless accumulating.
	cVals := make([]float32, (mr-1)*ldc+nr)
	for i := range cVals {
		cVals[i] = float32(math.NaN())
		if accumulate && i%ldc < nr {
			cVals[i] = 2*r.Float32() - 1
		}
	}
	c, checkC := neonGuarded(t, cVals, offset)
	pa, pb := new(float32), new(float32) // kc = 0: the panels are never read
	if kc > 0 {
		pa, pb = &a[0], &b[0]
	}
	sgemmKernel8x12NEON(kc, pa, pb, &c[0], ldc, accumulate)
	checkA()
	checkB()
	checkC()
	if i, ok := neonSameBits(a, aVals); !ok {
		t.Fatalf("A changed at %d", i)
	}
	if i, ok := neonSameBits(b, bVals); !ok {
		t.Fatalf("B changed at %d", i)
	}
	for i := range c {
		if i%ldc >= nr && !math.IsNaN(float64(c[i])) {
			t.Fatalf("C[%d][%d] outside the tile written: %v", i/ldc, i%ldc, c[i])
		}
	}

	// The overwritten tile, into a scratch tile with ldc = nr.
	var tile [mr * nr]float32
	for i := range tile {
		tile[i] = float32(math.NaN())
	}
	sgemmKernel8x12NEON(kc, pa, pb, &tile[0], nr, false)

	for i := 0; i < mr; i++ {
		for j := 0; j < nr; j++ {
			got := c[i*ldc+j]
			want := tile[i*nr+j]
			if accumulate {
				want = cVals[i*ldc+j] + tile[i*nr+j]
			}
			if math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("C[%d][%d] = %v; want %v (the overwritten tile, added to C if accumulating)", i, j, got, want)
			}
			var ref, mag float64
			for p := 0; p < kc; p++ {
				x := float64(aVals[p*mr+i]) * float64(bVals[p*nr+j])
				ref += x
				mag += math.Abs(x)
			}
			if accumulate {
				ref += float64(cVals[i*ldc+j])
				mag += math.Abs(float64(cVals[i*ldc+j]))
			}
			if tol := float64(kc+2) * 0x1p-24 * mag; math.Abs(float64(got)-ref) > tol {
				t.Fatalf("C[%d][%d] = %v; float64 reference %v (tolerance %g)", i, j, got, ref, tol)
			}
		}
	}

	if !neonFusesFMA {
		return
	}
	// The generic kernel on each 4×4 sub-tile, from sub-panels repacked
	// out of the 8- and 12-wide ones.
	want := append([]float32(nil), cVals...)
	subA, subB := make([]float32, 4*kc+1), make([]float32, 4*kc+1)
	for rb := 0; rb < mr/4; rb++ {
		for p := 0; p < kc; p++ {
			copy(subA[4*p:4*p+4], aVals[p*mr+4*rb:])
		}
		for cb := 0; cb < nr/4; cb++ {
			for p := 0; p < kc; p++ {
				copy(subB[4*p:4*p+4], bVals[p*nr+4*cb:])
			}
			sgemmKernel4x4Generic(kc, &subA[0], &subB[0], &want[4*rb*ldc+4*cb], ldc, accumulate)
		}
	}
	if i, ok := neonSameBits(c, want); !ok {
		t.Fatalf("C[%d][%d] = %v; generic kernel gives %v", i/ldc, i%ldc, c[i], want[i])
	}
}

// neonVecCase runs check over every length and start offset 0..3.
func neonVecCase(t *testing.T, name string, check func(t *testing.T, r *rand.Rand, n, offset int)) {
	t.Run(name, func(t *testing.T) {
		if !neonImpl.usable() {
			t.Skip("CPU reports no ASIMD")
		}
		r := rand.New(rand.NewPCG(3, uint64(len(name))))
		for _, n := range neonLengths() {
			for offset := 0; offset < 4; offset++ {
				check(t, r, n, offset)
				if t.Failed() {
					t.Fatalf("n=%d offset=%d", n, offset)
				}
			}
		}
	})
}

func TestNEONVector(t *testing.T) {
	neonVecCase(t, "scale", func(t *testing.T, r *rand.Rand, n, off int) {
		vals := neonSpecial(r, n)
		alpha := 2*r.Float32() - 1
		x, check := neonGuarded(t, vals, off)
		scaleBulk(alpha, x)
		check()
		want := append([]float32(nil), vals...)
		scaleGeneric(alpha, want)
		if i, ok := neonSameValues(x, want); !ok {
			t.Errorf("x[%d] = %v; generic %v", i, x[i], want[i])
		}
	})
	for _, op := range []struct {
		name          string
		bulk, generic func(dst, x, y []float32)
	}{
		{"add", addBulk, addGeneric},
		{"mul", mulBulk, mulGeneric},
	} {
		neonVecCase(t, op.name, func(t *testing.T, r *rand.Rand, n, off int) {
			xv, yv := neonSpecial(r, n), neonSpecial(r, n)
			want := make([]float32, n)
			op.generic(want, xv, yv)
			x, checkX := neonGuarded(t, xv, off)
			y, checkY := neonGuarded(t, yv, 3-off)
			dst, checkDst := neonGuarded(t, make([]float32, n), (off+1)%4)
			op.bulk(dst, x, y)
			checkX()
			checkY()
			checkDst()
			if i, ok := neonSameValues(dst, want); !ok {
				t.Errorf("dst[%d] = %v; generic %v", i, dst[i], want[i])
			}
			if _, ok := neonSameBits(x, xv); !ok {
				t.Error("x changed")
			}
			if _, ok := neonSameBits(y, yv); !ok {
				t.Error("y changed")
			}
			// dst may be x or y.
			op.bulk(x, x, y)
			if i, ok := neonSameValues(x, want); !ok {
				t.Errorf("dst=x: x[%d] = %v; generic %v", i, x[i], want[i])
			}
			copy(x, xv)
			op.bulk(y, x, y)
			if i, ok := neonSameValues(y, want); !ok {
				t.Errorf("dst=y: y[%d] = %v; generic %v", i, y[i], want[i])
			}
		})
	}
	neonVecCase(t, "relu", func(t *testing.T, r *rand.Rand, n, off int) {
		xv := neonSpecial(r, n)
		want := make([]float32, n)
		reluGeneric(want, xv)
		x, checkX := neonGuarded(t, xv, off)
		dst, checkDst := neonGuarded(t, make([]float32, n), 3-off)
		reluBulk(dst, x)
		checkX()
		checkDst()
		// No arithmetic: the bits, NaN payloads and signs included, must match.
		if i, ok := neonSameBits(dst, want); !ok {
			t.Errorf("dst[%d] = %v (%#x); generic %v (%#x)", i, dst[i], math.Float32bits(dst[i]), want[i], math.Float32bits(want[i]))
		}
		reluBulk(x, x)
		if i, ok := neonSameBits(x, want); !ok {
			t.Errorf("in place: x[%d] = %v; generic %v", i, x[i], want[i])
		}
	})
	neonVecCase(t, "axpy", func(t *testing.T, r *rand.Rand, n, off int) {
		xv, yv := neonRand(r, n), neonRand(r, n)
		alpha := 2*r.Float32() - 1
		want := append([]float32(nil), yv...)
		axpyGeneric(alpha, xv, want)
		x, checkX := neonGuarded(t, xv, off)
		y, checkY := neonGuarded(t, yv, 3-off)
		axpyBulk(alpha, x, y)
		checkX()
		checkY()
		if _, ok := neonSameBits(x, xv); !ok {
			t.Error("x changed")
		}
		for i := range y {
			ref := float64(yv[i]) + float64(alpha)*float64(xv[i])
			if math.Abs(float64(y[i])-ref) > 0x1p-23*(math.Abs(float64(yv[i]))+math.Abs(float64(alpha*xv[i]))) {
				t.Errorf("y[%d] = %v; float64 reference %v", i, y[i], ref)
			}
		}
		if _, ok := neonSameBits(y, want); neonFusesFMA && !ok {
			i, _ := neonSameBits(y, want)
			t.Errorf("y[%d] = %v; generic %v", i, y[i], want[i])
		}
	})
	neonVecCase(t, "sum", func(t *testing.T, r *rand.Rand, n, off int) {
		xv := neonRand(r, n)
		x, check := neonGuarded(t, xv, off)
		got := sumBulk(x)
		check()
		if want := neonSumModel(xv, nil); math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("sum = %v; the documented order gives %v", got, want)
		}
		neonCheckReduction(t, got, xv, nil)
	})
	neonVecCase(t, "dot", func(t *testing.T, r *rand.Rand, n, off int) {
		xv, yv := neonRand(r, n), neonRand(r, n)
		x, checkX := neonGuarded(t, xv, off)
		y, checkY := neonGuarded(t, yv, 3-off)
		got := dotBulk(x, y)
		checkX()
		checkY()
		if want := neonSumModel(xv, yv); neonFusesFMA && math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("dot = %v; the documented order gives %v", got, want)
		}
		neonCheckReduction(t, got, xv, yv)
	})
}

// neonSumModel is the order that dotBulk (y != nil) or sumBulk documents,
// written out in Go: dotNEON's 8×4 partial sums, reduce32, then the generic
// loop over the last len%4 elements, added on.
func neonSumModel(x, y []float32) float32 {
	// add is s += x[i] (sum) or s += x[i]*y[i] (dot), which Go fuses into
	// one FMA where the architecture has it, like FMLA.
	add := func(s *float32, i int) { *s += x[i] }
	if y != nil {
		add = func(s *float32, i int) { *s += x[i] * y[i] }
	}
	var s [8][4]float32
	n := len(x) &^ 3
	i := 0
	for ; i+32 <= n; i += 32 {
		for j := range 8 {
			for l := range 4 {
				add(&s[j][l], i+4*j+l)
			}
		}
	}
	for ; i < n; i += 4 {
		for l := range 4 {
			add(&s[0][l], i+l)
		}
	}
	head := reduce32(&s)
	if y != nil {
		return head + dotGeneric(x[n:], y[n:])
	}
	return head + sumGeneric(x[n:])
}

// neonCheckReduction compares a float32 sum (of products when y != nil)
// with a float64 one, within a bound that grows with the length.
func neonCheckReduction(t *testing.T, got float32, x, y []float32) {
	t.Helper()
	var ref, mag float64
	for i, v := range x {
		term := float64(v)
		if y != nil {
			term *= float64(y[i])
		}
		ref += term
		mag += math.Abs(term)
	}
	if tol := float64(len(x)+2) * 0x1p-24 * mag; math.Abs(float64(got)-ref) > tol {
		t.Errorf("got %v; float64 reference %v (tolerance %g)", got, ref, tol)
	}
}
