package golden

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dir holds the committed fixtures. The tests below recompute several of
// them with plain float64 loops, which proves the files, this reader and
// the fixtures' documented semantics right at once.
const dir = "../../nn/testdata/golden"

func fixture(t *testing.T, name string) *File {
	t.Helper()
	return MustLoad(t, filepath.Join(dir, name+".safetensors"))
}

func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// tensor64 loads an F32 tensor as float64 for the reference computations.
func tensor64(t *testing.T, f *File, name string) []float64 {
	t.Helper()
	_, x := f.MustTensor(t, name)
	return to64(x)
}

// compare64 checks a float64 reference against the stored float32 tensor.
func compare64(t *testing.T, f *File, name string, ours []float64) {
	t.Helper()
	Compare(t, name, ours, tensor64(t, f, name))
}

func TestEveryFixtureLoads(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no fixtures in %s; generate them with: %s", dir, Regenerate)
	for _, path := range paths {
		f, err := Load(path)
		require.NoError(t, err)
		stem := strings.TrimSuffix(filepath.Base(path), ".safetensors")
		fixtureName, _ := f.Meta("fixture")
		assert.Equal(t, stem, fixtureName, path)
		require.NotEmpty(t, f.Names(""), path)
		for _, name := range f.Names("") {
			_, dtype, err := f.Shape(name)
			require.NoError(t, err)
			switch dtype {
			case "F32":
				_, _, err = f.Tensor(name)
			case "F64":
				_, _, err = f.Float64(name)
			case "I64":
				_, _, err = f.Int64(name)
			}
			require.NoError(t, err, "%s: %s", path, name)
		}
	}
}

// TestModelFixturesComplete checks that each model fixture has a gradient
// for every parameter and running statistics for every buffer, and that the
// SGD fixture's final states name exactly the resnet32_w4 state dict.
func TestModelFixturesComplete(t *testing.T) {
	for _, model := range []string{"resnet32_w4", "resnet18_small", "bottleneck_small"} {
		f := fixture(t, model)
		var params, buffers []string
		for _, name := range f.Names("init.") {
			name = strings.TrimPrefix(name, "init.")
			if isBuffer(name) {
				buffers = append(buffers, "stats."+name)
			} else {
				params = append(params, "grad."+name)
			}
		}
		assert.Equal(t, params, f.Names("grad."), model)
		assert.Equal(t, buffers, f.Names("stats."), model)
		assert.Contains(t, params, "grad.contrast_head.0.weight", model)
		shape, _, err := f.Shape("loss")
		require.NoError(t, err)
		assert.Empty(t, shape, "loss is a scalar")
	}
	init := fixture(t, "resnet32_w4").Names("init.")
	sgd := fixture(t, "sgd")
	for _, run := range []string{"sgd", "nesterov"} {
		var names []string
		for _, name := range sgd.Names(run + ".final.") {
			names = append(names, "init."+strings.TrimPrefix(name, run+".final."))
		}
		assert.Equal(t, init, names, run)
	}
}

func isBuffer(name string) bool {
	for _, suffix := range []string{".running_mean", ".running_var", ".num_batches_tracked"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

type convCase struct {
	Name                                   string
	N, Cin, Cout, H, W, K, Stride, Padding int
	Bias                                   bool
}

func (c convCase) outSize() (oh, ow int) {
	return (c.H+2*c.Padding-c.K)/c.Stride + 1, (c.W+2*c.Padding-c.K)/c.Stride + 1
}

// each calls visit(xi, wi, yi) for every product x[xi]·w[wi] that the
// convolution adds into y[yi]; forward and both backward passes are sums
// over these same triples.
func (c convCase) each(visit func(xi, wi, yi int)) {
	oh, ow := c.outSize()
	for n := range c.N {
		for co := range c.Cout {
			for oy := range oh {
				for ox := range ow {
					yi := ((n*c.Cout+co)*oh+oy)*ow + ox
					for ci := range c.Cin {
						for ky := range c.K {
							iy := oy*c.Stride - c.Padding + ky
							for kx := range c.K {
								ix := ox*c.Stride - c.Padding + kx
								if iy < 0 || iy >= c.H || ix < 0 || ix >= c.W {
									continue
								}
								visit(((n*c.Cin+ci)*c.H+iy)*c.W+ix, ((co*c.Cin+ci)*c.K+ky)*c.K+kx, yi)
							}
						}
					}
				}
			}
		}
	}
}

func TestConv2dFixtureMatchesFloat64Loops(t *testing.T) {
	f := fixture(t, "conv2d")
	var cases []convCase
	require.NoError(t, f.MetaJSON("cases", &cases))
	require.Len(t, cases, 6)
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s_k%d_s%d_p%d_%dx%d", c.Name, c.K, c.Stride, c.Padding, c.H, c.W), func(t *testing.T) {
			p := c.Name + "."
			x, w, gy := tensor64(t, f, p+"x"), tensor64(t, f, p+"weight"), tensor64(t, f, p+"gy")
			oh, ow := c.outSize()
			shape, _, err := f.Shape(p + "y")
			require.NoError(t, err)
			require.Equal(t, []int{c.N, c.Cout, oh, ow}, shape)
			y, gx, gw := make([]float64, len(gy)), make([]float64, len(x)), make([]float64, len(w))
			c.each(func(xi, wi, yi int) {
				y[yi] += x[xi] * w[wi]
				gx[xi] += gy[yi] * w[wi]
				gw[wi] += gy[yi] * x[xi]
			})
			if c.Bias {
				b, gb := tensor64(t, f, p+"bias"), make([]float64, c.Cout)
				for yi := range y {
					co := yi / (oh * ow) % c.Cout
					y[yi] += b[co]
					gb[co] += gy[yi]
				}
				compare64(t, f, p+"grad_bias", gb)
			} else {
				assert.NotContains(t, f.Names(p), p+"bias")
			}
			compare64(t, f, p+"y", y)
			compare64(t, f, p+"grad_x", gx)
			compare64(t, f, p+"grad_weight", gw)
		})
	}
}

// bnChannel returns the indices of channel ch in an (n, c, hw) tensor.
func bnChannel(n, c, hw, ch int) []int {
	var idx []int
	for i := range n {
		for s := range hw {
			idx = append(idx, (i*c+ch)*hw+s)
		}
	}
	return idx
}

func TestBatchNormFixtureMatchesFloat64(t *testing.T) {
	const eps, momentum = 1e-5, 0.1
	f := fixture(t, "batchnorm2d")
	var cases []struct {
		Name       string
		N, C, H, W int
	}
	require.NoError(t, f.MetaJSON("cases", &cases))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			p := c.Name + "."
			x, w, b, gy := tensor64(t, f, p+"x"), tensor64(t, f, p+"weight"), tensor64(t, f, p+"bias"), tensor64(t, f, p+"gy")
			y, gx, gw, gb := make([]float64, len(x)), make([]float64, len(x)), make([]float64, c.C), make([]float64, c.C)
			rm, rv := make([]float64, c.C), slices.Repeat([]float64{1}, c.C)
			batches := [][]float64{x, tensor64(t, f, p+"x1"), tensor64(t, f, p+"x2")}
			for ch := range c.C {
				idx := bnChannel(c.N, c.C, c.H*c.W, ch)
				m := float64(len(idx))
				for bi, batch := range batches {
					mean, variance := 0.0, 0.0
					for _, i := range idx {
						mean += batch[i] / m
					}
					for _, i := range idx {
						variance += (batch[i] - mean) * (batch[i] - mean) / m
					}
					rm[ch] = (1-momentum)*rm[ch] + momentum*mean
					rv[ch] = (1-momentum)*rv[ch] + momentum*variance*m/(m-1)
					if bi > 0 {
						continue
					}
					inv := 1 / math.Sqrt(variance+eps)
					for _, i := range idx {
						xhat := (x[i] - mean) * inv
						y[i] = w[ch]*xhat + b[ch]
						gb[ch] += gy[i]
						gw[ch] += gy[i] * xhat
					}
					for _, i := range idx {
						xhat := (x[i] - mean) * inv
						gx[i] = w[ch] * inv * (gy[i] - gb[ch]/m - xhat*gw[ch]/m)
					}
				}
			}
			compare64(t, f, p+"y", y)
			compare64(t, f, p+"grad_x", gx)
			compare64(t, f, p+"grad_weight", gw)
			compare64(t, f, p+"grad_bias", gb)
			compare64(t, f, p+"running_mean", rm)
			compare64(t, f, p+"running_var", rv)
			_, tracked, err := f.Int64(p + "num_batches_tracked")
			require.NoError(t, err)
			assert.Equal(t, []int64{3}, tracked)
			yEval := make([]float64, len(x))
			for ch := range c.C {
				for _, i := range bnChannel(c.N, c.C, c.H*c.W, ch) {
					yEval[i] = w[ch]*(x[i]-rm[ch])/math.Sqrt(rv[ch]+eps) + b[ch]
				}
			}
			compare64(t, f, p+"y_eval", yEval)
		})
	}
}

func TestShortcutAFixture(t *testing.T) {
	f := fixture(t, "shortcut_a")
	var cases []struct {
		Name               string
		N, C, H, W, Planes int
	}
	require.NoError(t, f.MetaJSON("cases", &cases))
	for _, c := range cases {
		p := c.Name + "."
		x, gy := tensor64(t, f, p+"x"), tensor64(t, f, p+"gy")
		pad, oh, ow := c.Planes/4, (c.H+1)/2, (c.W+1)/2
		y, gx := make([]float64, len(gy)), make([]float64, len(x))
		require.Len(t, y, c.N*c.Planes*oh*ow)
		for n := range c.N {
			for ci := range c.C {
				for oy := range oh {
					for ox := range ow {
						xi := ((n*c.C+ci)*c.H+2*oy)*c.W + 2*ox
						yi := ((n*c.Planes+ci+pad)*oh+oy)*ow + ox
						y[yi] = x[xi]
						gx[xi] = gy[yi]
					}
				}
			}
		}
		compare64(t, f, p+"y", y)
		compare64(t, f, p+"grad_x", gx)
	}
}

// TestSGDScheduleFixture checks the per-step rates of the SGD fixture.
// (The per-epoch schedules fixture is checked against optim's schedules,
// and those against the official formulas, in optim and glmc.)
func TestSGDScheduleFixture(t *testing.T) {
	const lr = 0.01
	// The SGD fixture steps CosineAnnealingLR(T_max=5) once per step.
	_, got, err := fixture(t, "sgd").Float64("lr")
	require.NoError(t, err)
	want := make([]float64, 5)
	for k := range want {
		want[k] = lr * 0.5 * (1 + math.Cos(math.Pi*float64(k)/5))
	}
	assert.InDeltaSlice(t, want, got, 1e-15, "sgd lr")
}

func TestMaxNormFixture(t *testing.T) {
	f := fixture(t, "maxnorm")
	shape, w0 := f.MustTensor(t, "call1.weight_in")
	rows, cols := shape[0], shape[1]
	norms := func(w []float64) []float64 {
		out := make([]float64, rows)
		for r := range rows {
			for _, v := range w[r*cols : (r+1)*cols] {
				out[r] += v * v
			}
			out[r] = math.Sqrt(out[r])
		}
		return out
	}
	n0 := norms(to64(w0))
	limit := slices.Min(n0) + 0.1*(slices.Max(n0)-slices.Min(n0))
	_, threshold := f.MustTensor(t, "threshold")
	Compare(t, "threshold", []float64{limit}, to64(threshold))
	for _, call := range []string{"call1.", "call2."} {
		w := tensor64(t, f, call+"weight_in")
		scaled := 0
		for r, norm := range norms(w) {
			if norm > limit {
				scaled++
				for i := r * cols; i < (r+1)*cols; i++ {
					w[i] *= limit / norm
				}
			}
		}
		assert.Positive(t, scaled, "%s scales no row", call)
		compare64(t, f, call+"weight_out", w)
		_, bin := f.MustTensor(t, call+"bias_in")
		_, bout := f.MustTensor(t, call+"bias_out")
		assert.Equal(t, bin, bout, "MaxNorm never changes the bias")
	}
}

// writeFixture writes a safetensors file with the given metadata and F32
// tensors, in the layout gen_nn.py uses, and returns its path; edit may
// change the header before it is written.
func writeFixture(t *testing.T, meta map[string]string, tensors map[string][]float32, edit func(map[string]any)) string {
	t.Helper()
	header := map[string]any{"__metadata__": meta}
	var data []byte
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		begin := len(data)
		for _, v := range tensors[name] {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
		header[name] = map[string]any{"dtype": "F32", "shape": []int{len(tensors[name])}, "data_offsets": []int{begin, len(data)}}
	}
	if edit != nil {
		edit(header)
	}
	text, err := json.Marshal(header)
	require.NoError(t, err)
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(text)))
	buf = append(append(buf, text...), data...)
	path := filepath.Join(t.TempDir(), "f.safetensors")
	require.NoError(t, os.WriteFile(path, buf, 0o644))
	return path
}

func goodMeta() map[string]string { return map[string]string{"format": Format, "version": Version} }

func TestLoadRoundTrip(t *testing.T) {
	path := writeFixture(t, goodMeta(), map[string][]float32{"a": {1, -2.5}, "b": {3}}, nil)
	f, err := Load(path)
	require.NoError(t, err)
	shape, a, err := f.Tensor("a")
	require.NoError(t, err)
	assert.Equal(t, []int{2}, shape)
	assert.Equal(t, []float32{1, -2.5}, a)
	assert.Equal(t, []string{"a", "b"}, f.Names(""))
	_, _, err = f.Int64("a")
	assert.ErrorContains(t, err, `tensor "a" is F32, not I64`)
	_, _, err = f.Tensor("missing")
	assert.ErrorContains(t, err, "regenerate with: "+Regenerate)
	var v int
	assert.Error(t, f.MetaJSON("format", &v), "format is not JSON")
}

func TestLoadRejects(t *testing.T) {
	stale := goodMeta()
	stale["version"] = "0"
	tests := []struct {
		name string
		meta map[string]string
		edit func(map[string]any)
		want string
	}{
		{"old version", stale, nil, "regenerate with: /usr/bin/python3 tools/golden/gen_nn.py"},
		{"no metadata", nil, nil, `format "" version ""`},
		{"dtype not of the fixtures", goodMeta(), func(h map[string]any) { h["a"].(map[string]any)["dtype"] = "I32" }, `dtype "I32"`},
		{"size mismatch", goodMeta(), func(h map[string]any) { h["a"].(map[string]any)["shape"] = []int{3} }, "want 12"},
		{"out of range", goodMeta(), func(h map[string]any) { h["b"].(map[string]any)["data_offsets"] = []int{8, 16} }, "outside"},
		{"overlap", goodMeta(), func(h map[string]any) {
			h["b"].(map[string]any)["data_offsets"] = []int{4, 8}
			h["b"].(map[string]any)["shape"] = []int{1}
		}, "overlap or gap"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFixture(t, tc.meta, map[string][]float32{"a": {1, 2}, "b": {3}}, tc.edit)
			_, err := Load(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), path)
		})
	}
}

func TestLoadRejectsTruncated(t *testing.T) {
	buf, err := os.ReadFile(filepath.Join(dir, "relu.safetensors"))
	require.NoError(t, err)
	for _, n := range []int{0, 7, 8, 100, len(buf) - 1} {
		path := filepath.Join(t.TempDir(), "cut.safetensors")
		require.NoError(t, os.WriteFile(path, buf[:n], 0o644))
		_, err := Load(path)
		assert.Error(t, err, "%d of %d bytes", n, len(buf))
	}
}

// recorder captures what Compare reports instead of failing the test.
type recorder struct {
	testing.TB
	errors, logs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
}
func (r *recorder) Logf(format string, a ...any) { r.logs = append(r.logs, fmt.Sprintf(format, a...)) }
func (r *recorder) Error(a ...any)               { r.errors = append(r.errors, fmt.Sprint(a...)) }

func TestCompare(t *testing.T) {
	torch := []float32{100, -50, 0.5}
	// The tolerance is 1e-4·100 + 1e-5 = 0.01001.
	tests := []struct {
		name string
		ours []float32
		ok   bool
	}{
		{"equal", []float32{100, -50, 0.5}, true},
		{"within", []float32{100.01, -50, 0.5}, true},
		{"small element, large error", []float32{100, -50, 0.52}, false},
		{"beyond", []float32{100, -50.02, 0.5}, false},
		{"nan", []float32{100, float32(math.NaN()), 0.5}, false},
		{"inf", []float32{float32(math.Inf(1)), -50, 0.5}, false},
		{"short", []float32{100, -50}, false},
	}
	for _, tc := range tests {
		r := &recorder{TB: t}
		assert.Equal(t, tc.ok, Compare(r, "w", tc.ours, torch), tc.name)
		assert.Equal(t, tc.ok, len(r.errors) == 0, "%s: %v", tc.name, r.errors)
		if tc.ok {
			require.Len(t, r.logs, 1, tc.name)
			assert.Contains(t, r.logs[0], "max|ours-torch|")
		}
	}
	diff, at, tol := Diff([]float64{1, 2.5}, []float64{1, 2})
	assert.Equal(t, 0.5, diff)
	assert.Equal(t, 1, at)
	assert.InDelta(t, 2e-4+1e-5, tol, 1e-15)
}

func TestExpect(t *testing.T) {
	f := fixture(t, "linear")
	shape, y := f.MustTensor(t, "c0.y")
	r := &recorder{TB: t}
	assert.True(t, f.Expect(r, "c0.y", shape, y))
	assert.False(t, f.Expect(r, "c0.y", []int{shape[1], shape[0]}, y), "transposed shape")
	assert.False(t, f.Expect(r, "c0.nope", shape, y))
	assert.Len(t, r.errors, 2)
}
