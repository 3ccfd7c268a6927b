package nn

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/tensor"
)

// convRef64 is the convolution y = w ⋆ x + b and its gradients for gy,
// summed in float64 by the definition: the oracle of the Winograd tests.
//
//	y (N, OC, OH, OW), dx (N, C, H, W), dw (OC, C, KH, KW)
func convRef64(s convShape, x, w, b, gy []float32) (y, dx, dw []float64) {
	y = make([]float64, s.n*s.oc*s.pixels())
	dx = make([]float64, s.n*s.inSize())
	dw = make([]float64, s.oc*s.depth())
	for n := range s.n {
		for o := range s.oc {
			for oy := range s.oh {
				for ox := range s.ow {
					yi := ((n*s.oc+o)*s.oh+oy)*s.ow + ox
					var sum float64
					if b != nil {
						sum = float64(b[o])
					}
					for c := range s.c {
						for i := range s.kh {
							for j := range s.kw {
								iy, ix := oy*s.stride-s.pad+i, ox*s.stride-s.pad+j
								if iy < 0 || iy >= s.h || ix < 0 || ix >= s.w {
									continue
								}
								xi := ((n*s.c+c)*s.h+iy)*s.w + ix
								wi := ((o*s.c+c)*s.kh+i)*s.kw + j
								sum += float64(w[wi]) * float64(x[xi])
								dx[xi] += float64(w[wi]) * float64(gy[yi])
								dw[wi] += float64(x[xi]) * float64(gy[yi])
							}
						}
					}
					y[yi] = sum
				}
			}
		}
	}
	return y, dx, dw
}

// winoTiles are the Winograd tiles the tests run. Over TestWinograd's
// shapes, F(2×2, 3×3)'s worst error is 7.5e-7 of max|want| and F(4×4,
// 3×3)'s 5.4e-6, both under checkErr's tolerance.
var winoTiles = []*winoTile{winoTile2, winoTile4}

// TestWinograd checks the three Winograd passes, the forward pass and the
// input gradient with each tile, against the float64 definition on shapes
// around the tilings' edges: odd and 1×1 maps, single images, 1, 3 and odd
// channel counts, every padding below 3, enough tiles for several blocks,
// and ResNet-32's layers up to 256 channels. Winograd runs whatever
// planConv would choose, so thin shapes are covered too.
func TestWinograd(t *testing.T) {
	cases := []struct{ n, c, oc, h, w, pad int }{
		{1, 1, 1, 1, 1, 1},
		{1, 3, 2, 1, 1, 1},
		{2, 3, 5, 5, 7, 1},
		{1, 7, 9, 2, 3, 1},
		{3, 8, 8, 8, 8, 1},
		{2, 5, 3, 9, 4, 0},
		{2, 4, 6, 6, 5, 2},
		{1, 16, 16, 3, 3, 0},
		{4, 9, 11, 17, 15, 1},
		{2, 3, 4, 7, 7, 1},
		{2, 5, 5, 10, 11, 2},
		{9, 16, 16, 32, 32, 1}, // several blocks
		{2, 64, 64, 32, 32, 1},
		{2, 128, 128, 16, 16, 1},
		{2, 256, 256, 8, 8, 1},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("n%d_c%d_oc%d_%dx%d_p%d", c.n, c.c, c.oc, c.h, c.w, c.pad), func(t *testing.T) {
			s := newConvShape([]int{c.n, c.c, c.h, c.w}, []int{c.oc, c.c, 3, 3}, 1, c.pad)
			if !winogradOK(s) {
				t.Fatalf("winogradOK(%+v) = false", s)
			}
			ts, ok := s.transposed()
			if !ok || !winogradOK(ts) {
				t.Fatalf("transposed(%+v) = %+v, %v: no Winograd input gradient", s, ts, ok)
			}
			r := tensor.NewRNG(uint64(c.n*1000 + c.c*100 + c.h))
			x := tensor.RandN(r, c.n, c.c, c.h, c.w).Data
			w := tensor.RandN(r, c.oc, c.c, 3, 3).Data
			b := tensor.RandN(r, c.oc).Data
			gy := tensor.RandN(r, c.n, c.oc, s.oh, s.ow).Data
			wantY, wantDX, wantDW := convRef64(s, x, w, b, gy)

			for _, tile := range winoTiles {
				dw := make([]float32, len(wantDW))
				winogradWeightGrad(s, tile, dw, gy, x)
				checkErr(t, fmt.Sprintf("F(%d×%d) dw", tile.m, tile.m), dw, wantDW)
				y := make([]float32, len(wantY))
				winogradForward(s, tile, y, x, w, b)
				dx := make([]float32, len(wantDX))
				winogradForward(ts, tile, dx, gy, flipKernel(s, w).buf, nil)
				checkErr(t, fmt.Sprintf("F(%d×%d) y", tile.m, tile.m), y, wantY)
				checkErr(t, fmt.Sprintf("F(%d×%d) dx", tile.m, tile.m), dx, wantDX)
			}
		})
	}
}

// checkErr fails t unless max|got − want| ≤ 1e-5·max|want| + 1e-6, a
// tenth of the PyTorch parity tolerance, and logs the error relative to
// max|want| otherwise.
func checkErr(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	diff, scale := 0.0, 0.0
	for i, v := range want {
		scale = math.Max(scale, math.Abs(v))
		if d := math.Abs(float64(got[i]) - v); !(d <= diff) {
			diff = d
		}
	}
	if tol := 1e-5*scale + 1e-6; !(diff <= tol) {
		t.Errorf("%s: max error %.3g > %.3g", name, diff, tol)
	} else {
		t.Logf("%s: max error %.3g, %.3g of max|want| (tolerance %.3g)", name, diff, diff/scale, tol)
	}
}

// im2colCases cover every path of im2col and col2im: strides 1 to 3,
// paddings, odd and tiny maps and non-square kernels.
var im2colCases = []struct{ c, h, w, kh, kw, stride, pad int }{
	{2, 5, 7, 3, 3, 1, 1}, // same size: shifted planes
	{2, 5, 7, 3, 3, 1, 0}, // row by row
	{3, 8, 8, 3, 3, 2, 1}, // phase planes
	{2, 7, 9, 3, 3, 2, 1},
	{2, 6, 5, 1, 1, 2, 0}, // option-B shortcut
	{1, 1, 1, 3, 3, 2, 1},
	{2, 2, 3, 3, 3, 2, 1},
	{2, 9, 10, 3, 3, 3, 1},
	{2, 4, 4, 3, 3, 3, 2},
	{2, 6, 7, 3, 1, 2, 1},
	{1, 7, 5, 5, 5, 2, 2},
	{2, 18, 34, 3, 3, 2, 1}, // rows long enough for the SIMD (de)interleave
}

// TestIm2col checks im2col, on each of its paths, against its definition
// over strides 1 to 3, paddings, odd and tiny maps and non-square kernels,
// with NaN in the columns beforehand so that every element must be written.
func TestIm2col(t *testing.T) {
	for _, c := range im2colCases {
		s := newConvShape([]int{1, c.c, c.h, c.w}, []int{1, c.c, c.kh, c.kw}, c.stride, c.pad)
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			x := tensor.RandN(tensor.NewRNG(3), c.c, c.h, c.w).Data
			ld := s.pixels() + 3
			cols := make([]float32, s.depth()*ld)
			for i := range cols {
				cols[i] = float32(math.NaN())
			}
			im2col(s, x, cols, ld)
			eachTap(s, func(r, q, xi int) {
				var want float32
				if xi >= 0 {
					want = x[xi]
				}
				if got := cols[r*ld+q]; got != want {
					t.Fatalf("row %d pixel %d = %v, want %v", r, q, got, want)
				}
			})
		})
	}
}

// TestCol2im checks col2im, on each of its paths, against its definition
// summed in the same tap order (so bit for bit), with NaN in the image
// beforehand so that every element must be written.
func TestCol2im(t *testing.T) {
	for _, c := range im2colCases {
		s := newConvShape([]int{1, c.c, c.h, c.w}, []int{1, c.c, c.kh, c.kw}, c.stride, c.pad)
		t.Run(fmt.Sprintf("%+v", c), func(t *testing.T) {
			ld := s.pixels() + 3
			cols := tensor.RandN(tensor.NewRNG(4), s.depth()*ld).Data
			want := make([]float32, s.inSize())
			eachTap(s, func(r, q, xi int) {
				if xi >= 0 {
					want[xi] += cols[r*ld+q]
				}
			})
			dx := make([]float32, s.inSize())
			for i := range dx {
				dx[i] = float32(math.NaN())
			}
			col2im(s, cols, ld, dx)
			for i := range dx {
				if math.Float32bits(dx[i]) != math.Float32bits(want[i]) {
					t.Fatalf("dx[%d] = %v, want %v", i, dx[i], want[i])
				}
			}
		})
	}
}

// eachTap calls fn for every row r = (c, i, j) of the columns of one image
// of s and output pixel q, in im2col's order, with the index xi of the
// input value x[c][oy·stride − pad + i][ox·stride − pad + j] it reads, or
// −1 in the padding: the definition of im2col and col2im.
func eachTap(s convShape, fn func(r, q, xi int)) {
	for ch := range s.c {
		for i := range s.kh {
			for j := range s.kw {
				r := (ch*s.kh+i)*s.kw + j
				for q := range s.pixels() {
					iy, ix := q/s.ow*s.stride-s.pad+i, q%s.ow*s.stride-s.pad+j
					xi := -1
					if iy >= 0 && iy < s.h && ix >= 0 && ix < s.w {
						xi = (ch*s.h+iy)*s.w + ix
					}
					fn(r, q, xi)
				}
			}
		}
	}
}

// TestWinogradThreads checks that the three Winograd passes, with each
// tile, give the same bits with 1, 2 and 3 threads on a shape of several
// blocks, which the threads divide differently (the blocks of
// TestThreadsBitIdentical's small model are few).
func TestWinogradThreads(t *testing.T) {
	s := newConvShape([]int{64, 32, 16, 16}, []int{32, 32, 3, 3}, 1, 1)
	r := tensor.NewRNG(8)
	x := tensor.RandN(r, 64, 32, 16, 16).Data
	w := tensor.RandN(r, 32, 32, 3, 3).Data
	gy := tensor.RandN(r, 64, 32, 16, 16).Data
	for _, tile := range winoTiles {
		if wg := newWino(s, tile); wg.blocks < 4 {
			t.Fatalf("F(%d×%d): %d blocks: the test needs several", tile.m, tile.m, wg.blocks)
		}
		var want [][]float32
		for _, threads := range []int{1, 2, 3} {
			prev := asm.SetThreads(threads)
			y, dx, dw := make([]float32, len(gy)), make([]float32, len(x)), make([]float32, len(w))
			winogradForward(s, tile, y, x, w, nil)
			ts, _ := s.transposed()
			winogradForward(ts, tile, dx, gy, flipKernel(s, w).buf, nil)
			winogradWeightGrad(s, tile, dw, gy, x)
			asm.SetThreads(prev)
			got := [][]float32{y, dx, dw}
			if want == nil {
				want = got
				continue
			}
			for i, name := range []string{"y", "dx", "dw"} {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("F(%d×%d), %d threads: %s differs from 1 thread", tile.m, tile.m, threads, name)
				}
			}
		}
	}
}
