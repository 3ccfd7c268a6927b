package tensor

import (
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// Arena recycles the storage of tensors whose lives end together, such as
// the activations and gradients of one training step. New hands out zeroed
// tensors, taking the storage from earlier ones that were given back;
// Release gives one tensor's storage back early (a gradient that has been
// used), Reset all of them (the step is over). A training loop that makes
// the same tensors every step therefore allocates storage in its first
// step only, and the garbage collector has nothing to do.
//
// A tensor from an arena is valid until it is released or the arena is
// reset; reading it afterwards reads whatever the storage holds next
// (PoisonReleased makes such reads show as NaN). Views that share its
// storage (Reshape) live as long. The nil *Arena is valid and hands out
// ordinary tensors that it never recycles, so code can take an arena
// without caring whether there is one. An Arena is safe for concurrent use.
//
// Large pieces of storage (sysMin bytes and more) are mapped from the
// operating system where it allows (Linux, macOS, the BSDs, Windows)
// rather than taken from the Go heap: the garbage collector lets the heap
// grow to twice what it holds before it collects, so storage that lives
// for the whole run would otherwise let every other allocation (data
// batches, evaluation) double the process's memory. They go back to the
// system when Reset drops them or when the arena, and every tensor it
// handed out, is no longer reachable; a []float32 taken from such a
// tensor must not outlive the tensor itself.
type Arena struct {
	// PoisonReleased fills storage with NaN when it is released or reset,
	// so that a tensor used after its release shows up in the results
	// (tests set it).
	PoisonReleased bool

	*arenaState
}

// arenaState is an Arena's storage, apart from the Arena so that a
// cleanup can give it back once the Arena is unreachable.
type arenaState struct {
	mu    sync.Mutex
	free  []block            // storage to hand out, by ascending capacity
	live  map[*float32]block // storage handed out, by its first element
	cycle int                // number of Resets so far
	held  int                // elements of all storage, live and free
}

// block is one piece of storage.
type block struct {
	data  []float32 // len(data) == cap(data)
	cycle int       // the cycle in which it was last handed out
	sys   bool      // mapped by sysAlloc rather than on the Go heap
}

// sysMin is the least size in bytes of storage mapped from the operating
// system: smaller pieces would waste most of a page.
const sysMin = 64 << 10

// NewArena returns an empty arena.
func NewArena() *Arena {
	s := &arenaState{live: map[*float32]block{}}
	a := &Arena{arenaState: s}
	runtime.AddCleanup(a, (*arenaState).unmapAll, s)
	return a
}

// unmapAll gives the mapped storage back to the system once the Arena
// and its tensors are unreachable.
func (s *arenaState) unmapAll() {
	for _, b := range s.free {
		b.drop()
	}
	for _, b := range s.live {
		b.drop()
	}
}

// newBlock returns n zeroed elements of storage, mapped from the system
// when they are large and the system allows.
func newBlock(n int) block {
	if 4*n >= sysMin {
		if d := sysAlloc(n); d != nil {
			return block{data: d, sys: true}
		}
	}
	return block{data: make([]float32, n)}
}

// drop gives mapped storage back to the system; heap storage is left to
// the garbage collector.
func (b block) drop() {
	if b.sys {
		sysFree(b.data)
	}
}

// New returns a zero tensor of the given shape, as the function New does,
// with storage from the arena: the smallest free piece that holds it,
// unless that piece is twice as large or more, when a new piece is made.
// On a nil arena it is the function New.
func (a *Arena) New(shape ...int) *Tensor {
	n := checkShape(shape)
	if a == nil || n == 0 {
		return New(shape...)
	}
	return &Tensor{Shape: slices.Clone(shape), Data: a.take(n, true), arena: a}
}

// Empty returns a tensor of the given shape with storage from the arena,
// as New does, but not zeroed: its values are whatever the storage held
// before (NaN under PoisonReleased, zero when the storage is new), like
// torch.empty. It is for results whose every element the caller writes
// before anything reads it, such as the output of a convolution or of a
// batch norm; a result that is summed into, or only partly written (the
// zero channels of a padded shortcut), needs New. On a nil arena it is the
// function New.
func (a *Arena) Empty(shape ...int) *Tensor {
	n := checkShape(shape)
	if a == nil || n == 0 {
		return New(shape...)
	}
	return &Tensor{Shape: slices.Clone(shape), Data: a.take(n, false), arena: a}
}

// Uninit returns storage for n values from the arena as New does, but not
// zeroed: the values are whatever it held before, for scratch space that
// the caller overwrites before reading. Give it back with ReleaseData, and
// keep the arena reachable while using it (no tensor does that here). On
// a nil arena it is make([]float32, n).
func (a *Arena) Uninit(n int) []float32 {
	if a == nil || n == 0 {
		return make([]float32, n)
	}
	return a.take(n, false)
}

// take hands out storage for n > 0 values, zeroed when zero is set.
func (a *Arena) take(n int, zero bool) []float32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b block
	i := sort.Search(len(a.free), func(i int) bool { return len(a.free[i].data) >= n })
	if i < len(a.free) && len(a.free[i].data) < 2*n {
		b = a.free[i]
		a.free = slices.Delete(a.free, i, i+1)
		if zero {
			clear(b.data[:n])
		}
	} else {
		b = newBlock(n)
		a.held += n
	}
	b.cycle = a.cycle
	a.live[&b.data[0]] = b
	return b.data[:n:n]
}

// OffHeap returns a copy of t whose storage, when large, lies outside the
// Go heap where the system allows (see Arena), and goes back to the system
// once the copy is unreachable: for tensors that live as long as a model,
// such as weights, their gradients and momentum, which would otherwise
// count twice towards the memory the collector lets the heap reach.
func OffHeap(t *Tensor) *Tensor { return NewArena().Clone(t) }

// Clone returns a copy of t with storage from the arena (a plain copy on
// a nil arena).
func (a *Arena) Clone(t *Tensor) *Tensor {
	c := a.New(t.Shape...)
	copy(c.Data, t.Data)
	return c
}

// Release gives the storage of t back for reuse, when t came from the
// arena's New and has not been released yet; any other tensor (nil, from
// the heap, from another arena, a view starting inside the storage) is
// left alone. t, and every view of its storage, must not be used again.
func (a *Arena) Release(t *Tensor) {
	if t != nil {
		a.ReleaseData(t.Data)
	}
}

// ReleaseData is Release for the storage d of a tensor, or from Uninit.
func (a *Arena) ReleaseData(d []float32) {
	if a == nil || len(d) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.live[&d[0]]
	if !ok {
		return
	}
	delete(a.live, &d[0])
	a.putFree(b)
}

// Owns reports whether t's storage was handed out by the arena and has
// not been given back.
func (a *Arena) Owns(t *Tensor) bool {
	if a == nil || t == nil || len(t.Data) == 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.live[&t.Data[0]]
	return ok
}

// Reset gives back the storage of every tensor handed out, which must not
// be used again, and drops the free storage that no New asked for since
// the previous Reset, so that the arena follows a change of shapes (a
// smaller last batch, another model) rather than keeping both sets.
func (a *Arena) Reset() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, b := range a.live {
		delete(a.live, k)
		a.putFree(b)
	}
	a.free = slices.DeleteFunc(a.free, func(b block) bool {
		if b.cycle < a.cycle {
			a.held -= len(b.data)
			b.drop()
			return true
		}
		return false
	})
	a.cycle++
}

// Free gives back every tensor handed out, as Reset does, and then all of
// the arena's storage to the system (or to the collector): a training
// loop frees its arena before it evaluates, which needs other storage.
// The arena stays usable and starts again from nothing.
func (a *Arena) Free() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unmapAll()
	clear(a.live)
	a.free, a.held = nil, 0
}

// Held returns the bytes of storage the arena holds, handed out or free.
func (a *Arena) Held() int {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return 4 * a.held
}

// InUse returns the bytes of storage handed out and not given back.
func (a *Arena) InUse() int {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, b := range a.live {
		n += len(b.data)
	}
	return 4 * n
}

// putFree files b among the free storage; a.mu is held.
func (a *Arena) putFree(b block) {
	if a.PoisonReleased {
		nan := float32(math.NaN())
		for i := range b.data {
			b.data[i] = nan
		}
	}
	i := sort.Search(len(a.free), func(i int) bool { return len(a.free[i].data) >= len(b.data) })
	a.free = slices.Insert(a.free, i, b)
}
