package dist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"time"
)

// Group is this process's membership in a formed group: persistent links
// to the next and the previous rank of the ring. Collectives must be
// called in the same order with the same lengths on every rank, and not
// concurrently; Close may be called at any time.
type Group struct {
	rank, size int
	timeout    time.Duration
	peers      []string // listen address of each rank, for error messages
	next, prev net.Conn // nil when size is 1
	seq        uint32   // collectives started, checked against every frame
	sendBuf    []byte   // header and one piece, owned by the sender
	recvBuf    []byte   // one piece, owned by the receiver

	sending sync.Mutex // held while a frame is written to next

	mu     sync.Mutex
	err    error // first failure; once set, every call returns it
	closed bool
}

// Rank is this process's rank.
func (g *Group) Rank() int { return g.rank }

// Size is the number of ranks.
func (g *Group) Size() int { return g.size }

// errClosed is what calls on a group closed by its owner return.
var errClosed = errors.New("dist: group closed")

// Close closes the links; the neighbours' pending and next calls fail at
// once, and so, link by link, do everybody's.
func (g *Group) Close() error {
	g.abort(errClosed, "")
	return nil
}

// abort records the first failure and closes both links, which unblocks
// whatever the other goroutine of a collective is waiting for and tells
// the neighbours. Unless the owner closed the group, it first passes cause
// (the failure as the rank that saw it first described it) to the next
// rank in an abort frame, which every rank forwards in turn, so all of
// them name the rank that failed rather than the neighbour that hung up.
func (g *Group) abort(err error, cause string) {
	g.mu.Lock()
	if g.err == nil {
		g.err = err
	}
	closed := g.closed
	g.closed = true
	g.mu.Unlock()
	if closed || g.next == nil {
		return
	}
	g.prev.Close()
	// A frame already half written cannot be followed by another one.
	if cause != "" && g.sending.TryLock() {
		writeMessage(g.next, kindAbort, []byte(cause), time.Now().Add(time.Second))
		g.sending.Unlock()
	}
	g.next.Close()
}

func (g *Group) failure() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// op is one collective call, for frame checks and error messages.
type op struct {
	g    *Group
	kind byte
	seq  uint32
}

func (g *Group) start(kind byte) (op, error) {
	g.seq++
	return op{g, kind, g.seq}, g.failure()
}

// fail turns a link error into the group's error, naming the peer.
func (o op) fail(err error, verb string, peer int) {
	g := o.g
	if errors.Is(err, net.ErrClosed) && g.failure() != nil {
		return // our own abort closed the link; the cause is recorded
	}
	var aborted *abortError
	if errors.As(err, &aborted) {
		g.abort(fmt.Errorf("dist: rank %d: %s #%d: the group gave up: %s", g.rank, kindNames[o.kind], o.seq, aborted.cause), aborted.cause)
		return
	}
	cause := fmt.Sprintf("rank %d: %s #%d: %s rank %d at %s: %s", g.rank, kindNames[o.kind], o.seq,
		verb, peer, g.peers[peer], describe(err, g.timeout))
	g.abort(errors.New("dist: "+cause), cause)
}

// abortError is an abort frame from the previous rank.
type abortError struct{ cause string }

func (e *abortError) Error() string { return e.cause }

// AllReduceSum replaces buf on every rank by the element-wise sum of all
// ranks' buf, the same bits on every rank; see the package documentation
// for the order of the additions. Every rank must pass the same length.
// After an error buf holds partial sums and the group is unusable.
func (g *Group) AllReduceSum(buf []float32) error {
	return g.ring(kindAllReduce, buf)
}

// Barrier returns once every rank has called it.
func (g *Group) Barrier() error {
	return g.ring(kindBarrier, nil)
}

// ring runs a reduce-scatter then an all-gather over P chunks of buf. In
// step s of the reduce-scatter, rank r sends chunk (r−s) mod P and adds
// the incoming chunk (r−s−1) mod P to its own; after P−1 steps rank r
// holds the finished chunk (r+1) mod P, and P−1 steps of passing finished
// chunks along give everyone all of them. Every step moves at least one
// frame, so an empty buf still synchronises the ranks.
func (g *Group) ring(kind byte, buf []float32) error {
	o, err := g.start(kind)
	if err != nil || g.size == 1 {
		return err
	}
	p, r := g.size, g.rank
	chunk := func(c int) []float32 {
		c = (c%p + p) % p
		return buf[c*len(buf)/p : (c+1)*len(buf)/p]
	}
	for s := range p - 1 {
		if err := o.exchange(chunk(r-s), chunk(r-s-1), true); err != nil {
			return err
		}
	}
	for s := range p - 1 {
		if err := o.exchange(chunk(r+1-s), chunk(r-s), false); err != nil {
			return err
		}
	}
	return nil
}

// exchange sends out to the next rank while receiving in from the previous
// one, adding to in or overwriting it. Both directions run at once:
// otherwise every rank would wait for its neighbour to read, and pieces
// larger than the socket buffers would deadlock the ring.
func (o op) exchange(out, in []float32, add bool) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		o.sendAll(out)
	}()
	eachPiece(len(in), func(lo, hi int) bool { return o.recvPiece(in[lo:hi], add) })
	<-done
	return o.g.failure()
}

// sendAll sends data to the next rank piece by piece.
func (o op) sendAll(data []float32) bool {
	return eachPiece(len(data), func(lo, hi int) bool { return o.sendPiece(data[lo:hi]) })
}

// eachPiece calls f on consecutive ranges lo..hi of 0..n, each at most
// maxPiece long and at least one (empty when n is 0), until f returns
// false; it reports whether f always returned true.
func eachPiece(n int, f func(lo, hi int) bool) bool {
	for lo := 0; ; lo += maxPiece {
		hi := min(lo+maxPiece, n)
		if !f(lo, hi) {
			return false
		}
		if hi == n {
			return true
		}
	}
}

// sendPiece writes one frame to the next rank; on failure it aborts the
// group and returns false.
func (o op) sendPiece(data []float32) bool {
	g := o.g
	buf := g.sendBuf[:headerSize+4*len(data)]
	for i, v := range data {
		binary.LittleEndian.PutUint32(buf[headerSize+4*i:], math.Float32bits(v))
	}
	g.sending.Lock()
	err := writeFrame(g.next, buf, o.kind, o.seq, time.Now().Add(g.timeout))
	g.sending.Unlock()
	if err != nil {
		o.fail(err, "send to", (g.rank+1)%g.size)
		return false
	}
	return true
}

// header reads the next frame header from the previous rank. While it
// waits, this rank tells the next one every quarter timeout that it is
// alive and waiting itself, and such waiting frames from the previous
// rank restart its own clock. So when one rank stalls, only its successor
// times out, and the others hear why through that successor's abort frame
// rather than each timing out on its own neighbour at about the same
// moment. Waiting frames never extend a wait beyond twice the timeout.
func (o op) header() (kind byte, seq uint32, n int, err error) {
	g := o.g
	// Times are offsets from start.
	start := time.Now()
	var heard, told time.Duration
	for {
		deadline := min(heard+g.timeout, told+g.timeout/4, 2*g.timeout)
		kind, seq, n, err = readHeader(g.prev, start.Add(deadline))
		now := time.Since(start)
		switch {
		case err == nil && kind == kindWaiting && n == 0:
			heard = now
		case errors.Is(err, os.ErrDeadlineExceeded) && now < heard+g.timeout && now < 2*g.timeout:
		default:
			return kind, seq, n, err
		}
		if now-told >= g.timeout/4 && g.sending.TryLock() { // else a frame is on its way anyway
			told = now
			werr := writeMessage(g.next, kindWaiting, nil, time.Now().Add(g.timeout))
			g.sending.Unlock()
			if werr != nil {
				o.fail(werr, "send to", (g.rank+1)%g.size)
				return 0, 0, 0, net.ErrClosed // the failure is recorded
			}
		}
	}
}

// recvPiece reads one frame from the previous rank into dst, adding or
// overwriting; on failure it aborts the group and returns false.
func (o op) recvPiece(dst []float32, add bool) bool {
	g := o.g
	from := (g.rank + g.size - 1) % g.size
	kind, seq, n, err := o.header()
	if err == nil && kind == kindAbort {
		g.prev.SetReadDeadline(time.Now().Add(g.timeout))
		cause := make([]byte, n)
		if _, err = io.ReadFull(g.prev, cause); err == nil {
			err = &abortError{string(cause)}
		}
	}
	if err == nil && (kind != o.kind || seq != o.seq || n != 4*len(dst)) {
		err = fmt.Errorf("got %s #%d with %d bytes where %s #%d with %d bytes was due: collectives called in another order or with other lengths",
			kindNames[kind], seq, n, kindNames[o.kind], o.seq, 4*len(dst))
	}
	if err == nil {
		g.prev.SetReadDeadline(time.Now().Add(g.timeout))
		_, err = io.ReadFull(g.prev, g.recvBuf[:n])
	}
	if err != nil {
		o.fail(err, "receive from", from)
		return false
	}
	b := g.recvBuf
	if add {
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])) + dst[i]
		}
	} else {
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	}
	return true
}

// Broadcast copies rank 0's buf into every other rank's buf, which must
// have the same length. The data runs down the chain 0 → 1 → … → P−1 piece
// by piece, so the ranks forward one piece while the next arrives.
func (g *Group) Broadcast(buf []float32) error {
	o, err := g.start(kindBroadcast)
	if err != nil || g.size == 1 {
		return err
	}
	if g.rank == 0 {
		o.sendAll(buf)
		return g.failure()
	}
	last := g.rank == g.size-1
	eachPiece(len(buf), func(lo, hi int) bool {
		return o.recvPiece(buf[lo:hi], false) && (last || o.sendPiece(buf[lo:hi]))
	})
	return g.failure()
}
