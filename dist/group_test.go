package dist

import (
	"context"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// joinAll joins p ranks as goroutines on a loopback listener. setup may
// change rank r's config, or return false to leave the rank out.
func joinAll(t testing.TB, p int, setup func(r int, c *Config) bool) ([]*Group, []error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfgs := make([]*Config, p)
	for r := range p {
		cfg := Config{Rank: r, WorldSize: p, Addr: ln.Addr().String(), RunID: "test", Fingerprint: []byte("model"),
			JoinTimeout: 5 * time.Second, Timeout: 2 * time.Second}
		if r == 0 {
			cfg.Listener = ln
		}
		if setup == nil || setup(r, &cfg) {
			cfgs[r] = &cfg
		}
	}
	if cfgs[0] == nil {
		ln.Close()
	}
	groups, errs := make([]*Group, p), make([]error, p)
	var wg sync.WaitGroup
	for r, cfg := range cfgs {
		if cfg != nil {
			wg.Go(func() { groups[r], errs[r] = Join(context.Background(), *cfg) })
		}
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, g := range groups {
			if g != nil {
				g.Close()
			}
		}
	})
	return groups, errs
}

// mustJoin is joinAll for groups that must form.
func mustJoin(t testing.TB, p int, setup func(r int, c *Config) bool) []*Group {
	t.Helper()
	groups, errs := joinAll(t, p, setup)
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	return groups
}

// onEach runs f for every rank at once and returns each rank's error.
func onEach(groups []*Group, f func(r int, g *Group) error) []error {
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for r, g := range groups {
		wg.Go(func() { errs[r] = f(r, g) })
	}
	wg.Wait()
	return errs
}

// inputs are the buffers of p ranks of n elements each.
func inputs(p, n int) [][]float32 {
	bufs := make([][]float32, p)
	for r := range bufs {
		bufs[r] = make([]float32, n)
		for i := range n {
			bufs[r][i] = input(r, i)
		}
	}
	return bufs
}

// input is rank r's element i: values of mixed sign and magnitude, so the
// order of the additions shows in the bits.
func input(r, i int) float32 {
	h := uint32(r*7919+i)*2654435761 + 12345
	return float32(int32(h>>8)-1<<23) / float32(int(1)<<(h%13))
}

func TestAllReduceSum(t *testing.T) {
	for p := 1; p <= 8; p++ {
		groups := mustJoin(t, p, nil)
		for _, n := range []int{0, 1, p - 1, p, p + 1, 1000 + p} {
			bufs := inputs(p, n)
			errs := onEach(groups, func(r int, g *Group) error { return g.AllReduceSum(bufs[r]) })
			for r, err := range errs {
				if err != nil {
					t.Fatalf("P=%d n=%d rank %d: %v", p, n, r, err)
				}
			}
			checkSum(t, p, n, bufs)
		}
	}
}

// checkSum checks every rank's result against the order the package
// documents (element i of chunk c is summed from rank c round the ring),
// bit for bit, and against a float64 sum within the float32 bound.
func checkSum(t *testing.T, p, n int, bufs [][]float32) {
	t.Helper()
	for i := range n {
		c := 0
		for (c+1)*n/p <= i {
			c++
		}
		want := input(c, i)
		var ref, abs float64
		for k := range p {
			x := input((c+k)%p, i)
			if k > 0 {
				want += x
			}
			ref += float64(x)
			abs += math.Abs(float64(x))
		}
		for r := range p {
			if got := bufs[r][i]; math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("P=%d n=%d rank %d [%d] = %v, want %v (ring order from rank %d)", p, n, r, i, got, want, c)
			}
		}
		if bound := float64(p-1) * 0x1p-24 * abs; math.Abs(float64(want)-ref) > bound {
			t.Fatalf("P=%d n=%d [%d] = %v, float64 sum %v, beyond the bound %g", p, n, i, want, ref, bound)
		}
	}
}

func TestAllReduceSumManyPieces(t *testing.T) {
	// Chunks of one full piece and a short one, the last chunk one float
	// longer than the others.
	const p = 3
	n := 3*maxPiece + 4
	groups := mustJoin(t, p, nil)
	// Send buffers much smaller than a piece: a ring that does not send
	// and receive at once deadlocks here.
	for _, g := range groups {
		g.next.(*net.TCPConn).SetWriteBuffer(64 << 10)
	}
	bufs := inputs(p, n)
	for r, err := range onEach(groups, func(r int, g *Group) error { return g.AllReduceSum(bufs[r]) }) {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	checkSum(t, p, n, bufs)
}

func TestBroadcast(t *testing.T) {
	for _, p := range []int{1, 2, 3, 8} {
		groups := mustJoin(t, p, nil)
		for _, n := range []int{0, 3, 2*p + 1, maxPiece + 5} {
			if n > maxPiece && p != 3 {
				continue // several pieces down a chain of 3 ranks is enough
			}
			bufs := inputs(p, n)
			for r, err := range onEach(groups, func(r int, g *Group) error { return g.Broadcast(bufs[r]) }) {
				if err != nil {
					t.Fatalf("P=%d n=%d rank %d: %v", p, n, r, err)
				}
			}
			for r := range p {
				for i := range n {
					if bufs[r][i] != input(0, i) {
						t.Fatalf("P=%d n=%d rank %d [%d] = %v, want rank 0's %v", p, n, r, i, bufs[r][i], input(0, i))
					}
				}
			}
		}
	}
}

func TestBarrier(t *testing.T) {
	const p = 4
	groups := mustJoin(t, p, nil)
	for late := range p {
		var arrived atomic.Int32
		errs := onEach(groups, func(r int, g *Group) error {
			if r == late {
				time.Sleep(50 * time.Millisecond)
			}
			arrived.Add(1)
			if err := g.Barrier(); err != nil {
				return err
			}
			if n := arrived.Load(); n != p {
				t.Errorf("late rank %d: rank %d left the barrier when %d of %d had arrived", late, r, n, p)
			}
			return nil
		})
		for r, err := range errs {
			if err != nil {
				t.Fatalf("rank %d: %v", r, err)
			}
		}
	}
}

// checkFailed checks that every listed rank got a one-line error
// containing want[r] (when given), within limit of start.
func checkFailed(t *testing.T, errs []error, ranks []int, want map[int]string, start time.Time, limit time.Duration) {
	t.Helper()
	if d := time.Since(start); d > limit {
		t.Errorf("the ranks returned after %v, want under %v", d, limit)
	}
	for _, r := range ranks {
		err := errs[r]
		switch {
		case err == nil:
			t.Errorf("rank %d: no error", r)
		case strings.Contains(err.Error(), "\n"):
			t.Errorf("rank %d: error is more than one line: %q", r, err)
		case !strings.Contains(err.Error(), want[r]):
			t.Errorf("rank %d: error %q\ndoes not contain %q", r, err, want[r])
		default:
			t.Logf("rank %d: %v", r, err)
		}
	}
}

func TestRankClosesMidCall(t *testing.T) {
	const p = 4
	groups := mustJoin(t, p, nil)
	start := time.Now()
	errs := onEach(groups, func(r int, g *Group) error {
		if r == 2 {
			time.Sleep(50 * time.Millisecond)
			return g.Close()
		}
		return g.AllReduceSum(make([]float32, 1000))
	})
	// The timeout is 2 s: the ranks must learn from closed links, not wait it out.
	// Rank 3 sees the link close; rank 1 may see its send fail first;
	// rank 0 learns it from rank 3's abort frame. Each names rank 2.
	lost := "rank 2 at " + groups[2].peers[2] + ": connection "
	checkFailed(t, errs, []int{0, 1, 3}, map[int]string{
		0: "dist: rank 0: all-reduce #1: the group gave up: rank 3: all-reduce #1: receive from " + lost + "closed by peer",
		1: lost,
		3: "dist: rank 3: all-reduce #1: receive from " + lost + "closed by peer",
	}, start, time.Second)
	if err := groups[2].AllReduceSum(nil); err != errClosed {
		t.Errorf("closed group: %v, want %v", err, errClosed)
	}
}

func TestRankStalls(t *testing.T) {
	const p, timeout = 5, 300 * time.Millisecond
	groups := mustJoin(t, p, func(r int, c *Config) bool { c.Timeout = timeout; return true })
	// Rank 2 stalls: only rank 3 times out; the others, waiting on live
	// neighbours, learn the cause from rank 3's abort frame.
	start := time.Now()
	errs := onEach(groups, func(r int, g *Group) error {
		if r == 2 {
			return nil
		}
		return g.AllReduceSum(make([]float32, 10))
	})
	stalled := "rank 3: all-reduce #1: receive from rank 2 at " + groups[0].peers[2] + ": no progress within the 300ms timeout"
	gaveUp := func(r int) string {
		return fmt.Sprintf("dist: rank %d: all-reduce #1: the group gave up: %s", r, stalled)
	}
	checkFailed(t, errs, []int{0, 1, 3, 4}, map[int]string{0: gaveUp(0), 1: gaveUp(1), 3: "dist: " + stalled, 4: gaveUp(4)},
		start, timeout+time.Second)
	// The stalled rank, resuming, finds its links closed.
	start = time.Now()
	err := groups[2].AllReduceSum(make([]float32, 10))
	checkFailed(t, []error{err}, []int{0}, map[int]string{0: "dist: rank 2: all-reduce #1: "}, start, time.Second)
}

func TestRankStallsWhileSent(t *testing.T) {
	// Rank 2 stalls while rank 1 is sending it more than the socket
	// buffers hold: rank 1's write times out, and it too names rank 2.
	const p, timeout = 3, 300 * time.Millisecond
	groups := mustJoin(t, p, func(r int, c *Config) bool { c.Timeout = timeout; return true })
	for _, g := range groups {
		g.next.(*net.TCPConn).SetWriteBuffer(64 << 10)
	}
	start := time.Now()
	errs := onEach(groups, func(r int, g *Group) error {
		if r == 2 {
			return nil
		}
		return g.AllReduceSum(make([]float32, 3*maxPiece))
	})
	at := "rank 2 at " + groups[0].peers[2] + ": no progress within the 300ms timeout"
	checkFailed(t, errs, []int{0, 1}, map[int]string{0: "receive from " + at, 1: at}, start, timeout+time.Second)
}

func TestMismatchedCalls(t *testing.T) {
	const p = 3
	groups := mustJoin(t, p, nil)
	start := time.Now()
	errs := onEach(groups, func(r int, g *Group) error {
		if r == 1 {
			return g.Broadcast(make([]float32, 5))
		}
		return g.AllReduceSum(make([]float32, 6))
	})
	// Rank 1 notices first: rank 0's first piece is not the broadcast it waits for.
	checkFailed(t, errs, []int{0, 1, 2}, map[int]string{
		1: "dist: rank 1: broadcast #1: receive from rank 0 at " + groups[1].peers[0] +
			": got all-reduce #1 with 8 bytes where broadcast #1 with 20 bytes was due",
	}, start, time.Second)
}

func TestJoinErrors(t *testing.T) {
	// without leaves rank out; change alters rank's config.
	without := func(rank int) func(int, *Config) bool {
		return func(r int, c *Config) bool { c.JoinTimeout = 500 * time.Millisecond; return r != rank }
	}
	change := func(rank int, f func(c *Config)) func(int, *Config) bool {
		return func(r int, c *Config) bool {
			c.JoinTimeout = 500 * time.Millisecond
			if r == rank {
				f(c)
			}
			return true
		}
	}
	for _, tc := range []struct {
		name  string
		p     int
		setup func(r int, c *Config) bool
		want  map[int]string
	}{
		{"rank never starts", 3, without(2),
			map[int]string{0: "rank(s) 2 of 3 did not join within 500ms", 1: "rank(s) 2 of 3 did not join within 500ms"}},
		{"rank 0 never starts", 2, without(0),
			map[int]string{1: "dist: rendezvous: rank 1: rank 0 at 127.0.0.1:"}},
		{"duplicate rank", 3, change(2, func(c *Config) { c.Rank = 1 }),
			map[int]string{0: "rank 1 joined twice, at 127.0.0.1:", 2: "rank 1 joined twice, at 127.0.0.1:"}},
		{"world size", 3, change(2, func(c *Config) { c.WorldSize = 4 }),
			map[int]string{0: " has world size 4, rank 0 at 127.0.0.1:", 2: " has world size 4, rank 0 at 127.0.0.1:"}},
		{"fingerprint", 2, change(1, func(c *Config) { c.Fingerprint = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9} }),
			map[int]string{
				0: "has fingerprint 0102030405060708…, rank 0 at ",
				1: "has fingerprint 0102030405060708…, rank 0 at 127.0.0.1:",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each waits out its own join deadline
			start := time.Now()
			_, errs := joinAll(t, tc.p, tc.setup)
			var ranks []int
			for r := range tc.want {
				ranks = append(ranks, r)
			}
			checkFailed(t, errs, ranks, tc.want, start, 4*time.Second)
			if tc.name == "fingerprint" && !strings.HasSuffix(errs[0].Error(), " has 6d6f64656c: model or flags differ") {
				t.Errorf("rank 0's own fingerprint missing: %v", errs[0])
			}
		})
	}
}

// TestAbandon has rank 0 fail before it joins: the other ranks, one of
// them late, must get its reason at once rather than at the join
// deadline, and Abandon must return once both have been told.
func TestAbandon(t *testing.T) {
	const p = 3
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	start := time.Now()
	errs := make([]error, p)
	var wg sync.WaitGroup
	wg.Go(func() {
		Abandon(context.Background(), Config{WorldSize: p, Addr: addr, RunID: "a", Listener: ln, JoinTimeout: 10 * time.Second},
			fmt.Errorf("no data"))
	})
	for r := 1; r < p; r++ {
		wg.Go(func() {
			time.Sleep(time.Duration(r-1) * 300 * time.Millisecond)
			_, errs[r] = Join(context.Background(), Config{Rank: r, WorldSize: p, Addr: addr, RunID: "a", JoinTimeout: 10 * time.Second})
		})
	}
	wg.Wait()
	want := "rank 0 at " + addr + " failed before the rendezvous: no data"
	checkFailed(t, errs, []int{1, 2}, map[int]string{1: want, 2: want}, start, 3*time.Second)
}

func TestJoinTurnsAwayStrangers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	root := make(chan error, 1)
	go func() {
		g, err := Join(context.Background(), Config{WorldSize: 2, Addr: addr, RunID: "a", Listener: ln, JoinTimeout: 5 * time.Second})
		if err == nil {
			err = g.Barrier()
			g.Close()
		}
		root <- err
	}()
	// Something that is not glmc, then glmc speaking another protocol
	// version, then a rank of another run: turned away, rank 0 goes on.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	c.Close()
	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(append([]byte(magic), 2, 0, 0, 0))
	_, err = readMessage(c, kindTable, time.Now().Add(5*time.Second))
	c.Close()
	if want := "turned away 127.0.0.1:"; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "speaks protocol version 2, not 1") {
		t.Errorf("other version: %v, want a rejection containing %q and the versions", err, want)
	}
	_, err = Join(context.Background(), Config{Rank: 1, WorldSize: 2, Addr: addr, RunID: "b", JoinTimeout: 5 * time.Second})
	if want := `belongs to run "b", rank 0 at ` + addr + ` to run "a"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("other run: %v, want an error containing %q", err, want)
	}
	g, err := Join(context.Background(), Config{Rank: 1, WorldSize: 2, Addr: addr, RunID: "a", JoinTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Barrier(); err != nil {
		t.Fatal(err)
	}
	if err := <-root; err != nil {
		t.Fatal(err)
	}
}

func BenchmarkAllReduceSum(b *testing.B) {
	for _, p := range []int{2, 4} {
		for _, n := range []int{1 << 14, 1 << 20} {
			b.Run(fmt.Sprintf("P=%d/n=%d", p, n), func(b *testing.B) {
				groups := mustJoin(b, p, nil)
				bufs := make([][]float32, p)
				for r := range bufs {
					bufs[r] = make([]float32, n)
				}
				b.SetBytes(int64(4 * n))
				for b.Loop() {
					onEach(groups, func(r int, g *Group) error { return g.AllReduceSum(bufs[r]) })
				}
				// What each link carries, as nccl-tests' "bus bandwidth":
				// comparable across world sizes.
				bus := 2 * float64(p-1) / float64(p) * float64(4*n) * float64(b.N) / b.Elapsed().Seconds()
				b.ReportMetric(bus/1e6, "bus-MB/s")
			})
		}
	}
}
