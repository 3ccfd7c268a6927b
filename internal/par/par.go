// Package par runs the parallel loops of glmc's kernels and layers on a
// pool of goroutines that wait for work by spinning for a moment before
// they sleep.
//
// A training step of a narrow network issues hundreds of parallel loops,
// many of them a fraction of a millisecond long. Started as fresh
// goroutines, each loop waited 40–50 µs for a parked processor to wake
// and take its share, which left a core idle for about a tenth of a
// ResNet-32 width-16 step. Workers that spin between loops (as OpenMP's
// threads do) take a share within a microsecond; they sleep once no work
// has come for spinTime, so an idle program does not burn a core.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinTime is how long a worker, and a caller waiting for its workers,
// spins before it sleeps: longer than the serial gaps between the loops
// of a step, short enough not to steal a core from other work for long.
const spinTime = 200 * time.Microsecond

// For calls fn(i) for every i in [0, n) on up to threads goroutines, the
// caller's included, and returns when all calls have returned. Goroutine
// w (0 ≤ w < t, t = min(threads, n)) takes the contiguous indices
// [n·w/t, n·(w+1)/t), so a fn that writes only what index i owns gives
// the same result however many goroutines run it. A For called while the
// pool is busy (from inside another For's fn, or from several goroutines
// at once) runs on goroutines of its own instead.
func For(threads, n int, fn func(i int)) {
	t := min(threads, n)
	if t <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	if !pool.busy.CompareAndSwap(false, true) {
		spawn(t, n, fn)
		return
	}
	defer pool.busy.Store(false)
	pool.grow(t - 1)
	pool.pending.Store(int64(t - 1))
	for w := 1; w < t; w++ {
		pool.workers[w-1].post(task{fn: fn, lo: n * w / t, hi: n * (w + 1) / t})
	}
	for i := range n / t { // the caller's share: [0, n/t)
		fn(i)
	}
	pool.done.await(func() bool { return pool.pending.Load() == 0 })
}

// spawn is For on fresh goroutines.
func spawn(t, n int, fn func(i int)) {
	var wg sync.WaitGroup
	for w := range t {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := n * w / t; i < n*(w+1)/t; i++ {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// task is one goroutine's share of a For.
type task struct {
	fn     func(i int)
	lo, hi int
}

// workerPool holds the workers, which live as long as the program; it
// serves one For at a time.
var pool workerPool

type workerPool struct {
	busy    atomic.Bool // a For is using the workers
	mu      sync.Mutex  // guards workers' growth
	workers []*worker
	pending atomic.Int64 // shares of the current For not yet done
	done    signal       // the caller's wait for pending to reach 0
}

// grow starts workers until there are at least n.
func (p *workerPool) grow(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done.wake == nil {
		p.done.wake = make(chan struct{}, 1)
	}
	for len(p.workers) < n {
		w := &worker{}
		w.ready.wake = make(chan struct{}, 1)
		p.workers = append(p.workers, w)
		go w.run()
	}
}

// worker runs the shares of For posted to it, one at a time.
type worker struct {
	seq   atomic.Uint64 // shares posted so far
	task  task          // the latest, written before seq moves
	ready signal
}

// post hands w its next share.
func (w *worker) post(t task) {
	w.task = t
	w.seq.Add(1)
	w.ready.notify()
}

func (w *worker) run() {
	var seen uint64
	for {
		w.ready.await(func() bool { return w.seq.Load() != seen })
		seen++
		t := w.task
		for i := t.lo; i < t.hi; i++ {
			t.fn(i)
		}
		if pool.pending.Add(-1) == 0 {
			pool.done.notify()
		}
	}
}

// signal lets one goroutine wait for a condition that others make true:
// it spins for spinTime, then sleeps until notified. A notify that finds
// no sleeper leaves at most one stale wake-up, which the waiter's next
// check of the condition absorbs.
type signal struct {
	sleeping atomic.Bool
	wake     chan struct{} // capacity 1, made before the signal is used
}

// await returns once cond holds.
func (s *signal) await(cond func() bool) {
	start := time.Now()
	for spin := 1; !cond(); spin++ {
		if spin%256 != 0 {
			continue
		}
		// Let other goroutines have the processor now and then: with
		// more goroutines than processors (asm.SetThreads above
		// GOMAXPROCS), a spinning one would hold up the shares it waits
		// for until the scheduler preempts it.
		runtime.Gosched()
		if time.Since(start) < spinTime {
			continue
		}
		// Announce the sleep before the last check: a notify after the
		// check sees it and wakes us; one before it made cond true.
		s.sleeping.Store(true)
		if cond() {
			s.sleeping.Store(false)
			return
		}
		<-s.wake
		s.sleeping.Store(false)
		start = time.Now()
	}
}

// notify wakes the waiter if it sleeps; call it after making its
// condition true.
func (s *signal) notify() {
	if s.sleeping.Load() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}
