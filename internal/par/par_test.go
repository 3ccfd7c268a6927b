package par

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestForCoversEachIndexOnce runs For over many thread counts and sizes
// (none, fewer indices than threads, uneven shares) and checks that every
// index is called exactly once and that the shares are For's contiguous
// blocks, whatever the goroutine.
func TestForCoversEachIndexOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 4, 7} {
		for _, n := range []int{0, 1, 2, 3, 5, 8, 17, 100} {
			t.Run(fmt.Sprintf("threads%d/n%d", threads, n), func(t *testing.T) {
				calls := make([]atomic.Int32, n)
				For(threads, n, func(i int) { calls[i].Add(1) })
				for i := range calls {
					if got := calls[i].Load(); got != 1 {
						t.Fatalf("index %d called %d times", i, got)
					}
				}
			})
		}
	}
}

// TestForShares checks that goroutine w of t runs the indices
// [n·w/t, n·(w+1)/t) one after the other, in order (within a share each
// call starts after the previous one ended), and that the shares run at
// the same time: the first call of each waits until all have started.
func TestForShares(t *testing.T) {
	const threads, n = 3, 10
	var clock, arrived atomic.Int64
	var start, end [n]int64
	var timedOut atomic.Bool
	var first [n]bool // the first index of each share
	for w := range threads {
		first[n*w/threads] = true
	}
	For(threads, n, func(i int) {
		start[i] = clock.Add(1)
		if first[i] {
			arrived.Add(1)
			for deadline := time.Now().Add(10 * time.Second); arrived.Load() < threads; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					timedOut.Store(true)
					break
				}
			}
		}
		end[i] = clock.Add(1)
	})
	if timedOut.Load() {
		t.Fatal("the shares did not all start within 10 s of each other: they did not run at the same time")
	}
	for w := range threads {
		lo, hi := n*w/threads, n*(w+1)/threads
		for i := lo + 1; i < hi; i++ {
			if start[i] < end[i-1] {
				t.Errorf("share [%d, %d): index %d started before %d ended", lo, hi, i, i-1)
			}
		}
	}
}

// TestForNestedAndConcurrent calls For from inside For's fn and from
// several goroutines at once: the calls that find the pool busy run on
// goroutines of their own, and every index still runs once.
func TestForNestedAndConcurrent(t *testing.T) {
	var total atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				For(3, 6, func(i int) {
					For(2, 5, func(j int) { total.Add(1) })
				})
			}
		}()
	}
	wg.Wait()
	if want := int64(4 * 50 * 6 * 5); total.Load() != want {
		t.Fatalf("%d calls, want %d", total.Load(), want)
	}
}

// TestForAfterSleep runs For after the workers have slept (past
// spinTime), which must wake them.
func TestForAfterSleep(t *testing.T) {
	For(2, 2, func(int) {})
	time.Sleep(3 * spinTime)
	var n atomic.Int32
	done := make(chan struct{})
	go func() {
		For(4, 8, func(int) { n.Add(1) })
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("For after the workers slept did not return")
	}
	if n.Load() != 8 {
		t.Fatalf("%d calls, want 8", n.Load())
	}
}

// BenchmarkFor times a For of two tiny shares, the dispatch cost that a
// step's hundreds of short loops pay, against starting goroutines.
func BenchmarkFor(b *testing.B) {
	var sink atomic.Int64
	fn := func(i int) { sink.Add(int64(i)) }
	b.Run("pool", func(b *testing.B) {
		for b.Loop() {
			For(2, 2, fn)
		}
	})
	b.Run("spawn", func(b *testing.B) {
		for b.Loop() {
			spawn(2, 2, fn)
		}
	})
}
