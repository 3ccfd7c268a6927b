package data

import (
	"fmt"
	"math/big"

	"github.com/glmc/glmc/internal/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// The python CIFAR layout is a set of Python 2 pickles (protocol 2) of
// dicts whose pixel array is a numpy ndarray. The types below stand in for
// the three numpy callables such a pickle names, so that no Python object
// model is needed.

// unpickle decodes one whole pickle held in b (see internal/pickle).
func unpickle(b []byte) (any, error) {
	return pickle.Load(b, pickle.Options{FindClass: findNumpyClass})
}

// ndarray is a numpy array rebuilt from its pickled state.
type ndarray struct {
	shape []int
	dtype string // numpy type code such as "u1", with any byte-order prefix dropped
	data  []byte
}

// npDtype is a numpy dtype object; only its type code matters here.
type npDtype struct{ code string }

// npReconstruct is numpy.core.multiarray._reconstruct: it makes the empty
// array that BUILD then fills through PySetState.
type npReconstruct struct{}

// npClass stands for the classes numpy.ndarray and numpy.dtype when they
// appear as arguments rather than being called.
type npClass struct{ name string }

func findNumpyClass(module, name string) (any, error) {
	switch module + "." + name {
	case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
		return npReconstruct{}, nil
	case "numpy.ndarray":
		return npClass{"ndarray"}, nil
	case "numpy.dtype":
		return npClass{"dtype"}, nil
	}
	return nil, fmt.Errorf("pickle names %s.%s; only numpy arrays are expected", module, name)
}

func (npReconstruct) Call(args ...any) (any, error) {
	if len(args) < 1 || args[0] != (npClass{"ndarray"}) {
		return nil, fmt.Errorf("_reconstruct: want numpy.ndarray, got %s", pickle.Brief(args))
	}
	return &ndarray{}, nil
}

// Call builds a dtype, as numpy.dtype(code, align, copy) does.
func (c npClass) Call(args ...any) (any, error) {
	if c.name != "dtype" || len(args) < 1 {
		return nil, fmt.Errorf("cannot call numpy.%s with %s", c.name, pickle.Brief(args))
	}
	code, ok := pyString(args[0])
	if !ok {
		return nil, fmt.Errorf("numpy.dtype: type code %s is not a string", pickle.Brief(args[0]))
	}
	return &npDtype{code: code}, nil
}

// PySetState accepts numpy's dtype state tuple; byte order does not matter
// for the one-byte types this package reads.
func (d *npDtype) PySetState(any) error { return nil }

// PySetState fills the array from numpy's state tuple:
// (version, shape, dtype, is_fortran, raw data) or the older 4-tuple
// without the version.
func (a *ndarray) PySetState(state any) error {
	t, ok := state.(*types.Tuple)
	if !ok || (t.Len() != 4 && t.Len() != 5) {
		return fmt.Errorf("ndarray state: want a 4- or 5-tuple, got %T", state)
	}
	f := []any(*t)
	if len(f) == 5 {
		f = f[1:]
	}
	shape, ok := f[0].(*types.Tuple)
	if !ok {
		return fmt.Errorf("ndarray state: shape %s is not a tuple", pickle.Brief(f[0]))
	}
	for _, d := range *shape {
		n, ok := pyInt(d)
		if !ok || n < 0 {
			return fmt.Errorf("ndarray state: bad extent %s", pickle.Brief(d))
		}
		a.shape = append(a.shape, n)
	}
	dt, ok := f[1].(*npDtype)
	if !ok {
		return fmt.Errorf("ndarray state: dtype %s is not a numpy dtype", pickle.Brief(f[1]))
	}
	a.dtype = dt.code
	if fortran, _ := f[2].(bool); fortran {
		return fmt.Errorf("ndarray state: Fortran-ordered arrays are not supported")
	}
	switch raw := f[3].(type) {
	case string:
		a.data = []byte(raw)
	case []byte:
		a.data = raw
	default:
		return fmt.Errorf("ndarray state: data is %T, want raw bytes", f[3])
	}
	return nil
}

// pyString accepts both Python 2 str (decoded by gopickle as a Go string)
// and Python 3 bytes.
func pyString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	}
	return "", false
}

func pyInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case *big.Int:
		if n.IsInt64() {
			return int(n.Int64()), true
		}
	}
	return 0, false
}

// pyDictGet finds key in a pickled dict whose keys may be str or bytes.
func pyDictGet(v any, key string) (any, error) {
	d, ok := v.(*types.Dict)
	if !ok {
		return nil, fmt.Errorf("top-level object is %T, want a dict", v)
	}
	for _, e := range *d {
		if k, ok := pyString(e.Key); ok && k == key {
			return e.Value, nil
		}
	}
	return nil, fmt.Errorf("no %q key", key)
}

// pyList returns the items of a pickled list (or tuple).
func pyList(v any) ([]any, bool) {
	switch l := v.(type) {
	case *types.List:
		return []any(*l), true
	case *types.Tuple:
		return []any(*l), true
	}
	return nil, false
}
