package asm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// gemmCase is one Sgemm call; the matrices are filled at random.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	pad            int // extra leading-dimension elements on every matrix
	offset         int // start offset of every slice in its buffer
}

func (c gemmCase) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,alpha=%g,beta=%g,pad=%d,off=%d",
		c.transA, c.transB, c.m, c.n, c.k, c.alpha, c.beta, c.pad, c.offset)
}

// dims returns rows, columns and leading dimension of each stored matrix.
func (c gemmCase) dims() (ra, ca, lda, rb, cb, ldb, ldc int) {
	ra, ca = c.m, c.k
	if c.transA {
		ra, ca = c.k, c.m
	}
	rb, cb = c.k, c.n
	if c.transB {
		rb, cb = c.n, c.k
	}
	return ra, ca, max(1, ca+c.pad), rb, cb, max(1, cb+c.pad), max(1, c.n+c.pad)
}

func matLen(rows, cols, ld int) int {
	if rows == 0 || cols == 0 {
		return 0
	}
	return (rows-1)*ld + cols
}

// checkGemmCase runs c on the active implementation and compares it with a
// float64 reference. The tolerance grows with k: each float32 sum of k
// products may be off by about k·ε times the sum of their magnitudes.
func checkGemmCase(t *testing.T, r *rand.Rand, c gemmCase) {
	t.Helper()
	ra, ca, lda, rb, cb, ldb, ldc := c.dims()
	a := randSlice(r, matLen(ra, ca, lda))
	b := randSlice(r, matLen(rb, cb, ldb))
	c0 := randSlice(r, matLen(c.m, c.n, ldc))
	if c.beta == 0 {
		for i := range c0 {
			c0[i] = float32(math.NaN()) // beta == 0 must not read C
		}
	}
	aIn, bIn := append([]float32(nil), a...), append([]float32(nil), b...)
	cs, checkGuards := guarded(t, c0, c.offset)
	Sgemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, cs, ldc)
	checkGuards()
	opA := func(i, p int) float64 {
		if c.transA {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	opB := func(p, j int) float64 {
		if c.transB {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}
	const eps = 1.0 / (1 << 23)
	for i := 0; i < c.m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(cs); j++ {
			got := cs[i*ldc+j]
			if j >= c.n { // padding between rows must be untouched
				if got != c0[i*ldc+j] && !(math.IsNaN(float64(got)) && math.IsNaN(float64(c0[i*ldc+j]))) {
					t.Fatalf("%v: padding C[%d][%d] changed", c, i, j)
				}
				continue
			}
			var s, mag float64
			for p := 0; p < c.k; p++ {
				s += opA(i, p) * opB(p, j)
				mag += math.Abs(opA(i, p) * opB(p, j))
			}
			want := float64(c.alpha) * s
			bound := float64(c.k+2) * eps * (math.Abs(float64(c.alpha))*mag + 1)
			if c.beta != 0 {
				want += float64(c.beta) * float64(c0[i*ldc+j])
				bound += 2 * eps * math.Abs(float64(c.beta)*float64(c0[i*ldc+j]))
			}
			if d := math.Abs(float64(got) - want); !(d <= bound) {
				t.Fatalf("%v: C[%d][%d] = %v, want %v (|diff| %g > %g)", c, i, j, got, want, d, bound)
			}
		}
	}
	for i := range a {
		if a[i] != aIn[i] {
			t.Fatalf("%v: A changed at %d", c, i)
		}
	}
	for i := range b {
		if b[i] != bIn[i] {
			t.Fatalf("%v: B changed at %d", c, i)
		}
	}
}

// edgeSizes are the sizes around the active implementation's tiles and
// blocks, plus the small and prime sizes where loops go wrong.
func edgeSizes() []int {
	g, bs := active.gemm, blocks
	s := []int{1, 2, 3, 7, 15, 16, 17, 31, 33, 127}
	for _, v := range []int{g.mr, g.nr, 2 * g.mr, 2 * g.nr, g.dotMR, g.dotNR, 8, 2 * g.dotMR, 2 * g.dotNR} {
		if v > 0 {
			s = append(s, v-1, v, v+1)
		}
	}
	return append(s, bs.kc-1, bs.kc, bs.kc+1, bs.mc-1, bs.mc+1)
}

func TestSgemmShapes(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		var cases []gemmCase
		// Each size in each dimension in turn, with the others small and odd.
		for _, s := range edgeSizes() {
			for _, dims := range [][3]int{{s, 7, 5}, {5, s, 7}, {7, 5, s}, {s, s, 3}} {
				for tr := 0; tr < 4; tr++ {
					cases = append(cases, gemmCase{transA: tr&1 != 0, transB: tr&2 != 0,
						m: dims[0], n: dims[1], k: dims[2], alpha: 1, beta: 0, pad: tr, offset: s % 4})
				}
			}
		}
		// Every alpha/beta pair, transpose and padding on a few shapes
		// that cross the tile edges; n = 16 and 32 make a narrow last B
		// panel of whole 8-column groups (transposed in registers).
		for _, d := range [][3]int{{1, 1, 1}, {13, 37, 19}, {33, 17, 64}, {40, 53, 70}, {9, 16, 37}, {6, 32, 19}, {0, 4, 4}, {4, 0, 4}, {4, 4, 0}} {
			for _, ab := range [][2]float32{{0, 0}, {0, 1}, {0, -2}, {1, 0}, {1, 1}, {1, 1.5}, {-0.7, 0}, {-0.7, 1}, {-0.7, 0.3}} {
				for tr := 0; tr < 4; tr++ {
					cases = append(cases, gemmCase{transA: tr&1 != 0, transB: tr&2 != 0,
						m: d[0], n: d[1], k: d[2], alpha: ab[0], beta: ab[1], pad: 3 * (tr & 1), offset: tr})
				}
			}
		}
		for _, c := range cases {
			checkGemmCase(t, r, c)
		}
	})
}

// TestSgemmSmallBlocks shrinks the cache blocks so that every loop of the
// driver (jc, pc, ic) runs several times on matrices cheap to check.
func TestSgemmSmallBlocks(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		saved := blocks
		defer func() { blocks = saved }()
		g := active.gemm
		// dotFloats and dotMinK make runDot's k blocks 8 or 16 deep.
		blocks = blockSizes{kc: 8, mc: 2 * g.mr, nc: 3 * g.nr, ncShort: 2 * g.nr, dotFloats: 8 * 16, dotMinK: 8}
		r := rand.New(rand.NewPCG(3, 4))
		for _, d := range [][3]int{{4*g.mr + 1, 4*g.nr + 3, 17}, {2 * g.mr, 2 * g.nr, 16}, {2*g.mr - 1, 2*g.nr + 1, 9}, {1, 5*g.nr + 1, 33}} {
			for tr := 0; tr < 4; tr++ {
				for _, beta := range []float32{0, 1, 0.5} {
					checkGemmCase(t, r, gemmCase{transA: tr&1 != 0, transB: tr&2 != 0,
						m: d[0], n: d[1], k: d[2], alpha: 1.25, beta: beta, pad: tr})
				}
			}
		}
	})
}

// TestSgemmLarge checks big products cheaply: C·v against A·(B·v) in float64.
func TestSgemmLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large GEMM check skipped in -short mode")
	}
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(5, 6))
		// {64, 100, 4099} B transposed: the dot-product tiles (where the
		// implementation has them) over many k blocks, as a convolution's
		// weight gradient; b is then read as (n, k).
		for _, d := range [][4]int{{512, 1031, 700, 0}, {64, 4096, 576, 0}, {1000, 17, 1500, 0}, {64, 100, 4099, 1}} {
			m, n, k, transB := d[0], d[1], d[2], d[3] == 1
			a, b := randSlice(r, m*k), randSlice(r, k*n)
			c := make([]float32, m*n)
			if transB { // store Bᵀ, so that b[p*n+j] below is still B[p][j]
				bt := make([]float32, n*k)
				for p := 0; p < k; p++ {
					for j := 0; j < n; j++ {
						bt[j*k+p] = b[p*n+j]
					}
				}
				Sgemm(false, true, m, n, k, 1, a, k, bt, k, 0, c, n)
			} else {
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
			}
			v := make([]float64, n)
			for j := range v {
				v[j] = r.Float64()*2 - 1
			}
			bv := make([]float64, k)
			for p := 0; p < k; p++ {
				for j := 0; j < n; j++ {
					bv[p] += float64(b[p*n+j]) * v[j]
				}
			}
			for i := 0; i < m; i++ {
				var want, got float64
				for p := 0; p < k; p++ {
					want += float64(a[i*k+p]) * bv[p]
				}
				for j := 0; j < n; j++ {
					got += float64(c[i*n+j]) * v[j]
				}
				if d := math.Abs(got - want); d > 1e-5*float64(k)*math.Sqrt(float64(n)) {
					t.Fatalf("%dx%dx%d: row %d of C·v = %v, want %v", m, n, k, i, got, want)
				}
			}
		}
	})
}

// TestSgemmThreadsBitIdentical: splitting the output between goroutines
// (or not at all, in SgemmSerial) must not change a single bit.
func TestSgemmThreadsBitIdentical(t *testing.T) {
	defer SetThreads(SetThreads(1))
	forEachImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(7, 8))
		// {16, 146, 3000}: the dot-product tiles' k blocks and edge rows.
		for _, d := range [][3]int{{97, 301, 411}, {300, 40, 200}, {64, 1000, 577}, {17, 146, 3001}} {
			m, n, k := d[0], d[1], d[2]
			a, b := randSlice(r, m*k), randSlice(r, k*n)
			var first []float32
			for _, th := range []int{0, 1, 2, 3, 8} { // 0: SgemmSerial
				SetThreads(max(th, 1))
				c := make([]float32, m*n)
				if th == 0 {
					SgemmSerial(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
				} else {
					Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
				}
				if first == nil {
					first = c
					continue
				}
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
						t.Fatalf("%v threads: C[%d] = %v, 1 thread gave %v", th, i, c[i], first[i])
					}
				}
			}
		}
	})
}

func TestSgemmBadArguments(t *testing.T) {
	s := make([]float32, 16)
	for name, call := range map[string]func(){
		"negative m":    func() { Sgemm(false, false, -1, 2, 2, 1, s, 2, s, 2, 0, s, 2) },
		"lda too small": func() { Sgemm(false, false, 2, 2, 3, 1, s, 2, s, 2, 0, s, 2) },
		"short B":       func() { Sgemm(false, false, 2, 4, 4, 1, s, 4, s[:10], 4, 0, s, 4) },
		"short C":       func() { Sgemm(false, false, 4, 4, 2, 1, s, 2, s, 4, 0, s[:15], 4) },
		"ldc < n":       func() { Sgemm(false, false, 2, 4, 2, 1, s, 2, s, 4, 0, s, 3) },
	} {
		assert.Panics(t, call, name)
	}
}

func FuzzSgemm(f *testing.F) {
	f.Add(uint8(3), uint8(5), uint8(7), uint8(0), uint64(1))
	f.Add(uint8(17), uint8(33), uint8(1), uint8(3), uint64(2))
	f.Add(uint8(1), uint8(1), uint8(200), uint8(5), uint64(3))
	f.Fuzz(func(t *testing.T, m, n, k, flags uint8, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 9))
		abs := [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}, {0, 0.5}}
		c := gemmCase{transA: flags&1 != 0, transB: flags&2 != 0,
			m: int(m % 80), n: int(n % 80), k: int(k), pad: int(flags>>4) & 3, offset: int(flags>>6) & 3,
			alpha: abs[(flags>>2)&3][0], beta: abs[(flags>>2)&3][1]}
		checkGemmCase(t, r, c)
	})
}

func BenchmarkSgemm(b *testing.B) {
	sizes := [][3]int{{256, 256, 256}, {1024, 1024, 1024}, {2048, 2048, 2048},
		{64, 4096, 576}, {16, 16384, 432}, {128, 8192, 1152}}
	saved := active
	defer use(saved)
	defer SetThreads(SetThreads(1))
	for _, im := range impls {
		if !im.usable() {
			continue
		}
		use(im)
		for _, th := range []int{1, runtime.GOMAXPROCS(0)} {
			SetThreads(th)
			for _, d := range sizes {
				m, n, k := d[0], d[1], d[2]
				b.Run(fmt.Sprintf("%s/%dx%dx%d/threads=%d", im.name, m, n, k, th), func(b *testing.B) {
					r := rand.New(rand.NewPCG(1, 1))
					x, y, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
					b.ResetTimer()
					for range b.N {
						Sgemm(false, false, m, n, k, 1, x, k, y, n, 0, c, n)
					}
					b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
