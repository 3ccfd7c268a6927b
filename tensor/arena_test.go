package tensor

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// same reports whether a and b start at the same storage.
func same(a, b *Tensor) bool { return &a.Data[0] == &b.Data[0] }

// dirty fills t with non-zero values, as a used tensor would be.
func dirty(t *Tensor) {
	for i := range t.Data {
		t.Data[i] = float32(i + 1)
	}
}

func TestArenaReusesStorageZeroed(t *testing.T) {
	for _, c := range []struct {
		name         string
		first, again []int
		reuse        bool
	}{
		{"same shape", []int{2, 3}, []int{2, 3}, true},
		{"other shape of the same size", []int{6}, []int{3, 2}, true},
		{"smaller, within twice", []int{10}, []int{6}, true},
		{"half or less gets its own", []int{10}, []int{5}, false},
		{"larger gets its own", []int{4}, []int{5}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := NewArena()
			x := a.New(c.first...)
			dirty(x)
			held := a.Held()
			a.Release(x)
			y := a.New(c.again...)
			if !slices.Equal(y.Shape, c.again) || len(y.Data) != checkShape(c.again) || cap(y.Data) != len(y.Data) {
				t.Fatalf("New(%v) = shape %v, %d values (cap %d)", c.again, y.Shape, len(y.Data), cap(y.Data))
			}
			if same(x, y) != c.reuse {
				t.Errorf("storage reused: %v, want %v", same(x, y), c.reuse)
			}
			if grew := a.Held() > held; grew == c.reuse {
				t.Errorf("held %d bytes, then %d", held, a.Held())
			}
			for i, v := range y.Data {
				if v != 0 {
					t.Fatalf("reused storage not cleared: element %d is %v", i, v)
				}
			}
		})
	}
}

func TestArenaUninitSkipsTheClear(t *testing.T) {
	a := NewArena()
	x := a.New(4)
	dirty(x)
	a.Release(x)
	y := a.Uninit(4)
	if &y[0] != &x.Data[0] || !slices.Equal(y, []float32{1, 2, 3, 4}) {
		t.Errorf("Uninit = %v, want the released storage as it was", y)
	}
	if z := a.Uninit(3); !slices.Equal(z, []float32{0, 0, 0}) {
		t.Errorf("Uninit of new storage = %v, want zeros", z)
	}
	a.ReleaseData(y)
	if w := a.Uninit(4); &w[0] != &y[0] {
		t.Error("ReleaseData did not give the storage back")
	}
}

func TestArenaEmptySkipsTheClear(t *testing.T) {
	a := NewArena()
	x := a.New(2, 2)
	dirty(x)
	a.Release(x)
	y := a.Empty(4, 1)
	if !same(x, y) || !slices.Equal(y.Shape, []int{4, 1}) || !slices.Equal(y.Data, []float32{1, 2, 3, 4}) || !a.Owns(y) {
		t.Errorf("Empty = shape %v, %v, want (4, 1) on the released storage as it was", y.Shape, y.Data)
	}
	if z := a.Empty(3); !slices.Equal(z.Data, []float32{0, 0, 0}) {
		t.Errorf("Empty of new storage = %v, want zeros", z.Data)
	}
	a.PoisonReleased = true
	a.Release(y)
	if w := a.Empty(4); !same(w, y) || !math.IsNaN(float64(w.Data[3])) {
		t.Errorf("Empty after a poisoned release = %v, want the NaNs", w.Data)
	}
	var none *Arena
	if e := none.Empty(2, 3); !slices.Equal(e.Shape, []int{2, 3}) || !slices.Equal(e.Data, make([]float32, 6)) {
		t.Errorf("nil arena's Empty = shape %v, %v, want a zero (2, 3)", e.Shape, e.Data)
	}
}

func TestArenaReleaseIgnoresWhatItDidNotHandOut(t *testing.T) {
	a, other := NewArena(), NewArena()
	x := a.New(4)
	a.Release(x)
	a.Release(x) // twice: must not file the storage twice
	y, z := a.New(4), a.New(4)
	if same(y, z) {
		t.Fatal("a tensor released twice was handed out twice")
	}
	for _, foreign := range []*Tensor{nil, New(4), other.New(4), {Shape: []int{3}, Data: y.Data[1:]}, New(0)} {
		a.Release(foreign)
		if a.Owns(foreign) {
			t.Errorf("Owns(%v) after Release", foreign)
		}
	}
	if !a.Owns(y) || !a.Owns(y.Reshape(2, 2)) || a.Owns(New(4)) {
		t.Error("Owns of a live tensor, its view or a heap tensor is wrong")
	}
	if w := a.New(4); same(w, y) || same(w, z) {
		t.Error("a live tensor's storage was handed out again")
	}
}

func TestArenaResetRecyclesAndTrims(t *testing.T) {
	a := NewArena()
	big, small := a.New(100), a.New(10)
	if a.InUse() != 4*110 || a.Held() != 4*110 {
		t.Fatalf("in use %d, held %d bytes, want %d", a.InUse(), a.Held(), 4*110)
	}
	a.Reset()
	if a.InUse() != 0 {
		t.Fatalf("%d bytes in use after Reset", a.InUse())
	}
	if a.Owns(big) || a.Owns(small) {
		t.Fatal("tensors still live after Reset")
	}
	if b := a.New(100); !same(b, big) {
		t.Error("Reset did not make the storage reusable")
	}
	before := a.Held()
	a.Reset() // small was not asked for in this cycle: dropped
	if got, want := a.Held(), before-4*10; got != want {
		t.Errorf("held %d bytes after a cycle without the small tensor, want %d", got, want)
	}
	if b := a.New(100); !same(b, big) {
		t.Error("storage asked for in the last cycle was dropped")
	}
}

func TestOffHeapCopies(t *testing.T) {
	for _, n := range []int{3, sysMin} { // on the heap, mapped
		x := New(n, 1)
		dirty(x)
		y := OffHeap(x)
		if !slices.Equal(y.Shape, x.Shape) || !slices.Equal(y.Data, x.Data) || same(x, y) {
			t.Fatalf("OffHeap of %d values: not an equal copy", n)
		}
		y.Data[0] = -1
		if x.Data[0] != 1 {
			t.Fatal("OffHeap shares the storage")
		}
	}
}

func TestArenaFree(t *testing.T) {
	a := NewArena()
	x := a.New(sysMin) // mapped where the system allows
	a.Release(a.New(10))
	a.Free()
	if a.Held() != 0 || a.InUse() != 0 || a.Owns(x) {
		t.Fatalf("after Free: held %d, in use %d bytes", a.Held(), a.InUse())
	}
	if y := a.New(4); len(y.Data) != 4 || a.Held() != 16 {
		t.Errorf("the arena is not usable after Free: %v, holding %d bytes", y, a.Held())
	}
}

func TestArenaPoisonsReleasedStorage(t *testing.T) {
	a := NewArena()
	a.PoisonReleased = true
	x, y := a.New(3), a.New(2)
	a.Release(x)
	a.Reset()
	for _, v := range append(x.Data, y.Data...) {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("released storage holds %v, want NaN", v)
		}
	}
}

func TestNilArenaIsTheHeap(t *testing.T) {
	var a *Arena
	x := a.New(2, 2)
	if !slices.Equal(x.Shape, []int{2, 2}) || len(x.Data) != 4 {
		t.Fatalf("nil arena New = %v", x)
	}
	a.Release(x)
	a.Reset()
	if a.Owns(x) || a.Held() != 0 {
		t.Error("a nil arena owns storage")
	}
	if c := a.Clone(FromSlice([]float32{1, 2}, 2)); !slices.Equal(c.Data, []float32{1, 2}) {
		t.Errorf("Clone = %v", c.Data)
	}
}

// TestArenaConcurrent hands out and releases from several goroutines; run
// with -race. No two live tensors may share storage.
func TestArenaConcurrent(t *testing.T) {
	a := NewArena()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				x := a.New(1 + (g+i)%7)
				for j := range x.Data {
					x.Data[j] = float32(g)
				}
				runtime.Gosched()
				for _, v := range x.Data {
					if v != float32(g) {
						t.Fatal("storage shared between goroutines")
					}
				}
				a.Release(x)
			}
		})
	}
	wg.Wait()
}

// TestArenaLargeStorageIsOffHeap checks that large storage does not count
// towards the Go heap, whose size sets when the garbage collector runs,
// where the system can map it, and that it can be dropped again.
func TestArenaLargeStorageIsOffHeap(t *testing.T) {
	probe := sysAlloc(1)
	if probe == nil {
		t.Skip("storage is on the Go heap on this system")
	}
	sysFree(probe)
	a := NewArena()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	x := a.New(16<<20, 2) // 128 MiB
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Errorf("the Go heap grew by %d bytes for a 128 MiB arena tensor", grew)
	}
	dirty(x)
	a.Release(x)
	if y := a.New(16<<20, 2); !same(x, y) || y.Data[len(y.Data)-1] != 0 {
		t.Error("mapped storage was not reused cleared")
	}
	a.Reset()
	a.Reset() // unused for a cycle: unmapped
	if a.Held() != 0 {
		t.Errorf("%d bytes held after the storage went unused", a.Held())
	}
}
