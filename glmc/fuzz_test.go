package glmc

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/glmc/glmc/internal/fuzzcorpus"
	"github.com/glmc/glmc/nn"
	"github.com/glmc/glmc/tensor"
)

// The readers of a run folder's files must never panic on any bytes, and
// what they accept must be self-consistent. The seeds are literal, so
// that they stay valid when the trainer's numbers change.

// lastJSON is a run state as LastStateFile holds it (a CIFAR-10-LT run
// after 3 epochs), without the fields whose defaults change often.
const lastJSON = `{
  "format": 1,
  "config": {"dataset": "cifar10", "imbalance_factor": 100, "arch": "resnet32", "width": 64,
    "method": "glmc", "epochs": 200, "batch_size": 64, "lr": 0.01, "momentum": 0.9,
    "weight_decay": 0.005, "label_weighting": 1.2, "resample_weighting": 0,
    "contrast_weight": 1, "max_norm": 0, "seed": 3407},
  "epoch": 3,
  "step": 0,
  "best_epoch": 2,
  "best_top1": 41.25,
  "optimizer": "optimizer.3.safetensors",
  "train_counts": [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50],
  "test_images": 10000
}
`

// checkpointBytes is a LastFile-like safetensors file of one tensor with
// meta as its metadata.
func checkpointBytes(t testing.TB, meta map[string]string) []byte {
	s := nn.NewState()
	s.Add("fc.bias", &nn.StateTensor{Shape: []int{2}, Float: []float32{0.5, -1}})
	var b bytes.Buffer
	if err := nn.WriteSafetensors(&b, s, meta); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func FuzzReadState(f *testing.F) {
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "last", Args: []any{checkpointBytes(f, map[string]string{metaKey: lastJSON})}},
		fuzzcorpus.Seed{Name: "no-state", Args: []any{checkpointBytes(f, nil)}},
		fuzzcorpus.Seed{Name: "format-2", Args: []any{checkpointBytes(f, map[string]string{metaKey: `{"format":2}`})}},
		fuzzcorpus.Seed{Name: "pytorch", Args: []any{[]byte("PK\x03\x04\x14\x00")}},
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseState("last.safetensors", b)
		fuzzcorpus.OneLine(t, err)
		if err != nil {
			if !strings.Contains(err.Error(), "last.safetensors") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if st != nil && st.Format != stateFormat {
			t.Fatalf("accepted format %d", st.Format)
		}
	})
}

// FuzzStateFromMeta mutates the JSON itself, which FuzzReadState reaches
// only through the safetensors layer: what it accepts must survive a
// write and a read unchanged.
func FuzzStateFromMeta(f *testing.F) {
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "last.json", Args: []any{lastJSON}},
		fuzzcorpus.Seed{Name: "unknown-field", Args: []any{`{"format":1,"epochs":3}`}},
		fuzzcorpus.Seed{Name: "wrong-type", Args: []any{`{"format":1,"train_counts":"all"}`}},
		fuzzcorpus.Seed{Name: "truncated", Args: []any{lastJSON[:len(lastJSON)/2]}},
	)
	f.Fuzz(func(t *testing.T, raw string) {
		st, err := stateFromMeta("last.safetensors", map[string]string{metaKey: raw})
		fuzzcorpus.OneLine(t, err)
		if err != nil {
			return
		}
		js, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		back, err := stateFromMeta("again", map[string]string{metaKey: string(js)})
		if err != nil || !reflect.DeepEqual(back, st) {
			t.Fatalf("state %+v, then %+v (%v)", st, back, err)
		}
	})
}

// patternOptimizer gives l momentum buffers and MaxNorm limits of fixed
// values (not from a training step, so the seed does not change with the
// initialisation) and returns their file.
func patternOptimizer(t testing.TB, l *Learner) []byte {
	params := l.Model.Parameters()
	bufs := map[string]*tensor.Tensor{}
	for i, p := range params {
		v := tensor.New(p.Value.Shape...)
		for j := range v.Data {
			v.Data[j] = float32(i) + float32(j)/8
		}
		bufs["momentum_buffer."+strconv.Itoa(i)] = v
	}
	if err := l.Opt.LoadState(bufs); err != nil {
		t.Fatal(err)
	}
	limits := map[string]*tensor.Tensor{
		"limit.0": tensor.Scalar(0.25), // fc_cb.weight
		"limit.1": tensor.Scalar(float32(math.Inf(1))),
	}
	if err := l.MaxNorm.LoadState(limits); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := nn.WriteSafetensors(&b, optimizerState(l), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func FuzzReadOptimizer(f *testing.F) {
	l := tinyLearner(f)
	good := patternOptimizer(f, l)
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "optimizer.1", Args: []any{good}},
		fuzzcorpus.Seed{Name: "header-cut", Args: []any{good[:300]}},
		fuzzcorpus.Seed{Name: "empty", Args: []any{checkpointBytes(f, nil)[:16]}},
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		err := decodeOptimizer("optimizer.1.safetensors", b, l)
		fuzzcorpus.OneLine(t, err)
		if err != nil {
			return
		}
		// What was read is what the optimiser now holds.
		in, _, _ := nn.ReadSafetensors(b)
		out := optimizerState(l)
		if !slices.Equal(slices.Sorted(slices.Values(in.Names)), slices.Sorted(slices.Values(out.Names))) {
			t.Fatalf("read %v, hold %v", in.Names, out.Names)
		}
		for _, name := range in.Names {
			a, b := in.Tensors[name], out.Tensors[name]
			if !slices.Equal(a.Shape, b.Shape) || !slices.EqualFunc(a.Float, b.Float, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }) {
				t.Fatalf("%s: read %v %v, hold %v %v", name, a.Shape, a.Float, b.Shape, b.Float)
			}
		}
	})
}

func FuzzReadMetrics(f *testing.F) {
	line := `{"epoch":1,"lr":0.01,"alpha":1,"loss":2.25,"top1":30.5,"top5":80,"many":60,"medium":20,"few":0,"per_class":[90,10],"seconds":12.5,"img_per_s":900}`
	two := line + "\n" + strings.Replace(line, `"epoch":1`, `"epoch":2`, 1) + "\n"
	fuzzcorpus.Check(f,
		fuzzcorpus.Seed{Name: "two-epochs", Args: []any{[]byte(two), 2}},
		fuzzcorpus.Seed{Name: "uncommitted-epoch", Args: []any{[]byte(two), 1}},
		fuzzcorpus.Seed{Name: "torn-line", Args: []any{[]byte(two[:len(two)-20]), 2}},
	)
	f.Fuzz(func(t *testing.T, b []byte, epochs int) {
		recs, err := parseMetrics("metrics.jsonl", b, epochs)
		fuzzcorpus.OneLine(t, err)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.Epoch > epochs {
				t.Fatalf("kept epoch %d of a checkpoint after %d", r.Epoch, epochs)
			}
		}
	})
}
