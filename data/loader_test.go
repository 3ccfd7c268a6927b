package data

import (
	"hash/fnv"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallSynthetic is a quick CIFAR-shaped dataset for loader tests.
func smallSynthetic(t testing.TB, perClass int) *Dataset {
	t.Helper()
	train, _, err := Synthetic(SyntheticConfig{Seed: 2, TrainPerClass: perClass, TestPerClass: 1})
	require.NoError(t, err)
	return train
}

// digest hashes every bit a batch carries.
func digest(b *Batch) uint64 {
	h := fnv.New64a()
	put := func(v uint64) {
		var buf [8]byte
		for i := range buf {
			buf[i] = byte(v >> (8 * i))
		}
		h.Write(buf[:])
	}
	put(uint64(b.Epoch))
	put(uint64(b.Index))
	for _, v := range b.Views {
		for _, d := range v.Shape {
			put(uint64(d))
		}
		for _, x := range v.Data {
			put(uint64(math.Float32bits(x)))
		}
	}
	for i := range b.Labels {
		put(uint64(b.Labels[i]))
		put(uint64(b.Indices[i]))
	}
	return h.Sum64()
}

func trainConfig(d *Dataset, workers int) LoaderConfig {
	in, _ := Lookup("synthetic")
	return LoaderConfig{Dataset: d, Sampler: ShuffleSampler{N: d.Len(), Seed: 5}, BatchSize: 16,
		Transform: TrainTransform(in), Views: 2, Workers: workers, Seed: 3407}
}

func epochDigests(t *testing.T, l *Loader, epoch, start int) []uint64 {
	var out []uint64
	for b := range l.Batches(epoch, start) {
		out = append(out, digest(b))
	}
	return out
}

func TestLoaderIsIdenticalForAnyWorkerCount(t *testing.T) {
	d := smallSynthetic(t, 10) // 100 images: 6 full batches and one of 4
	var want [][]uint64
	for _, workers := range []int{1, 2, 8} {
		l, err := NewLoader(trainConfig(d, workers))
		require.NoError(t, err)
		require.Equal(t, 7, l.NumBatches())
		got := [][]uint64{epochDigests(t, l, 0, 0), epochDigests(t, l, 1, 0)}
		if want == nil {
			want = got
			assert.NotEqual(t, want[0], want[1], "epochs differ")
			continue
		}
		assert.Equal(t, want, got, "%d workers", workers)
	}
}

func TestLoaderResumesMidEpoch(t *testing.T) {
	d := smallSynthetic(t, 10)
	l, err := NewLoader(trainConfig(d, 2))
	require.NoError(t, err)
	full := epochDigests(t, l, 3, 0)
	fresh, err := NewLoader(trainConfig(d, 3)) // a restarted process
	require.NoError(t, err)
	assert.Equal(t, full[4:], epochDigests(t, fresh, 3, 4))
	assert.Empty(t, epochDigests(t, fresh, 3, 7))
	assert.Equal(t, full[2], digest(fresh.Batch(3, 2)))
	assert.Panics(t, func() { fresh.Batch(3, 7) })
}

func TestLoaderBatchContents(t *testing.T) {
	d := smallSynthetic(t, 10)
	in, _ := Lookup("synthetic")
	cfg := trainConfig(d, 2)
	cfg.DropLast = true
	l, err := NewLoader(cfg)
	require.NoError(t, err)
	assert.Equal(t, 6, l.NumBatches())
	order := cfg.Sampler.Epoch(1)
	n := 0
	for b := range l.Batches(1, 0) {
		require.Len(t, b.Views, 2)
		assert.Equal(t, []int{16, 3, 32, 32}, b.Views[0].Shape)
		assert.NotEqual(t, b.Views[0].Data, b.Views[1].Data, "views are augmented independently")
		for k, idx := range b.Indices {
			assert.Equal(t, order[b.Index*16+k].Index, idx)
			assert.Equal(t, d.Labels[idx], b.Labels[k])
		}
		n++
	}
	assert.Equal(t, 6, n)

	// Without augmentation each row is the normalised image.
	eval, err := NewLoader(LoaderConfig{Dataset: d, Sampler: SequentialSampler{d.Len()}, BatchSize: 64, Transform: EvalTransform(in)})
	require.NoError(t, err)
	b := eval.Batch(0, 1)
	assert.Equal(t, []int{36, 3, 32, 32}, b.Views[0].Shape)
	img := d.Image(64)
	for i, v := range img {
		ch := i / 1024
		require.Equal(t, (float32(v)/255-in.Mean[ch])/in.Std[ch], b.Views[0].Data[i])
	}
}

// TestLoaderReusesARingOfBatches checks that Batches fills Prefetch+1
// batches' memory over and over, and that a reused batch, the short last
// one included, holds exactly what a fresh one does.
func TestLoaderReusesARingOfBatches(t *testing.T) {
	d := smallSynthetic(t, 10) // 7 batches, the last of 4 rows
	cfg := trainConfig(d, 2)
	cfg.Prefetch = 2
	l, err := NewLoader(cfg)
	require.NoError(t, err)
	buffers := map[*float32]bool{}
	n := 0
	for b := range l.Batches(4, 0) {
		buffers[&b.Views[1].Data[0]] = true
		assert.Equal(t, digest(l.Batch(4, b.Index)), digest(b), "batch %d", b.Index)
		n++
	}
	assert.Equal(t, 7, n)
	assert.LessOrEqual(t, len(buffers), cfg.Prefetch+1, "distinct view buffers in one epoch")
}

func TestLoaderStreamsAreSeparate(t *testing.T) {
	d := smallSynthetic(t, 4)
	a := trainConfig(d, 1)
	b := a
	b.Stream = 1
	la, err := NewLoader(a)
	require.NoError(t, err)
	lb, err := NewLoader(b)
	require.NoError(t, err)
	// Same images in the same order, different crops and flips.
	assert.Equal(t, la.Batch(0, 0).Indices, lb.Batch(0, 0).Indices)
	assert.NotEqual(t, digest(la.Batch(0, 0)), digest(lb.Batch(0, 0)))
}

func TestZipPairsUniformAndWeightedBatches(t *testing.T) {
	d := smallSynthetic(t, 10)
	lt, err := LongTail(d, 10, 0)
	require.NoError(t, err)
	in, _ := Lookup("synthetic")
	weighted, err := NewWeightedSampler(lt.Labels, len(lt.Classes), 1, 3407)
	require.NoError(t, err)
	cfg := LoaderConfig{Dataset: lt, Sampler: ShuffleSampler{N: lt.Len(), Seed: 3407}, BatchSize: 8,
		Transform: TrainTransform(in), Views: 2, Workers: 2, Seed: 3407}
	uni, err := NewLoader(cfg)
	require.NoError(t, err)
	cfg.Sampler, cfg.Stream = weighted, 1
	wei, err := NewLoader(cfg)
	require.NoError(t, err)

	steps := 0
	for pair := range Zip(2, 1, uni, wei) {
		require.Len(t, pair, 2)
		assert.Equal(t, digest(uni.Batch(2, pair[0].Index)), digest(pair[0]))
		assert.Equal(t, digest(wei.Batch(2, pair[1].Index)), digest(pair[1]))
		assert.Equal(t, pair[0].Index, pair[1].Index)
		steps++
	}
	assert.Equal(t, uni.NumBatches()-1, steps)

	cfg.BatchSize = 5
	other, err := NewLoader(cfg)
	require.NoError(t, err)
	assert.Panics(t, func() { Zip(0, 0, uni, other) })
}

func TestBreakingOutStopsTheWorkers(t *testing.T) {
	d := smallSynthetic(t, 10)
	before := runtime.NumGoroutine()
	l, err := NewLoader(trainConfig(d, 4))
	require.NoError(t, err)
	for b := range l.Batches(0, 0) {
		if b.Index == 1 {
			break
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), before)
}

// TestShardedLoaderSplitsEachGlobalBatch checks that the shards of ranks
// 0..world−1, stacked in rank order, are the unsharded loader's batch to
// the bit (augmentations included), and that their sizes differ by at most
// one: 100 images in batches of 16 leave a last batch of 4, so world 3
// splits both 16 and 4 unevenly.
func TestShardedLoaderSplitsEachGlobalBatch(t *testing.T) {
	d := smallSynthetic(t, 10)
	whole, err := NewLoader(trainConfig(d, 1))
	assert.NoError(t, err)
	for world := 1; world <= 4; world++ {
		shards := make([]*Loader, world)
		for r := range shards {
			cfg := trainConfig(d, 2)
			cfg.Rank, cfg.World = r, world
			shards[r], err = NewLoader(cfg)
			assert.NoError(t, err)
			assert.Equal(t, whole.NumBatches(), shards[r].NumBatches())
		}
		for b := range whole.NumBatches() {
			want := whole.Batch(1, b)
			var labels, indices []int
			var views [2][]float32
			sizes := map[int]bool{}
			for _, l := range shards {
				got := l.Batch(1, b)
				labels, indices = append(labels, got.Labels...), append(indices, got.Indices...)
				for v := range views {
					assert.Equal(t, len(got.Labels), got.Views[v].Shape[0])
					views[v] = append(views[v], got.Views[v].Data...)
				}
				sizes[len(got.Labels)] = true
			}
			assert.Equal(t, want.Labels, labels, "world %d batch %d labels", world, b)
			assert.Equal(t, want.Indices, indices, "world %d batch %d indices", world, b)
			for v := range views {
				assert.Equal(t, want.Views[v].Data, views[v], "world %d batch %d view %d", world, b, v)
			}
			assert.LessOrEqual(t, len(sizes), 2, "world %d batch %d: shard sizes %v", world, b, sizes)
		}
	}
}

func TestNewLoaderRejectsBadConfig(t *testing.T) {
	d := smallSynthetic(t, 2)
	in, _ := Lookup("fashion-mnist")
	for _, tc := range []struct {
		name string
		edit func(*LoaderConfig)
		want string
	}{
		{"no dataset", func(c *LoaderConfig) { c.Dataset = nil }, "want a dataset and a sampler"},
		{"zero batch", func(c *LoaderConfig) { c.BatchSize = 0 }, "batch size 0"},
		{"negative workers", func(c *LoaderConfig) { c.Workers = -1 }, "negative"},
		{"rank outside world", func(c *LoaderConfig) { c.Rank, c.World = 2, 2 }, "rank 2 of 2"},
		{"wrong channels", func(c *LoaderConfig) { c.Transform = EvalTransform(in) }, "1 means and 1 stds for 3 channels"},
		{"broken dataset", func(c *LoaderConfig) {
			c.Dataset = &Dataset{Name: "x", Channels: 3, Height: 32, Width: 32, Classes: []string{"a"}, Labels: []int{0}}
		}, "0 pixel bytes for 1 images"},
	} {
		cfg := trainConfig(d, 1)
		tc.edit(&cfg)
		_, err := NewLoader(cfg)
		assert.ErrorContains(t, err, tc.want, tc.name)
	}
}

// BenchmarkLoader measures augmented images per second with 2 workers
// (random crop, flip, normalise; one view per image, as counted by the
// training throughput target, and two as GLMC's TwoCrop makes).
func BenchmarkLoader(b *testing.B) {
	d := smallSynthetic(b, 200) // 2000 CIFAR-sized images
	in, _ := Lookup("synthetic")
	for _, views := range []int{1, 2} {
		b.Run(map[int]string{1: "views=1", 2: "views=2"}[views], func(b *testing.B) {
			l, err := NewLoader(LoaderConfig{Dataset: d, Sampler: ShuffleSampler{N: d.Len(), Seed: 1}, BatchSize: 64,
				Transform: TrainTransform(in), Views: views, Workers: 2, Seed: 1})
			require.NoError(b, err)
			images := 0
			b.ResetTimer()
			for e := 0; b.Loop(); e++ {
				for batch := range l.Batches(e, 0) {
					images += len(batch.Labels)
				}
			}
			b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "img/s")
		})
	}
}
