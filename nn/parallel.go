package nn

import (
	"sync"

	"github.com/glmc/glmc/asm"
)

// parallelFor calls fn(i) for every i in [0, n) on up to asm.Threads()
// goroutines and waits for them. Each goroutine takes a contiguous block
// of indices; fn must only write outputs owned by its i, so the result
// never depends on how the indices are divided.
func parallelFor(n int, fn func(i int)) {
	t := min(asm.Threads(), n)
	if t <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range t {
		lo, hi := n*w/t, n*(w+1)/t
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// scratch is a reusable float32 buffer for the columns of im2col and
// similar per-goroutine temporaries that must not outlive one call.
type scratch struct{ buf []float32 }

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// getScratch returns a buffer of n elements with undefined contents; give
// it back with putScratch.
func getScratch(n int) *scratch {
	s := scratchPool.Get().(*scratch)
	if cap(s.buf) < n {
		s.buf = make([]float32, n)
	}
	s.buf = s.buf[:n]
	return s
}

func putScratch(s *scratch) { scratchPool.Put(s) }
