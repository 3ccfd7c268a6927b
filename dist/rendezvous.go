package dist

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Config is what Join needs; Rank, WorldSize and Addr usually come from
// Detect's Launch.
type Config struct {
	// Rank and WorldSize place this process; every process passes the
	// same WorldSize.
	Rank, WorldSize int
	// Addr is host:port of rank 0, where every other rank dials in.
	Addr string
	// RunID must be equal on every rank; rank 0 turns away processes with
	// another one (e.g. another job that reached the same port).
	RunID string
	// Fingerprint must be equal on every rank, e.g. a hash of the model
	// shapes and training flags; a mismatch fails the whole group.
	Fingerprint []byte
	// JoinTimeout bounds the rendezvous and the set-up of the links
	// (default 10 minutes, like torchrun's join timeout): ranks started
	// before rank 0 keep dialling until then.
	JoinTimeout time.Duration
	// Timeout bounds every read and write of a collective (default 5
	// minutes): a peer that makes no progress for that long fails the
	// group. It must exceed the longest time one rank can spend between
	// collectives while others wait in one (e.g. rank 0 evaluating).
	Timeout time.Duration
	// Listener, for rank 0 only, is where the group meets; nil listens on
	// Addr's port on every interface. Join closes it.
	Listener net.Listener
	// PMI, used when Addr is empty, is a PMI-1 connection (MPICH/Hydra's
	// PMI_FD; Launch.Config opens it) through which rank 0 publishes the
	// address it listens on. Join closes it.
	PMI net.Conn
	// pmiHost is Launch.pmiHost, the host name rank 0 publishes.
	pmiHost string
}

// hello is what a joining rank tells rank 0.
type hello struct {
	RunID       string `json:"run_id"`
	Rank        int    `json:"rank"`
	WorldSize   int    `json:"world_size"`
	Addr        string `json:"addr"`
	Fingerprint []byte `json:"fingerprint"`
}

// link is what rank r tells rank r+1 when it opens their link.
type link struct {
	RunID string `json:"run_id"`
	Rank  int    `json:"rank"`
}

// Join meets the other ranks at rank 0 and connects the ring; it returns
// when every rank has joined, or with a one-line error when the
// rendezvous fails, times out or ctx ends.
//
// Rank 0 checks each hello (version, run id, rank, world size,
// fingerprint). A process of another run or protocol version is turned
// away and rank 0 goes on waiting; a duplicate rank, another world size or
// fingerprint fails the whole group, and every rank already waiting gets
// rank 0's error.
func Join(ctx context.Context, cfg Config) (*Group, error) {
	ctx, cancel, err := prepare(ctx, &cfg)
	if err != nil {
		return nil, fmt.Errorf("dist: %w", err)
	}
	defer cancel()
	if cfg.WorldSize == 1 {
		return &Group{rank: 0, size: 1, timeout: cfg.Timeout}, nil
	}
	var g *Group
	if cfg.Rank == 0 {
		g, err = serve(ctx, cfg)
	} else {
		g, err = dialRoot(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("dist: rendezvous: %w", err)
	}
	return g, nil
}

// prepare fills in cfg's defaults, checks it and, for more than one rank,
// returns the context of the rendezvous (ending at the join deadline) and
// fills in Addr from the PMI key-value store when the launcher gives no
// address. Its errors lack the "dist: " prefix.
func prepare(ctx context.Context, cfg *Config) (context.Context, context.CancelFunc, error) {
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = 10 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Minute
	}
	// Join and Abandon own both, whatever happens.
	if cfg.PMI != nil {
		defer cfg.PMI.Close()
	}
	closeListener := func() {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
	}
	switch {
	case cfg.WorldSize < 1 || cfg.Rank < 0 || cfg.Rank >= cfg.WorldSize:
		closeListener()
		return nil, nil, fmt.Errorf("rank %d is not in 0..%d (world size %d)", cfg.Rank, cfg.WorldSize-1, cfg.WorldSize)
	case cfg.WorldSize > 1 && cfg.Addr == "" && cfg.PMI == nil:
		closeListener()
		return nil, nil, fmt.Errorf("rank %d: no address of rank 0 (Config.Addr) and no PMI connection to learn it", cfg.Rank)
	case cfg.WorldSize == 1:
		closeListener()
		return ctx, func() {}, nil
	}
	// Rank 0 tells every waiting rank why it gives up; the other ranks wait
	// a second longer, so that report arrives before their clocks run out.
	timeout := cfg.JoinTimeout
	if cfg.Rank > 0 {
		timeout += time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	if cfg.Addr == "" {
		deadline, _ := ctx.Deadline()
		if err := pmiRendezvous(cfg, deadline); err != nil {
			closeListener()
			cancel()
			return nil, nil, fmt.Errorf("rendezvous: rank %d: %w", cfg.Rank, err)
		}
	}
	return ctx, cancel, nil
}

// Abandon is for rank 0 when it fails before it could Join: instead of
// leaving the other ranks dialling until the join deadline, it serves the
// rendezvous only to turn every rank away with cause, so they all fail at
// once with rank 0's error. It returns once every other rank has been
// told, at the join deadline, or when ctx ends; other ranks do nothing.
func Abandon(ctx context.Context, cfg Config, cause error) {
	if cfg.Rank != 0 {
		if cfg.PMI != nil {
			cfg.PMI.Close()
		}
		return
	}
	ctx, cancel, err := prepare(ctx, &cfg)
	if err != nil || cfg.WorldSize == 1 {
		return
	}
	defer cancel()
	ln, err := listen(ctx, cfg)
	if err != nil {
		return
	}
	defer ln.Close()
	deadline, _ := ctx.Deadline()
	reason := []byte(fmt.Sprintf("rank 0 at %s failed before the rendezvous: %v", cfg.Addr, cause))
	told := map[int]bool{}
	for len(told) < cfg.WorldSize-1 {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if h, err := readHello(c, handshakeDeadline(deadline)); err == nil && h.RunID == cfg.RunID && h.Rank > 0 && h.Rank < cfg.WorldSize {
			told[h.Rank] = true
		}
		writeMessage(c, kindReject, reason, time.Now().Add(time.Second))
		c.Close()
	}
}

// listen returns rank 0's rendezvous listener: cfg.Listener or a new one on
// Addr's port on every interface, closed when ctx ends.
func listen(ctx context.Context, cfg Config) (net.Listener, error) {
	ln := cfg.Listener
	if ln == nil {
		_, port, err := net.SplitHostPort(cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("rank 0: address %q: %v", cfg.Addr, err)
		}
		if ln, err = net.Listen("tcp", ":"+port); err != nil {
			return nil, fmt.Errorf("rank 0: %v", err)
		}
	}
	context.AfterFunc(ctx, func() { ln.Close() })
	return ln, nil
}

// serve is rank 0's side: collect a hello from every other rank, hand out
// the peer table, then link to rank 1 and take rank P−1's link on the same
// listener.
func serve(ctx context.Context, cfg Config) (*Group, error) {
	ln, err := listen(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	self := fmt.Sprintf("rank 0 at %s", cfg.Addr)
	deadline, _ := ctx.Deadline()

	peers := make([]net.Conn, cfg.WorldSize)
	table := make([]string, cfg.WorldSize)
	table[0] = cfg.Addr
	defer func() {
		for _, c := range peers {
			if c != nil {
				c.Close()
			}
		}
	}()
	// fail tells every waiting rank why the group will not form.
	fail := func(err error) error {
		for _, c := range peers {
			if c != nil {
				writeMessage(c, kindReject, []byte(err.Error()), time.Now().Add(time.Second))
			}
		}
		return err
	}
	var turnedAway string // the last process turned away, for the timeout error
	for joined := 1; joined < cfg.WorldSize; {
		c, err := ln.Accept()
		if err != nil {
			var missing []string
			for r := 1; r < cfg.WorldSize; r++ {
				if peers[r] == nil {
					missing = append(missing, strconv.Itoa(r))
				}
			}
			err := fmt.Errorf("%s: rank(s) %s of %d did not join within %v%s", self, strings.Join(missing, ", "),
				cfg.WorldSize, cfg.JoinTimeout, turnedAway)
			return nil, fail(err)
		}
		tune(c)
		h, err := readHello(c, handshakeDeadline(deadline))
		if err != nil {
			if !errors.Is(err, errStranger) {
				reason := fmt.Sprintf("%s turned away %s: %v", self, c.RemoteAddr(), err)
				writeMessage(c, kindReject, []byte(reason), time.Now().Add(time.Second))
				turnedAway = "; " + reason
			}
			c.Close()
			continue
		}
		them := fmt.Sprintf("rank %d at %s", h.Rank, h.Addr)
		if h.RunID != cfg.RunID {
			reason := fmt.Sprintf("%s belongs to run %q, %s to run %q", them, h.RunID, self, cfg.RunID)
			writeMessage(c, kindReject, []byte(reason), time.Now().Add(time.Second))
			turnedAway = "; turned away " + reason
			c.Close()
			continue
		}
		switch {
		case h.WorldSize != cfg.WorldSize:
			err = fmt.Errorf("%s has world size %d, %s has %d", them, h.WorldSize, self, cfg.WorldSize)
		case h.Rank <= 0 || h.Rank >= cfg.WorldSize:
			err = fmt.Errorf("%s: rank is not in 1..%d (%s)", them, cfg.WorldSize-1, self)
		case peers[h.Rank] != nil:
			err = fmt.Errorf("rank %d joined twice, at %s and at %s (%s)", h.Rank, table[h.Rank], h.Addr, self)
		case !bytes.Equal(h.Fingerprint, cfg.Fingerprint):
			err = fmt.Errorf("%s has fingerprint %s, %s has %s: model or flags differ", them,
				short(h.Fingerprint), self, short(cfg.Fingerprint))
		}
		if err != nil {
			writeMessage(c, kindReject, []byte(err.Error()), time.Now().Add(time.Second))
			c.Close()
			return nil, fail(err)
		}
		peers[h.Rank], table[h.Rank] = c, h.Addr
		joined++
	}
	msg, _ := json.Marshal(table)
	for r, c := range peers[1:] {
		if err := writeMessage(c, kindTable, msg, deadline); err != nil {
			return nil, fail(fmt.Errorf("%s: sending the peer table to rank %d at %s: %s", self, r+1, table[r+1], describe(err, cfg.JoinTimeout)))
		}
	}
	return connectRing(ctx, cfg, ln, table)
}

// readHello reads the preface and hello of a process dialling rank 0.
func readHello(c net.Conn, deadline time.Time) (hello, error) {
	var h hello
	if err := readPreface(c, deadline); err != nil {
		return h, err
	}
	msg, err := readMessage(c, kindHello, deadline)
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(msg, &h); err != nil {
		return h, fmt.Errorf("malformed hello: %v", err)
	}
	return h, nil
}

// dialRoot is the side of every rank but 0: listen for the link from the
// previous rank, say hello to rank 0, wait for the peer table.
func dialRoot(ctx context.Context, cfg Config) (*Group, error) {
	self := fmt.Sprintf("rank %d", cfg.Rank)
	root, err := dialRetry(ctx, cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s: rank 0 at %s: %v", self, cfg.Addr, err)
	}
	defer root.Close()
	stop := context.AfterFunc(ctx, func() { root.Close() })
	defer stop()
	// Listen on the interface that reaches rank 0: the other ranks reach
	// this one through it too, and nothing else is exposed.
	local := root.LocalAddr().(*net.TCPAddr)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: local.IP, Zone: local.Zone})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", self, err)
	}
	defer ln.Close()
	self = fmt.Sprintf("rank %d at %s", cfg.Rank, ln.Addr())

	deadline, _ := ctx.Deadline()
	msg, _ := json.Marshal(hello{RunID: cfg.RunID, Rank: cfg.Rank, WorldSize: cfg.WorldSize,
		Addr: ln.Addr().String(), Fingerprint: cfg.Fingerprint})
	if err := writePreface(root, deadline); err != nil {
		return nil, fmt.Errorf("%s: hello to rank 0 at %s: %s", self, cfg.Addr, describe(err, cfg.JoinTimeout))
	}
	if err := writeMessage(root, kindHello, msg, deadline); err != nil {
		return nil, fmt.Errorf("%s: hello to rank 0 at %s: %s", self, cfg.Addr, describe(err, cfg.JoinTimeout))
	}
	msg, err = readMessage(root, kindTable, deadline)
	var reject *rejectError
	switch {
	case errors.As(err, &reject):
		return nil, reject
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: no peer table from rank 0 at %s within %v", self, cfg.Addr, cfg.JoinTimeout)
	case err != nil:
		return nil, fmt.Errorf("%s: waiting for the peer table from rank 0 at %s: %s", self, cfg.Addr, describe(err, cfg.JoinTimeout))
	}
	var table []string
	if err := json.Unmarshal(msg, &table); err != nil || len(table) != cfg.WorldSize {
		return nil, fmt.Errorf("%s: malformed peer table from rank 0 at %s", self, cfg.Addr)
	}
	return connectRing(ctx, cfg, ln, table)
}

// dialRetry dials addr until it answers or ctx ends, backing off from
// 50 ms to 1 s; DNS failures are retried too, as Kubernetes publishes pod
// names only once the pods run.
func dialRetry(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	var last error // the last failure not caused by the deadline itself
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			tune(c)
			return c, nil
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("not reachable before the join deadline: %v", last)
		case <-time.After(wait):
		}
	}
}

// connectRing opens the link to the next rank and accepts the one from the
// previous rank on ln, ignoring anything else that connects.
func connectRing(ctx context.Context, cfg Config, ln net.Listener, table []string) (*Group, error) {
	p, r := cfg.WorldSize, cfg.Rank
	g := &Group{rank: r, size: p, timeout: cfg.Timeout, peers: table,
		sendBuf: make([]byte, headerSize+4*maxPiece), recvBuf: make([]byte, 4*maxPiece)}
	self := fmt.Sprintf("rank %d at %s", r, table[r])
	deadline, _ := ctx.Deadline()
	nextRank := (r + 1) % p
	next, err := dialRetry(ctx, table[nextRank])
	if err == nil {
		msg, _ := json.Marshal(link{RunID: cfg.RunID, Rank: r})
		if err = writePreface(next, deadline); err == nil {
			err = writeMessage(next, kindLink, msg, deadline)
		}
		if err != nil {
			next.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: link to rank %d at %s: %v", self, nextRank, table[nextRank], err)
	}
	g.next = next
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	prevRank := (r + p - 1) % p
	for g.prev == nil {
		c, err := ln.Accept()
		if err != nil {
			next.Close()
			return nil, fmt.Errorf("%s: no link from rank %d at %s before the join deadline", self, prevRank, table[prevRank])
		}
		tune(c)
		if lk, err := readLink(c, handshakeDeadline(deadline)); err == nil && lk.RunID == cfg.RunID && lk.Rank == prevRank {
			g.prev = c
			continue
		}
		writeMessage(c, kindReject, []byte(self+": the group has formed"), time.Now().Add(time.Second))
		c.Close()
	}
	return g, nil
}

func readLink(c net.Conn, deadline time.Time) (link, error) {
	var lk link
	if err := readPreface(c, deadline); err != nil {
		return lk, err
	}
	msg, err := readMessage(c, kindLink, deadline)
	if err == nil {
		err = json.Unmarshal(msg, &lk)
	}
	return lk, err
}

// handshakeDeadline bounds the wait for a preface and hello, so a process
// that connects and says nothing holds up the rendezvous for a few seconds
// at most.
func handshakeDeadline(deadline time.Time) time.Time {
	if d := time.Now().Add(10 * time.Second); d.Before(deadline) {
		return d
	}
	return deadline
}

// short shows a fingerprint in errors: hex, cut after 8 bytes.
func short(fp []byte) string {
	if len(fp) == 0 {
		return "(none)"
	}
	if len(fp) > 8 {
		return hex.EncodeToString(fp[:8]) + "…"
	}
	return hex.EncodeToString(fp)
}
