package nn

import (
	"sync"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/internal/par"
	"github.com/glmc/glmc/tensor"
)

// parallelFor calls fn(i) for every i in [0, n) on up to asm.Threads()
// goroutines (par.For) and waits for them. Each goroutine takes a
// contiguous block of indices; fn must only write outputs owned by its i,
// so the result never depends on how the indices are divided.
func parallelFor(n int, fn func(i int)) { par.For(asm.Threads(), n, fn) }

// gemmWithin returns the GEMM for the bodies of a parallelFor over n
// items: asm.SgemmSerial when the items alone keep every thread evenly
// busy, so that each product runs on its worker's goroutine, else the
// threaded asm.Sgemm. Both give the same bits.
func gemmWithin(n int) func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if t := asm.Threads(); n%t == 0 || n >= 4*t {
		return asm.SgemmSerial
	}
	return asm.Sgemm
}

// scratch is a reusable float32 buffer for the columns of im2col and
// similar per-goroutine temporaries that must not outlive one call.
type scratch struct{ buf []float32 }

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// scratchArena holds the storage of the scratch buffers, reused for the
// whole run: it lies outside the Go heap (see tensor.Arena), whereas
// storage kept in a sync.Pool would be dropped by every collection and
// would count towards the heap size at which the collector runs.
var scratchArena = tensor.NewArena()

// getScratch returns a buffer of n elements with undefined contents; give
// it back with putScratch.
func getScratch(n int) *scratch {
	s := scratchPool.Get().(*scratch)
	s.buf = scratchArena.Uninit(n)
	return s
}

func putScratch(s *scratch) {
	scratchArena.ReleaseData(s.buf)
	s.buf = nil
	scratchPool.Put(s)
}
