package nn

import (
	"archive/zip"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/glmc/glmc/autograd"
	"github.com/glmc/glmc/internal/fuzzcorpus"
	"github.com/glmc/glmc/internal/pickle"
	"github.com/glmc/glmc/tensor"
)

// goldenDir holds the PyTorch fixtures and checkpoints written by
// tools/golden/gen_nn.py.
const goldenDir = "testdata/golden"

// TestOfficialArchs builds every official architecture at its official
// width and checks that InferConfig recovers it from the state dict.
func TestOfficialArchs(t *testing.T) {
	for _, arch := range Archs() {
		if testing.Short() && arch != "resnet32" {
			continue
		}
		m, err := NewModel(Config{Arch: arch, NumClasses: 100}, tensor.NewRNG(3))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := InferConfig(StateOf(m))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Arch != arch || cfg.Width != DefaultWidth || cfg.HeadWidth != archs[arch].head || cfg.NumClasses != 100 ||
			cfg.Groups != archs[arch].groups || cfg.WidthPerGroup != archs[arch].widthPerGroup {
			t.Errorf("%s: inferred %+v", arch, cfg)
		}
		if want := map[string]int{"resnet32": 256, "resnet18": 512, "resnet34": 512, "resnet50_lt": 2048, "resnext50_32x4d": 2048}[arch]; want != 0 && m.FeatureDim() != want {
			t.Errorf("%s: feature dim %d, want %d", arch, m.FeatureDim(), want)
		}
	}
}

// saveLoad saves m to path and loads it back with the configuration
// inferred from the file.
func saveLoad(t *testing.T, m *Model, path string) *Model {
	t.Helper()
	if err := SaveModel(path, m); err != nil {
		t.Fatal(err)
	}
	back, err := LoadModel(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestSafetensorsRoundTrip(t *testing.T) {
	m, err := NewModel(Config{Arch: "resnet18", NumClasses: 10, Width: 2, HeadWidth: 16, Blocks: []int{2, 2, 2, 2}}, tensor.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	// A training forward gives non-trivial running statistics and counts.
	autograd.NoGrad(m.Parameters(), func() { m.Forward(autograd.Const(tensor.RandN(tensor.NewRNG(6), 4, 3, 16, 16))) })
	path := filepath.Join(t.TempDir(), "model.safetensors")
	back := saveLoad(t, m, path)
	want, got := StateOf(m), StateOf(back)
	if !slices.Equal(want.Names, got.Names) {
		t.Fatalf("names differ:\n%v\n%v", want.Names, got.Names)
	}
	for _, name := range want.Names {
		a, b := want.Tensors[name], got.Tensors[name]
		if !slices.Equal(a.Shape, b.Shape) || !slices.Equal(a.Float, b.Float) || !slices.Equal(a.Int, b.Int) {
			t.Errorf("%s differs after the round trip", name)
		}
	}
	// The file is stable: writing the loaded model again gives the same bytes.
	path2 := filepath.Join(t.TempDir(), "again.safetensors")
	if err := SaveModel(path2, back); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(path)
	b2, _ := os.ReadFile(path2)
	if !bytes.Equal(b1, b2) {
		t.Error("a saved, loaded and saved again model gives different bytes")
	}
}

func TestLoadStateMismatch(t *testing.T) {
	m, err := NewModel(Config{Arch: "resnet32", NumClasses: 10, Width: 4}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		change func(s *State)
		want   []string
	}{
		{"missing", func(s *State) {
			delete(s.Tensors, "layer2.1.bn1.running_var")
			s.Names = slices.DeleteFunc(s.Names, func(n string) bool { return n == "layer2.1.bn1.running_var" })
		}, []string{`missing key "layer2.1.bn1.running_var"`, "[8]"}},
		{"extra", func(s *State) {
			s.Add("fc.extra", &StateTensor{Shape: []int{2}, Float: []float32{1, 2}})
		}, []string{`unexpected key "fc.extra"`, "[2]"}},
		{"shape", func(s *State) {
			s.Tensors["fc_cb.weight"] = &StateTensor{Shape: []int{10, 15}, Float: make([]float32, 150)}
		}, []string{`"fc_cb.weight"`, "[10 15]", "[10 16]"}},
		{"int for float", func(s *State) {
			s.Tensors["bn1.weight"] = &StateTensor{Shape: []int{4}, Int: make([]int64, 4)}
		}, []string{`"bn1.weight"`, "int64"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := StateOf(m)
			c.change(s)
			before := StateOf(m)
			err := LoadState(m, s)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
			if after := StateOf(m); !slices.Equal(after.Tensors["conv1.weight"].Float, before.Tensors["conv1.weight"].Float) {
				t.Error("a failed load changed the model")
			}
		})
	}
}

// TestCorruptFiles cuts and damages real files: every failure is a single
// line that names the file, and nothing panics.
func TestCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "model.safetensors")
	m, err := NewModel(Config{Arch: "resnet32", NumClasses: 10, Width: 4}, tensor.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveModel(st, m); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{st, filepath.Join(goldenDir, "resnet32_w4.pth.tar")} {
		whole, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		variants := map[string][]byte{"empty": nil}
		for _, cut := range []int{4, 8, 100, len(whole) / 2, len(whole) - 1} {
			variants["cut"+strconv.Itoa(cut)] = whole[:cut]
		}
		flipped := slices.Clone(whole)
		flipped[len(whole)/3] ^= 0xff
		variants["flipped"] = flipped
		for name, b := range variants {
			path := filepath.Join(dir, filepath.Base(src)+"."+name)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadModel(path, Config{})
			if name == "flipped" && err == nil {
				continue // a flipped byte inside tensor data is not detectable
			}
			if err == nil {
				t.Errorf("%s: loaded without error", path)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s", msg, path)
			}
		}
	}
}

// tinyCheckpoint is a small torch.save file, made with torch 1.13 by
//
//	sd = OrderedDict([("module.bn.weight", torch.tensor([1.0, 2.0])),
//	                  ("module.bn.num_batches_tracked", torch.tensor(3)),
//	                  ("module.w", torch.arange(6.0).reshape(2, 3).t())])
//	torch.save({"epoch": 1, "state_dict": sd, "best_acc1": 1.5}, "tiny.pth.tar")
//
// w is a transposed (non-contiguous) view, stored with strides (1, 3).
const tinyCheckpoint = "testdata/tiny.pth.tar"

func TestReadPyTorchTiny(t *testing.T) {
	s, err := LoadStateFile(tinyCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"bn.weight", "bn.num_batches_tracked", "w"}; !slices.Equal(s.Names, want) {
		t.Fatalf("names %v, want %v", s.Names, want)
	}
	w := s.Tensors["w"]
	if !slices.Equal(w.Shape, []int{3, 2}) || !slices.Equal(w.Float, []float32{0, 3, 1, 4, 2, 5}) {
		t.Errorf("w = %v %v, want [3 2] [0 3 1 4 2 5]", w.Shape, w.Float)
	}
	if n := s.Tensors["bn.num_batches_tracked"]; len(n.Shape) != 0 || !slices.Equal(n.Int, []int64{3}) {
		t.Errorf("num_batches_tracked = %v %v, want [] [3]", n.Shape, n.Int)
	}
}

// checkValues fails t unless every tensor of s has as many values as its
// shape wants.
func checkValues(t *testing.T, s *State) {
	for _, name := range s.Names {
		if st := s.Tensors[name]; len(st.Float)+len(st.Int) != numel(st.Shape) {
			t.Fatalf("%s: %d values for shape %v", name, len(st.Float)+len(st.Int), st.Shape)
		}
	}
}

func FuzzReadPyTorch(f *testing.F) {
	// Small seeds: the mutator is slow on the 100 KB model checkpoints.
	b, err := os.ReadFile(tinyCheckpoint)
	if err != nil {
		f.Fatal(err)
	}
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "tiny", Args: []any{b}},
		fuzzcorpus.Seed{Name: "cut", Args: []any{b[:len(b)/2]}},
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ReadPyTorch(b)
		fuzzcorpus.OneLine(t, err)
		if err == nil {
			checkValues(t, s)
		}
	})
}

// FuzzTorchPickle mutates data.pkl of the tiny checkpoint, with its
// storages in place: the zip layer's CRC checks reject most mutations that
// FuzzReadPyTorch makes, so the pickle layer gets its own target.
func FuzzTorchPickle(f *testing.F) {
	b, err := os.ReadFile(tinyCheckpoint)
	if err != nil {
		f.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		f.Fatal(err)
	}
	entries := map[string]*zip.File{}
	for _, e := range zr.File {
		entries[e.Name] = e
	}
	raw, err := readEntry(entries["tiny.pth/data.pkl"], pickle.MaxBytes)
	if err != nil {
		f.Fatal(err)
	}
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "data.pkl", Args: []any{raw}},
		fuzzcorpus.Seed{Name: "after-stop", Args: []any{append(slices.Clone(raw), 'N')}},
		fuzzcorpus.Seed{Name: "cut", Args: []any{raw[:len(raw)/2]}},
		fuzzcorpus.Seed{Name: "persistent-id-newline", Args: []any{[]byte("\x80\x02X\x03\x00\x00\x00a\nbQ.")}},
	)
	f.Fuzz(func(t *testing.T, raw []byte) {
		ld := &torchLoader{dir: "tiny.pth", entries: entries, storages: map[string]*torchStorage{}}
		s, err := ld.unpickle(raw)
		fuzzcorpus.OneLine(t, err)
		if err == nil {
			checkValues(t, s)
		}
	})
}

// torchCheckDir, when set, makes TestWriteTorchCheck write a state dict and
// its eval logits for every architecture family into the folder, for
// tools/golden/gen_nn.py --check (see the test).
var torchCheckDir = flag.String("torchcheck", "", "folder to write safetensors state dicts and logits for gen_nn.py --check")

// TestWriteTorchCheck writes, with -torchcheck DIR, models saved by this
// package and their eval-mode logits on a fixed batch, so that PyTorch can
// confirm the files load there with identical logits:
//
//	go test ./nn -run TestWriteTorchCheck -torchcheck /tmp/check
//	for f in /tmp/check/*[0-9].safetensors; do /usr/bin/python3 tools/golden/gen_ltmodels.py --check $f; done
//
// Without the flag it checks that the files are written and read back.
func TestWriteTorchCheck(t *testing.T) {
	dir := *torchCheckDir
	if dir == "" {
		dir = t.TempDir()
	}
	for i, cfg := range []Config{
		{Arch: "resnet32", NumClasses: 10, Width: 4},
		{Arch: "resnet18", NumClasses: 7, Width: 2, HeadWidth: 16},
		{Arch: "resnet50", NumClasses: 5, Width: 2, HeadWidth: 16, Blocks: []int{2, 1, 1, 1}},
		{Arch: "resnext50_32x4d", NumClasses: 6, Width: 8, HeadWidth: 16, Blocks: []int{2, 1, 1, 1}, Groups: 4, WidthPerGroup: 16},
	} {
		rng := tensor.NewRNG(11, uint64(i))
		m, err := NewModel(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		// Training steps' worth of running statistics, so eval mode uses
		// non-trivial buffers.
		x := tensor.RandN(rng, 4, 3, 16, 16)
		autograd.NoGrad(m.Parameters(), func() { m.Forward(autograd.Const(x)) })
		m.Train(false)
		logits := m.Forward(autograd.Const(x)).Value
		base := filepath.Join(dir, cfg.Arch+"_w"+strconv.Itoa(cfg.Width))
		back := saveLoad(t, m, base+".safetensors")
		companion := NewState()
		companion.Add("x", &StateTensor{Shape: x.Shape, Float: x.Data})
		companion.Add("logits", &StateTensor{Shape: logits.Shape, Float: logits.Data})
		if err := SaveSafetensors(base+".logits.safetensors", companion, nil); err != nil {
			t.Fatal(err)
		}
		if got := back.Forward(autograd.Const(x)).Value; !slices.Equal(got.Data, logits.Data) {
			t.Errorf("%s: logits differ after a save and load", base)
		}
	}
}

// TestInChannels builds grey-scale models (Fashion-MNIST's 1×28×28 images)
// of both families, runs them, and checks that the channel count survives
// a safetensors round trip through InferConfig and LoadModel.
func TestInChannels(t *testing.T) {
	for _, arch := range []string{"resnet32", "resnet18"} {
		t.Run(arch, func(t *testing.T) {
			cfg := Config{Arch: arch, NumClasses: 10, Width: 4, HeadWidth: 8, InChannels: 1, Blocks: []int{1, 1, 1}}
			if arch == "resnet18" {
				cfg.Blocks = []int{1, 1, 1, 1}
			}
			m, err := NewModel(cfg, tensor.NewRNG(1))
			if err != nil {
				t.Fatal(err)
			}
			m.Train(false)
			x := autograd.Const(tensor.RandN(tensor.NewRNG(2), 2, 1, 28, 28))
			want := m.Forward(x).Value
			if !slices.Equal(want.Shape, []int{2, 10}) {
				t.Fatalf("logits of shape %v, want [2 10]", want.Shape)
			}
			path := filepath.Join(t.TempDir(), "grey.safetensors")
			loaded := saveLoad(t, m, path)
			if loaded.Config.InChannels != 1 {
				t.Errorf("inferred %d input channels, want 1", loaded.Config.InChannels)
			}
			if got := loaded.Forward(x).Value; !slices.Equal(got.Data, want.Data) {
				t.Error("the reloaded model gives other logits")
			}
			if _, err := LoadModel(path, Config{InChannels: 3}); err == nil || !strings.Contains(err.Error(), "conv1") {
				t.Errorf("loading as a 3-channel model: error %v, want one naming conv1", err)
			}
		})
	}
	m, err := NewModel(Config{Arch: "resnet32", NumClasses: 10, Width: 4, Blocks: []int{1, 1, 1}}, tensor.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.InChannels != 3 {
		t.Errorf("default input channels %d, want 3", m.Config.InChannels)
	}
}
