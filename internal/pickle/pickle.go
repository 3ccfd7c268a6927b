// Package pickle decodes Python pickles (protocols 0 to 5) from outside
// files with github.com/nlpodyssey/gopickle, after Check has proved the
// stream well-formed: gopickle trusts length fields (it would allocate
// whatever a corrupt file claims) and can panic on streams that are
// well-framed but malformed, and Check turns both into one-line errors.
package pickle

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/nlpodyssey/gopickle/pickle"
)

// MaxBytes bounds a pickle: the largest expected, CIFAR-100's training
// batch, is 155 MB, a PyTorch state dict's data.pkl well under 1 MB.
const MaxBytes = 256 << 20

// MaxDepth bounds how deeply containers nest, as written in the stream
// (memo references are not followed, so cycles do not count): a PyTorch
// state dict nests about 8 deep, a CIFAR batch 5.
const MaxDepth = 100

// Options tells Load how to resolve what a pickle refers to.
type Options struct {
	// FindClass returns the callable or class that a GLOBAL (module,
	// name) other than gopickle's built-in few (collections.OrderedDict,
	// ...) stands for; nil makes them generic objects.
	FindClass func(module, name string) (any, error)
	// PersistentLoad returns the object a persistent id stands for
	// (PyTorch's storages); nil refuses persistent ids.
	PersistentLoad func(id any) (any, error)
}

// Load decodes the one pickle held in b, after Check.
func Load(b []byte, opt Options) (v any, err error) {
	if err := Check(b); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("pickle: malformed stream: %v", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(b))
	u.FindClass = opt.FindClass
	u.PersistentLoad = opt.PersistentLoad
	if v, err = u.Load(); err != nil {
		return nil, fmt.Errorf("pickle: %w", err)
	}
	return v, nil
}

// Brief renders a decoded value for an error message: quoted, so that it
// stays on one line whatever strings a corrupt file holds, and cut after
// 60 bytes.
func Brief(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return strconv.Quote(s)
}
