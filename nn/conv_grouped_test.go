package nn

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/autograd/gradcheck"
	"github.com/glmc/glmc/tensor"
)

// groupedCase is a grouped convolution geometry: c and oc are the whole
// channel counts, the weight is (oc, c/groups, kh, kw).
type groupedCase struct {
	convCase
	groups int
}

func (c groupedCase) String() string { return fmt.Sprintf("%v_g%d", c.convCase, c.groups) }

// groupedCases cover both input-gradient algorithms of the dense
// convolution below (stride 1 and 2), depthwise convolution (one channel
// per group), groups with several channels in and out, unequal in and out
// per group, bias, 1×1 and non-square kernels.
var groupedCases = []groupedCase{
	{convCase{2, 4, 6, 5, 4, 3, 3, 1, 1, true}, 2},
	{convCase{2, 6, 7, 7, 9, 3, 3, 2, 1, false}, 3},
	{convCase{3, 4, 5, 6, 4, 3, 3, 1, 1, true}, 4}, // depthwise
	{convCase{2, 8, 5, 5, 4, 1, 1, 1, 0, false}, 4},
	{convCase{1, 6, 6, 6, 12, 3, 3, 1, 0, true}, 2},
	{convCase{2, 4, 9, 9, 8, 3, 3, 2, 1, true}, 4},  // ResNeXt's strided 3×3
	{convCase{2, 4, 6, 5, 6, 3, 1, 1, 1, false}, 2}, // non-square kernel
}

// groupedConvReference computes the grouped convolution with plain loops in
// float64, straight from the definition.
func groupedConvReference(c groupedCase, x, w, b []float32) []float64 {
	cg, og := c.c/c.groups, c.oc/c.groups
	oh, ow := (c.h+2*c.pad-c.kh)/c.stride+1, (c.w+2*c.pad-c.kw)/c.stride+1
	y := make([]float64, c.n*c.oc*oh*ow)
	for n := range c.n {
		for o := range c.oc {
			g := o / og
			for oy := range oh {
				for ox := range ow {
					var sum float64
					if b != nil {
						sum = float64(b[o])
					}
					for ci := range cg {
						ch := g*cg + ci
						for i := range c.kh {
							for j := range c.kw {
								iy, ix := oy*c.stride-c.pad+i, ox*c.stride-c.pad+j
								if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
									continue
								}
								sum += float64(w[((o*cg+ci)*c.kh+i)*c.kw+j]) * float64(x[((n*c.c+ch)*c.h+iy)*c.w+ix])
							}
						}
					}
					y[((n*c.oc+o)*oh+oy)*ow+ox] = sum
				}
			}
		}
	}
	return y
}

// groupedGradReference returns the input and weight gradients of the
// grouped convolution for the upstream gradient gy, in float64, straight
// from the definition (each product of the forward sum sends gy back to
// the input value and the weight it multiplied).
func groupedGradReference(c groupedCase, x, w, gy []float32) (dx, dw []float64) {
	cg, og := c.c/c.groups, c.oc/c.groups
	oh, ow := (c.h+2*c.pad-c.kh)/c.stride+1, (c.w+2*c.pad-c.kw)/c.stride+1
	dx, dw = make([]float64, len(x)), make([]float64, len(w))
	for n := range c.n {
		for o := range c.oc {
			g := o / og
			for oy := range oh {
				for ox := range ow {
					d := float64(gy[((n*c.oc+o)*oh+oy)*ow+ox])
					for ci := range cg {
						for i := range c.kh {
							for j := range c.kw {
								iy, ix := oy*c.stride-c.pad+i, ox*c.stride-c.pad+j
								if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
									continue
								}
								xi, wi := ((n*c.c+g*cg+ci)*c.h+iy)*c.w+ix, ((o*cg+ci)*c.kh+i)*c.kw+j
								dx[xi] += d * float64(w[wi])
								dw[wi] += d * float64(x[xi])
							}
						}
					}
				}
			}
		}
	}
	return dx, dw
}

// sweepCases are the geometries of TestGroupedConvSweep: 1, 2 and 32
// groups with 1, 3, 4, 8 and 32 channels per group (in; out as many or
// twice), odd maps, 3×3, 1×1 and 3×1 kernels, stride 1 and 2, padding 0
// and 1, batches of 1 and 3, drawn in a fixed pseudo-random order from
// the combinations so that every value of each appears; and two maps
// wider than one block of columns.
func sweepCases() []groupedCase {
	var cases []groupedCase
	i := 0
	for _, groups := range []int{1, 2, 32} {
		for _, cpg := range []int{1, 3, 4, 8, 32} {
			if groups*cpg > 128 {
				continue
			}
			for _, stride := range []int{1, 2} {
				for _, pad := range []int{0, 1} {
					i++
					k := [][2]int{{3, 3}, {1, 1}, {3, 1}, {3, 3}}[i%4]
					hw := [][2]int{{5, 7}, {9, 9}, {1, 1}, {6, 3}, {7, 7}}[i%5]
					if hw[0]+2*pad < k[0] || hw[1]+2*pad < k[1] {
						hw = [2]int{3, 5}
					}
					cases = append(cases, groupedCase{convCase{
						n: 1 + 2*(i%2), c: groups * cpg, h: hw[0], w: hw[1], oc: groups * cpg * (1 + i%3/2),
						kh: k[0], kw: k[1], stride: stride, pad: pad, bias: i%3 == 0,
					}, groups})
				}
			}
		}
	}
	// Column spaces wider than one block of shiftedCols columns; dense
	// strided convolutions like ResNet-32's, whose batches end in a
	// shorter block of images (17 = 5·3 + 2 and 9 = 4·2 + 1).
	return append(cases,
		groupedCase{convCase{3, 6, 23, 21, 6, 3, 3, 1, 1, true}, 2},
		groupedCase{convCase{2, 8, 45, 47, 8, 3, 3, 2, 1, false}, 2},
		groupedCase{convCase{17, 16, 10, 10, 32, 3, 3, 2, 1, true}, 1},
		groupedCase{convCase{9, 32, 8, 7, 64, 3, 3, 2, 1, false}, 1})
}

// TestGroupedConvSweep checks the forward pass and both gradients of the
// direct grouped convolution against the float64 definitions over
// sweepCases, with the image blocks of the forward and backward passes
// both whole and one image at a time. It runs on the active SIMD
// implementation (GLMC_SIMD picks another).
func TestGroupedConvSweep(t *testing.T) {
	for _, budget := range []int{groupedBudget, 1} {
		for _, c := range sweepCases() {
			t.Run(fmt.Sprintf("%v_budget%d", c, budget), func(t *testing.T) {
				defer func(prev int) { groupedBudget = prev }(groupedBudget)
				groupedBudget = budget
				in := groupedInputs(c, 21)
				x, w := in[0].Data, in[1].Data
				var b []float32
				if c.bias {
					b = in[2].Data
				}
				s := newConvShape([]int{c.n, c.c / c.groups, c.h, c.w}, []int{c.oc / c.groups, c.c / c.groups, c.kh, c.kw}, c.stride, c.pad)
				y := make([]float32, c.n*c.oc*s.oh*s.ow)
				groupedConvForward(s, c.groups, y, x, w, b, nil)
				assertClose(t, "y", y, groupedConvReference(c, x, w, b), c.c/c.groups*c.kh*c.kw)
				gy := tensor.RandN(tensor.NewRNG(22), len(y)).Data
				dx, dw := make([]float32, len(x)), make([]float32, len(w))
				for i := range dx {
					dx[i] = float32(math.NaN()) // overwritten, never read
				}
				groupedConvBackward(s, c.groups, dx, dw, nil, gy, x, w)
				wantDx, wantDw := groupedGradReference(c, x, w, gy)
				assertClose(t, "dx", dx, wantDx, c.oc/c.groups*c.kh*c.kw)
				assertClose(t, "dw", dw, wantDw, c.n*s.pixels())
			})
		}
	}
}

// assertClose fails unless got is want within the float32 rounding of
// sums of terms products (a bound linear in terms), and reports the first
// difference.
func assertClose(t *testing.T, name string, got []float32, want []float64, terms int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	tol := 1e-6 * float64(terms+1)
	for i, v := range got {
		if d := math.Abs(float64(v) - want[i]); !(d <= tol*(1+math.Abs(want[i]))) {
			t.Fatalf("%s[%d] = %g, want %g", name, i, v, want[i])
		}
	}
}

// groupedInputs returns random x, w and (with bias) b for c.
func groupedInputs(c groupedCase, seed uint64) []*tensor.Tensor {
	rng := tensor.NewRNG(seed)
	in := []*tensor.Tensor{tensor.RandN(rng, c.n, c.c, c.h, c.w), tensor.RandN(rng, c.oc, c.c/c.groups, c.kh, c.kw)}
	if c.bias {
		in = append(in, tensor.RandN(rng, c.oc))
	}
	return in
}

func groupedForward(c groupedCase) func(in []*autograd.Var) *autograd.Var {
	return func(in []*autograd.Var) *autograd.Var {
		var b *autograd.Var
		if len(in) == 3 {
			b = in[2]
		}
		return FunctionalGroupedConv2d(in[0], in[1], b, c.stride, c.pad, c.groups)
	}
}

func TestGroupedConvForwardReference(t *testing.T) {
	for _, c := range groupedCases {
		t.Run(c.String(), func(t *testing.T) {
			in := groupedInputs(c, 3)
			vars := make([]*autograd.Var, len(in))
			for i, v := range in {
				vars[i] = autograd.Const(v)
			}
			var b []float32
			if c.bias {
				b = in[2].Data
			}
			y := groupedForward(c)(vars).Value
			want := groupedConvReference(c, in[0].Data, in[1].Data, b)
			if len(y.Data) != len(want) {
				t.Fatalf("%d outputs, want %d", len(y.Data), len(want))
			}
			for i, v := range y.Data {
				if math.Abs(float64(v)-want[i]) > 1e-5*(1+math.Abs(want[i])) {
					t.Fatalf("y[%d] = %g, want %g", i, v, want[i])
				}
			}
		})
	}
}

func TestGroupedConvGradcheck(t *testing.T) {
	for _, c := range groupedCases {
		t.Run(c.String(), func(t *testing.T) {
			if err := gradcheck.Check(groupedForward(c), groupedInputs(c, 5), gradcheck.Options{MaxElems: 60}); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestGroupedConvOneGroup: groups 1 (and 0, the zero Conv2d) is the dense
// convolution, bit for bit, forward and backward.
func TestGroupedConvOneGroup(t *testing.T) {
	for _, c := range convCases {
		for _, groups := range []int{0, 1} {
			run := func(grouped bool) [][]float32 {
				rng := tensor.NewRNG(9)
				x := autograd.Param(tensor.RandN(rng, c.n, c.c, c.h, c.w))
				w := autograd.Param(tensor.RandN(rng, c.oc, c.c, c.kh, c.kw))
				var y *autograd.Var
				if grouped {
					y = (&Conv2d{Stride: c.stride, Padding: c.pad, Groups: groups, Weight: w}).Forward(x)
				} else {
					y = FunctionalConv2d(x, w, nil, c.stride, c.pad)
				}
				y.BackwardWith(tensor.RandN(rng, y.Shape()...))
				return [][]float32{y.Value.Data, x.Grad.Data, w.Grad.Data}
			}
			if got, want := run(true), run(false); !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("%v groups %d: differs from FunctionalConv2d", c, groups)
			}
		}
	}
}

// TestGroupedConvThreadsBitIdentical: outputs and all gradients are the same
// bits on 1, 2 and 3 threads, stride 1 and 2, in the blocks of images of
// the shape and in blocks of one; for dense convolutions (one group) with
// the per-shape plan and with the direct convolution forced.
func TestGroupedConvThreadsBitIdentical(t *testing.T) {
	for _, c := range []struct {
		groupedCase
		algo string
	}{
		{groupedCase{convCase{9, 16, 12, 12, 32, 3, 3, 1, 1, true}, 8}, ""},
		{groupedCase{convCase{5, 64, 13, 11, 64, 3, 3, 2, 1, true}, 32}, ""},
		{groupedCase{convCase{19, 16, 12, 12, 32, 3, 3, 2, 1, true}, 1}, ""},
		{groupedCase{convCase{19, 16, 12, 12, 32, 3, 3, 2, 1, true}, 1}, "direct"},
		{groupedCase{convCase{10, 8, 9, 9, 8, 3, 3, 1, 1, true}, 1}, "direct"},
	} {
		for _, budget := range []int{groupedBudget, 1} {
			var want [][]float32
			for _, threads := range []int{1, 2, 3} {
				prev, prevBudget, prevAlgo := asm.SetThreads(threads), groupedBudget, convAlgo
				groupedBudget, convAlgo = budget, c.algo
				in := groupedInputs(c.groupedCase, 11)
				vars := []*autograd.Var{autograd.Param(in[0]), autograd.Param(in[1]), autograd.Param(in[2])}
				y := groupedForward(c.groupedCase)(vars)
				y.BackwardWith(tensor.RandN(tensor.NewRNG(12), y.Shape()...))
				asm.SetThreads(prev)
				groupedBudget, convAlgo = prevBudget, prevAlgo
				got := [][]float32{y.Value.Data, vars[0].Grad.Data, vars[1].Grad.Data, vars[2].Grad.Data}
				if want == nil {
					want = got
					continue
				}
				for i := range want {
					if !slices.Equal(want[i], got[i]) {
						t.Errorf("%v, GLMC_CONV=%q, budget %d, %d threads: tensor %d differs from 1 thread", c.groupedCase, c.algo, budget, threads, i)
					}
				}
			}
		}
	}
}

// TestPlanDirect checks which passes planConv gives the direct
// convolution: under the plan, the input gradient of ResNet-32's strided
// convolutions at width 16 and nothing else; every pass when GLMC_CONV
// forces it; none when GLMC_CONV forces another algorithm.
func TestPlanDirect(t *testing.T) {
	defer func(prev string) { convAlgo = prev }(convAlgo)
	for _, c := range []struct {
		algo             string
		c, oc, hw, k, st int
		want             [3]bool // forward, input gradient, weight gradient
	}{
		{"", 16, 32, 32, 3, 2, [3]bool{false, true, false}},
		{"", 32, 64, 16, 3, 2, [3]bool{false, true, false}},
		{"", 64, 128, 32, 3, 2, [3]bool{}},
		{"", 16, 16, 32, 3, 1, [3]bool{}}, // Winograd
		{"", 3, 16, 32, 3, 1, [3]bool{}},  // the stem: im2col + GEMM
		{"", 16, 32, 32, 1, 2, [3]bool{}}, // 1×1 stride 2
		{"direct", 16, 16, 32, 3, 1, [3]bool{true, true, true}},
		{"direct", 64, 128, 32, 1, 2, [3]bool{true, true, true}},
		{"gemm", 16, 32, 32, 3, 2, [3]bool{}},
		{"winograd", 16, 32, 32, 3, 2, [3]bool{}},
	} {
		convAlgo = c.algo
		s := newConvShape([]int{64, c.c, c.hw, c.hw}, []int{c.oc, c.c, c.k, c.k}, c.st, c.k/2)
		p := planConv(s)
		if got := [3]bool{p.directForward, p.directInputGrad, p.directWeightGrad}; got != c.want {
			t.Errorf("GLMC_CONV=%q, %d→%d channels, %d², %d×%d stride %d: direct passes %v, want %v",
				c.algo, c.c, c.oc, c.hw, c.k, c.k, c.st, got, c.want)
		}
	}
}

// TestBlockImages checks the split of a batch into blocks of images:
// within the budget, into a multiple of 8 blocks for one group (of
// 8/groups for a few), balanced, and one image per block at the least.
func TestBlockImages(t *testing.T) {
	defer func(prev int) { groupedBudget = prev }(groupedBudget)
	groupedBudget = 1 << 15
	for _, c := range []struct{ n, groups, perImage, want int }{
		{64, 1, 5184, 4},   // 6 fit: 11 blocks, made 16
		{64, 1, 9248, 3},   // 3 fit: 22 blocks of 3 (24 asked)
		{64, 1, 18496, 1},  // 1 fits
		{64, 1, 100000, 1}, // none fits
		{7, 1, 100, 1},     // fewer images than blocks
		{16, 32, 2592, 8},  // 12 fit: two blocks, balanced
		{16, 2, 100, 4},    // 4 blocks for 2 groups
		{0, 1, 100, 1},     // an empty batch
	} {
		if got := blockImages(c.n, c.groups, c.perImage); got != c.want {
			t.Errorf("blockImages(%d images, %d groups, %d floats each) = %d, want %d", c.n, c.groups, c.perImage, got, c.want)
		}
	}
}

func TestGroupedConvShapes(t *testing.T) {
	x := autograd.Const(tensor.New(2, 6, 5, 5))
	assert.Panics(t, func() { FunctionalGroupedConv2d(x, autograd.Const(tensor.New(4, 2, 3, 3)), nil, 1, 1, 2) }, "IC/groups mismatch")
	assert.Panics(t, func() { FunctionalGroupedConv2d(x, autograd.Const(tensor.New(5, 2, 3, 3)), nil, 1, 1, 3) }, "OC not divisible")
	assert.Panics(t, func() {
		FunctionalGroupedConv2d(x, autograd.Const(tensor.New(6, 2, 3, 3)), autograd.Const(tensor.New(5)), 1, 1, 3)
	}, "bias")
	assert.Panics(t, func() { NewGroupedConv2d(tensor.NewRNG(1), 6, 4, 3, 1, 1, 3, false) }, "groups not dividing out")
	c := NewGroupedConv2d(tensor.NewRNG(1), 8, 12, 3, 2, 1, 4, true)
	assert.Equal(t, []int{12, 2, 3, 3}, c.Weight.Shape())
	assert.Equal(t, []int{2, 12, 3, 3}, c.Forward(autograd.Const(tensor.New(2, 8, 6, 6))).Shape())
}

// resnextConvs are the grouped 3×3 convolutions of ResNeXt-50 32×4d at
// 224×224 input: width 128·2^i channels in 32 groups, the first of stages
// 2..4 with stride 2.
var resnextConvs = []struct {
	name             string
	ch, size, stride int
}{
	{"128_56", 128, 56, 1},
	{"256_56to28", 256, 56, 2},
	{"256_28", 256, 28, 1},
	{"512_14", 512, 14, 1},
	{"1024_7", 1024, 7, 1},
}

// BenchmarkGroupedConv times the forward and the backward (input and weight
// gradients) of ResNeXt-50's grouped convolutions at batch 16 and reports
// GFLOP/s, counting 2·N·OC·OH·OW·(IC/groups)·9 per pass (two for the
// backward).
func BenchmarkGroupedConv(b *testing.B) {
	const n, groups = 16, 32
	for _, c := range resnextConvs {
		rng := tensor.NewRNG(1)
		x := autograd.Const(tensor.RandN(rng, n, c.ch, c.size, c.size))
		w := autograd.Const(tensor.RandN(rng, c.ch, c.ch/groups, 3, 3))
		y := FunctionalGroupedConv2d(x, w, nil, c.stride, 1, groups).Value
		gy := tensor.RandN(rng, y.Shape...)
		flops := 2 * float64(y.Numel()) * float64(c.ch/groups*9)
		b.Run(c.name+"/fwd", func(b *testing.B) {
			for b.Loop() {
				FunctionalGroupedConv2d(x, w, nil, c.stride, 1, groups)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(c.name+"/bwd", func(b *testing.B) {
			s := newConvShape([]int{n, c.ch / groups, c.size, c.size}, []int{c.ch / groups, c.ch / groups, 3, 3}, c.stride, 1)
			dx, dw := tensor.New(x.Shape()...), tensor.New(w.Shape()...)
			for b.Loop() {
				groupedConvBackward(s, groups, dx.Data, dw.Data, nil, gy.Data, x.Value.Data, w.Value.Data)
			}
			b.ReportMetric(2*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
