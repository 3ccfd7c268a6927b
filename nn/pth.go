package nn

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/glmc/glmc/internal/pickle"
	"github.com/glmc/glmc/internal/safetensors"
	"github.com/nlpodyssey/gopickle/types"
)

// PyTorch checkpoints (torch.save since 1.6) are zip archives whose
// entries sit under one folder (any name: "archive/", or the file's stem
// such as "model.pth/"): data.pkl, a pickle of the saved object in which
// every tensor is a call of torch._utils._rebuild_tensor_v2 on a storage
// given by persistent id ("storage", class, key, location, numel), and
// data/<key>, the raw little-endian values of each storage.

// ReadPyTorch decodes a checkpoint written by torch.save, held in b, and
// returns its state dict: the "state_dict" entry of a saved dict (as the
// official Trainer saves) or the saved dict itself when it holds only
// tensors, with DataParallel's "module." prefix removed. Float tensors
// come back as float32, integer ones as int64. Errors describe what is
// wrong without the file name; LoadStateFile adds it.
func ReadPyTorch(b []byte) (*State, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("pytorch checkpoint: not a zip archive (legacy pre-1.6 format or truncated file?): %w", err)
	}
	entries := map[string]*zip.File{}
	var pkl *zip.File
	for _, f := range zr.File {
		entries[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") == 1 {
			if pkl != nil {
				return nil, fmt.Errorf("pytorch checkpoint: two data.pkl entries (%s, %s)", pkl.Name, f.Name)
			}
			pkl = f
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("pytorch checkpoint: no <folder>/data.pkl entry")
	}
	dir := path.Dir(pkl.Name)
	if bo, ok := entries[dir+"/byteorder"]; ok {
		order, err := readEntry(bo, 16)
		if err != nil {
			return nil, err
		}
		if string(order) != "little" {
			return nil, fmt.Errorf("pytorch checkpoint: byte order %q, only little-endian is supported", order)
		}
	}
	raw, err := readEntry(pkl, pickle.MaxBytes)
	if err != nil {
		return nil, err
	}
	ld := &torchLoader{dir: dir, entries: entries, storages: map[string]*torchStorage{}}
	s, err := ld.unpickle(raw)
	if err != nil {
		return nil, fmt.Errorf("pytorch checkpoint: %s: %w", pkl.Name, err)
	}
	return s, nil
}

// unpickle decodes data.pkl and returns the state dict it holds.
func (ld *torchLoader) unpickle(raw []byte) (*State, error) {
	obj, err := pickle.Load(raw, pickle.Options{FindClass: ld.findClass, PersistentLoad: ld.persistentLoad})
	if err != nil {
		return nil, err
	}
	return stateFromPickle(obj)
}

// readEntry reads a whole zip entry of at most limit bytes.
func readEntry(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("pytorch checkpoint: entry %s: %d bytes, more than the %d expected", f.Name, f.UncompressedSize64, limit)
	}
	r, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("pytorch checkpoint: entry %s: %w", f.Name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("pytorch checkpoint: entry %s: %w", f.Name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("pytorch checkpoint: entry %s: more than the %d bytes expected", f.Name, limit)
	}
	return b, nil
}

// stateFromPickle finds the state dict in the unpickled object.
func stateFromPickle(obj any) (*State, error) {
	d, ok := asDict(obj)
	if !ok {
		return nil, fmt.Errorf("pytorch checkpoint: the saved object is a %T, not a dict", obj)
	}
	if sd, ok := d.get("state_dict"); ok {
		if d, ok = asDict(sd); !ok {
			return nil, fmt.Errorf("pytorch checkpoint: its state_dict is a %T, not a dict", sd)
		}
	}
	s := NewState()
	prefixed := len(d.keys) > 0
	for i, k := range d.keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("pytorch checkpoint: state dict key %s is a %T, not a string", pickle.Brief(k), k)
		}
		t, ok := d.values[i].(*StateTensor)
		if !ok {
			return nil, fmt.Errorf("pytorch checkpoint: state dict entry %q is a %T, not a tensor (no state_dict entry?)", name, d.values[i])
		}
		if _, dup := s.Tensors[name]; dup {
			return nil, fmt.Errorf("pytorch checkpoint: state dict key %q appears twice", name)
		}
		s.Add(name, t)
		prefixed = prefixed && strings.HasPrefix(name, "module.")
	}
	if prefixed {
		s = s.StripPrefix("module.")
	}
	return s, nil
}

// pyDict is a Python dict or OrderedDict as parallel key and value lists.
type pyDict struct{ keys, values []any }

func asDict(v any) (pyDict, bool) {
	var d pyDict
	switch v := v.(type) {
	case *types.Dict:
		for _, e := range *v {
			d.keys, d.values = append(d.keys, e.Key), append(d.values, e.Value)
		}
	case *types.OrderedDict:
		for e := v.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			d.keys, d.values = append(d.keys, entry.Key), append(d.values, entry.Value)
		}
	default:
		return d, false
	}
	return d, true
}

// get returns the value of the string key k.
func (d pyDict) get(k string) (any, bool) {
	for i, key := range d.keys {
		if key == k {
			return d.values[i], true
		}
	}
	return nil, false
}

// torchLoader resolves the classes and storages that data.pkl refers to.
type torchLoader struct {
	dir      string               // folder of the entries
	entries  map[string]*zip.File // by full name
	storages map[string]*torchStorage
}

// storageClass is one of torch's typed storage classes (torch.FloatStorage,
// ...): the dtype of the values in a data/<key> entry, named as in
// safetensors.
type storageClass struct {
	name  string
	dtype string
}

var storageClasses = map[string]storageClass{
	"FloatStorage":    {"FloatStorage", "F32"},
	"DoubleStorage":   {"DoubleStorage", "F64"},
	"HalfStorage":     {"HalfStorage", "F16"},
	"BFloat16Storage": {"BFloat16Storage", "BF16"},
	"LongStorage":     {"LongStorage", "I64"},
	"IntStorage":      {"IntStorage", "I32"},
	"ShortStorage":    {"ShortStorage", "I16"},
	"CharStorage":     {"CharStorage", "I8"},
	"ByteStorage":     {"ByteStorage", "U8"},
	"BoolStorage":     {"BoolStorage", "BOOL"},
}

// torchStorage is a decoded storage.
type torchStorage struct {
	float []float32
	ints  []int64
}

func (s *torchStorage) len() int { return len(s.float) + len(s.ints) }

// pyFunc adapts a Go function to a Python callable for REDUCE.
type pyFunc func(args ...any) (any, error)

// Call implements types.Callable.
func (f pyFunc) Call(args ...any) (any, error) { return f(args...) }

// opaqueClass stands for any other class a checkpoint names (such as
// numpy scalars beside the state dict): calling it gives an opaque object
// that accepts any state, so the rest of the file still loads.
type opaqueClass struct{ name string }

// Call implements types.Callable.
func (c opaqueClass) Call(...any) (any, error) { return &opaqueObject{c.name}, nil }

// PyNew implements types.PyNewable.
func (c opaqueClass) PyNew(...any) (any, error) { return &opaqueObject{c.name}, nil }

type opaqueObject struct{ class string }

// PySetState implements types.PyStateSettable.
func (*opaqueObject) PySetState(any) error { return nil }

func (ld *torchLoader) findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor_v2":
		return pyFunc(rebuildTensor), nil
	case "torch._utils._rebuild_parameter":
		return pyFunc(func(args ...any) (any, error) {
			if len(args) < 1 {
				return nil, fmt.Errorf("_rebuild_parameter: no arguments")
			}
			return args[0], nil
		}), nil
	}
	if c, ok := storageClasses[name]; ok && module == "torch" {
		return c, nil
	}
	return opaqueClass{module + "." + name}, nil
}

// persistentLoad decodes the storage a persistent id names.
func (ld *torchLoader) persistentLoad(id any) (any, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() < 5 {
		return nil, fmt.Errorf("persistent id %s: want ('storage', class, key, location, numel)", pickle.Brief(id))
	}
	kind, _ := t.Get(0).(string)
	class, okClass := t.Get(1).(storageClass)
	key, okKey := t.Get(2).(string)
	count, okCount := t.Get(4).(int)
	if kind != "storage" || !okClass || !okKey || !okCount || count < 0 {
		return nil, fmt.Errorf("persistent id %s: want ('storage', a torch storage class, key, location, numel)", pickle.Brief(id))
	}
	if s, ok := ld.storages[key]; ok {
		return s, nil
	}
	f, ok := ld.entries[ld.dir+"/data/"+key]
	if !ok {
		return nil, fmt.Errorf("storage %q: no entry %s/data/%s", key, ld.dir, key)
	}
	size, _ := safetensors.DTypeSize(class.dtype)
	if uint64(count) > f.UncompressedSize64/uint64(size) {
		return nil, fmt.Errorf("storage %q: entry %s has %d bytes, too few for %d %s values (truncated file?)",
			key, f.Name, f.UncompressedSize64, count, class.name)
	}
	want := int64(count) * int64(size)
	raw, err := readEntry(f, want)
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) < want {
		return nil, fmt.Errorf("storage %q: entry %s holds %d bytes, want %d (truncated file?)", key, f.Name, len(raw), want)
	}
	v, err := stateTensor(safetensors.Tensor{Name: key, DType: class.dtype, Data: raw[:want]})
	if err != nil {
		return nil, err
	}
	s := &torchStorage{float: v.Float, ints: v.Int}
	ld.storages[key] = s
	return s, nil
}

// maxElements bounds the element count of one tensor (8 GiB of float32).
const maxElements = 1 << 31

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, offset, size,
// stride, requires_grad, backward_hooks[, metadata]): it gathers the
// elements of the strided view into a contiguous StateTensor.
func rebuildTensor(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(*torchStorage)
	offset, okOffset := args[1].(int)
	size, okSize := intTuple(args[2])
	stride, okStride := intTuple(args[3])
	if !ok || !okOffset || !okSize || !okStride || len(size) != len(stride) || offset < 0 {
		return nil, fmt.Errorf("_rebuild_tensor_v2(%T, %s, %s, %s): want a storage, an offset and equal-length size and stride tuples",
			args[0], pickle.Brief(args[1]), pickle.Brief(args[2]), pickle.Brief(args[3]))
	}
	// The view must stay inside the storage: last is the highest element
	// it reaches, checked dimension by dimension without overflow.
	count, last := 1, offset
	for i, d := range size {
		if d < 0 || stride[i] < 0 || (d > 0 && count > maxElements/d) {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size %v, stride %v: bad extents", size, stride)
		}
		count *= d
		if d > 1 && stride[i] > 0 && d-1 > (st.len()-1-last)/stride[i] {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size %v, stride %v at offset %d reach past the %d-element storage",
				size, stride, offset, st.len())
		}
		if d > 0 {
			last += (d - 1) * stride[i]
		}
	}
	if count > 0 && last >= st.len() {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size %v at offset %d reaches past the %d-element storage", size, offset, st.len())
	}
	t := &StateTensor{Shape: size}
	if st.float != nil {
		t.Float = make([]float32, count)
	} else {
		t.Int = make([]int64, count)
	}
	// Walk the view in row-major order with an odometer over the indices.
	idx := make([]int, len(size))
	at := offset
	for i := range count {
		if t.Float != nil {
			t.Float[i] = st.float[at]
		} else {
			t.Int[i] = st.ints[at]
		}
		for d := len(size) - 1; d >= 0; d-- {
			idx[d]++
			at += stride[d]
			if idx[d] < size[d] {
				break
			}
			at -= idx[d] * stride[d]
			idx[d] = 0
		}
	}
	return t, nil
}

// intTuple converts a pickled tuple of ints.
func intTuple(v any) ([]int, bool) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, false
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, false
		}
	}
	return out, true
}
