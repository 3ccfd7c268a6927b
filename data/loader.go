package data

import (
	"fmt"
	"iter"
	"sync"

	"github.com/glmc/glmc/tensor"
)

// LoaderConfig configures a Loader. Zero values of the optional fields take
// the defaults noted.
type LoaderConfig struct {
	Dataset   *Dataset
	Sampler   Sampler // the images of each epoch, in order
	BatchSize int
	DropLast  bool // drop an incomplete last batch (kept by default, as in PyTorch)
	Transform Transform
	Views     int // independently augmented views of each image: 1, or 2 for GLMC's TwoCrop; 0 means 1
	Workers   int // goroutines making batches; 0 means 1
	Prefetch  int // batches made ahead of the consumer; 0 means 2·Workers
	// Seed and Stream name the augmentation streams; loaders that share a
	// seed (GLMC's uniform and class-weighted loaders) need distinct Streams.
	Seed   uint64
	Stream uint64
	// Rank and World, when World > 1, make the loader one data-parallel
	// rank's: batch b is then rank Rank's shard of global batch b (the
	// BatchSize samples the sampler gives it), a contiguous run of rows,
	// shards of one batch differing in size by at most one (Shard). Keys
	// stay global, so a sample's augmentation does not depend on World.
	Rank, World int
}

// Shard returns rows [lo, hi) of a global batch of n rows that rank takes
// of world ranks: contiguous runs in rank order whose sizes differ by at
// most one, ⌊rank·n/world⌋ to ⌊(rank+1)·n/world⌋.
func Shard(n, rank, world int) (lo, hi int) {
	return rank * n / world, (rank + 1) * n / world
}

// Batch is one mini-batch.
type Batch struct {
	Epoch, Index int              // which epoch, and the batch's place in it
	Views        []*tensor.Tensor // Views[v] is (B, C, H, W), view v of every image
	Labels       []int            // (B)
	Indices      []int            // (B) dataset index of each row
	// Err is the first image of the batch that could not be read (an
	// image file that does not decode), naming the file and where it is
	// listed; that image's rows are zeros. A batch with an error must not
	// be trained on.
	Err error
}

// Loader turns a dataset into batches of augmented float32 images. A batch
// is a pure function of (config, epoch, batch index): the sample order
// comes from the sampler's epoch, and view v of the sample at key k draws
// its crop and flip from tensor.NewRNG(Seed, ·, Stream, epoch, k, v). So
// the output is bit-identical for any number of workers, and a run resumed
// at any batch sees exactly the batches it would have seen.
type Loader struct {
	cfg LoaderConfig
	tf  sampleTransform

	mu         sync.Mutex
	orderEpoch int
	order      []Sample // the sampler's output for orderEpoch, or nil
}

// NewLoader checks the configuration and returns a loader.
func NewLoader(cfg LoaderConfig) (*Loader, error) {
	d := cfg.Dataset
	switch {
	case d == nil || cfg.Sampler == nil:
		return nil, fmt.Errorf("data: loader: want a dataset and a sampler")
	case cfg.BatchSize < 1:
		return nil, fmt.Errorf("data: loader: batch size %d, want ≥ 1", cfg.BatchSize)
	case cfg.Views < 0 || cfg.Workers < 0 || cfg.Prefetch < 0:
		return nil, fmt.Errorf("data: loader: negative views, workers or prefetch")
	case cfg.World > 1 && (cfg.Rank < 0 || cfg.Rank >= cfg.World):
		return nil, fmt.Errorf("data: loader: rank %d of %d: want 0 ≤ rank < world", cfg.Rank, cfg.World)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	tf, err := cfg.Transform.compileFor(d)
	if err != nil {
		return nil, err
	}
	if cfg.Views == 0 {
		cfg.Views = 1
	}
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = 2 * cfg.Workers
	}
	return &Loader{cfg: cfg, tf: tf}, nil
}

// NumBatches is the number of batches per epoch.
func (l *Loader) NumBatches() int {
	n, b := l.cfg.Sampler.Len(), l.cfg.BatchSize
	if l.cfg.DropLast {
		return n / b
	}
	return (n + b - 1) / b
}

// epochOrder returns the sampler's samples for epoch, computed once per
// epoch and shared by the workers (read-only).
func (l *Loader) epochOrder(epoch int) []Sample {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.order == nil || l.orderEpoch != epoch {
		l.order, l.orderEpoch = l.cfg.Sampler.Epoch(epoch), epoch
	}
	return l.order
}

// Batch makes batch b of epoch in the calling goroutine, in memory of its
// own. It panics if b is not in [0, NumBatches()).
func (l *Loader) Batch(epoch, b int) *Batch {
	out := new(Batch)
	l.fill(out, epoch, b)
	return out
}

// fill makes batch b of epoch into out, reusing the memory out already
// holds where it is large enough: every value is overwritten, so what out
// held before never shows.
func (l *Loader) fill(out *Batch, epoch, b int) {
	if b < 0 || b >= l.NumBatches() {
		panic(fmt.Sprintf("data: Loader.Batch: batch %d of %d", b, l.NumBatches()))
	}
	order := l.epochOrder(epoch)
	lo := b * l.cfg.BatchSize
	hi := min(lo+l.cfg.BatchSize, len(order))
	if l.cfg.World > 1 {
		r0, r1 := Shard(hi-lo, l.cfg.Rank, l.cfg.World)
		lo, hi = lo+r0, lo+r1
	}
	d := l.cfg.Dataset
	size, rows := d.ImageSize(), hi-lo
	out.Epoch, out.Index = epoch, b
	out.Labels, out.Indices = resize(out.Labels, rows), resize(out.Indices, rows)
	if len(out.Views) != l.cfg.Views {
		out.Views = make([]*tensor.Tensor, l.cfg.Views)
	}
	for v, t := range out.Views {
		if t == nil {
			t = &tensor.Tensor{Shape: make([]int, 4)}
			out.Views[v] = t
		}
		t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3] = rows, d.Channels, d.Height, d.Width
		t.Data = resize(t.Data, rows*size)
	}
	dsts := make([][]float32, len(out.Views))
	for k, s := range order[lo:hi] {
		out.Labels[k] = d.Labels[s.Index]
		out.Indices[k] = s.Index
		for v, t := range out.Views {
			dsts[v] = t.Data[k*size : (k+1)*size]
		}
		err := l.tf.fill(dsts, d, s.Index, func(v int) *tensor.RNG {
			return tensor.NewRNG(l.cfg.Seed, purposeAugment, l.cfg.Stream, uint64(epoch), uint64(s.Key), uint64(v))
		})
		if err != nil && out.Err == nil {
			out.Err = err
		}
	}
}

// resize returns s with length n, reallocated only when its capacity is
// short; the values are left for the caller to overwrite.
func resize[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

// Batches yields the batches of epoch in order, from batch start on (0 for
// a whole epoch; the batch to resume at otherwise), made by a pool of
// Workers goroutines that keep up to Prefetch batches ready. A yielded
// batch lives until the loop body returns: its memory then goes back to a
// ring of Prefetch+1 batches that the workers fill again, so an epoch
// allocates nothing once the ring is full (Batch makes one to keep).
// Breaking out of the loop stops the pool.
func (l *Loader) Batches(epoch, start int) iter.Seq[*Batch] {
	return prefetch(start, l.NumBatches(), l.cfg.Workers, l.cfg.Prefetch,
		func() *Batch { return new(Batch) },
		func(out *Batch, b int) { l.fill(out, epoch, b) })
}

// Zip yields the batches of several loaders side by side, batch b of each
// at step b, from one pool sized by the first loader's Workers and
// Prefetch, with Batches's ring of reused memory. It is how a GLMC step gets
// its uniform and class-weighted batches together. It panics if the
// loaders have different NumBatches.
func Zip(epoch, start int, loaders ...*Loader) iter.Seq[[]*Batch] {
	if len(loaders) == 0 {
		panic("data: Zip: no loaders")
	}
	n := loaders[0].NumBatches()
	for _, l := range loaders[1:] {
		if l.NumBatches() != n {
			panic(fmt.Sprintf("data: Zip: loaders have %d and %d batches per epoch", n, l.NumBatches()))
		}
	}
	cfg := loaders[0].cfg
	return prefetch(start, n, cfg.Workers, cfg.Prefetch,
		func() []*Batch {
			out := make([]*Batch, len(loaders))
			for i := range out {
				out[i] = new(Batch)
			}
			return out
		},
		func(out []*Batch, b int) {
			for i, l := range loaders {
				l.fill(out[i], epoch, b)
			}
		})
}

// prefetch yields items start, ..., end−1 in order while workers goroutines
// make them, at most depth ahead of the consumer. An item is made by
// fill(buf, i) into one of depth+1 buffers (from alloc) that circulate: a
// buffer goes back to the workers when the loop body that got it returns.
// Results land in per-item slots, so completion order never shows.
func prefetch[T any](start, end, workers, depth int, alloc func() T, fill func(T, int)) iter.Seq[T] {
	return func(yield func(T) bool) {
		if start < 0 {
			start = 0
		}
		if start >= end {
			return
		}
		type job struct {
			i   int
			buf T
		}
		slots := makeSlots[T](end - start)
		free := make(chan T, depth+1)
		for range min(depth+1, end-start) {
			free <- alloc()
		}
		jobs := make(chan job)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					fill(j.buf, j.i)
					slots[j.i-start] <- j.buf
				}
			}()
		}
		go func() {
			defer close(jobs)
			for i := start; i < end; i++ {
				var buf T
				select {
				case buf = <-free:
				case <-stop:
					return
				}
				select {
				case jobs <- job{i, buf}:
				case <-stop:
					return
				}
			}
		}()
		defer func() {
			close(stop)
			wg.Wait()
		}()
		for _, slot := range slots {
			v := <-slot
			if !yield(v) {
				return
			}
			free <- v
		}
	}
}

func makeSlots[T any](n int) []chan T {
	slots := make([]chan T, n)
	for i := range slots {
		slots[i] = make(chan T, 1)
	}
	return slots
}
