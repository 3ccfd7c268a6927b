package dist

import (
	"bufio"
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakePMI serves the PMI-1 wire protocol to a fixed number of clients, as
// Hydra's proxy does: one key-value space, a barrier over all clients.
type fakePMI struct {
	mu      sync.Mutex
	clients int
	kvs     map[string]string
	barrier []net.Conn // clients waiting in barrier_in
}

// startPMI returns the client ends of n connections to a fake PMI server.
func startPMI(t *testing.T, n int) (*fakePMI, []net.Conn) {
	s := &fakePMI{clients: n, kvs: map[string]string{}}
	conns := make([]net.Conn, n)
	for i := range conns {
		client, server := net.Pipe()
		conns[i] = client
		t.Cleanup(func() { server.Close() })
		go s.serve(server)
	}
	return s, conns
}

func (s *fakePMI) serve(c net.Conn) {
	in := bufio.NewReader(c)
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return
		}
		req := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			req[k] = v
		}
		s.mu.Lock()
		var reply string
		switch req["cmd"] {
		case "init":
			reply = "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0"
		case "get_my_kvsname":
			reply = "cmd=my_kvsname kvsname=kvs_7_0 rc=0"
		case "put":
			s.kvs[req["kvsname"]+"/"+req["key"]] = req["value"]
			reply = "cmd=put_result rc=0 msg=success"
		case "get":
			if v, ok := s.kvs[req["kvsname"]+"/"+req["key"]]; ok {
				reply = "cmd=get_result rc=0 msg=success value=" + v
			} else {
				reply = "cmd=get_result rc=-1 msg=key_" + req["key"] + "_not_found value=unknown"
			}
		case "barrier_in":
			s.barrier = append(s.barrier, c)
			if len(s.barrier) == s.clients {
				for _, w := range s.barrier {
					w.Write([]byte("cmd=barrier_out\n"))
				}
				s.barrier = nil
			}
		case "finalize":
			reply = "cmd=finalize_ack"
		default:
			reply = "cmd=error rc=-1 msg=unknown"
		}
		s.mu.Unlock()
		if reply != "" {
			c.Write([]byte(reply + "\n"))
		}
	}
}

func TestJoinThroughPMI(t *testing.T) {
	const p = 3
	server, pmi := startPMI(t, p)
	groups, errs := joinAll(t, p, func(r int, c *Config) bool {
		c.Addr, c.PMI = "", pmi[r] // only rank 0's Listener says where the group meets
		return true
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	if got, want := server.kvs["kvs_7_0/"+pmiKey], groups[1].peers[0]; got != want {
		t.Errorf("rank 0 published %q, the group met at %q", got, want)
	}
	bufs := [][]float32{{1, 2}, {10, 20}, {100, 200}}
	for r, err := range onEach(groups, func(r int, g *Group) error { return g.AllReduceSum(bufs[r]) }) {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	if bufs[2][0] != 111 || bufs[2][1] != 222 {
		t.Errorf("sum through a PMI-formed group = %v, want [111 222]", bufs[2])
	}
}

func TestJoinThroughPMIErrors(t *testing.T) {
	// Rank 0 never puts its address: the get fails.
	_, pmi := startPMI(t, 1)
	_, err := Join(context.Background(), Config{Rank: 1, WorldSize: 2, PMI: pmi[0], JoinTimeout: time.Second})
	want := "dist: rendezvous: rank 1: PMI: get: failed with rc=-1 key_glmc-rendezvous_not_found"
	if err == nil || err.Error() != want {
		t.Errorf("Join = %v, want %q", err, want)
	}
	// The launcher never answers the barrier.
	_, pmi = startPMI(t, 2)
	_, err = Join(context.Background(), Config{Rank: 1, WorldSize: 2, PMI: pmi[0], JoinTimeout: 200 * time.Millisecond})
	want = "dist: rendezvous: rank 1: PMI: barrier_in: no progress within"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Join = %v, want an error starting %q", err, want)
	}
	_, err = Join(context.Background(), Config{Rank: 1, WorldSize: 2})
	want = "dist: rank 1: no address of rank 0 (Config.Addr) and no PMI connection to learn it"
	if err == nil || err.Error() != want {
		t.Errorf("Join = %v, want %q", err, want)
	}
}

func TestLaunchConfigOpensPMIFD(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	f, err := client.(*net.TCPConn).File() // a descriptor as Hydra would pass it
	if err != nil {
		t.Skipf("no descriptors on this platform: %v", err)
	}
	defer f.Close()
	l := Launch{Launcher: "mpich", Rank: 1, WorldSize: 2, PMIFD: int(f.Fd())}
	cfg, err := l.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rank != 1 || cfg.WorldSize != 2 || cfg.Addr != "" || cfg.PMI == nil {
		t.Fatalf("Config() = %+v, want rank 1 of 2 with a PMI connection", cfg)
	}
	defer cfg.PMI.Close()
	go cfg.PMI.Write([]byte("cmd=init\n"))
	line, err := bufio.NewReader(server).ReadString('\n')
	if err != nil || line != "cmd=init\n" {
		t.Errorf("through PMI_FD: %q, %v; want the line written", line, err)
	}
}

func TestAdvertise(t *testing.T) {
	name, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		addr         net.TCPAddr
		launcherHost string
		want         string
	}{
		{net.TCPAddr{IP: net.IPv4(10, 0, 0, 7), Port: 4000}, "n7", "10.0.0.7:4000"},
		{net.TCPAddr{IP: net.IPv6unspecified, Port: 4000}, "n7-ib", "n7-ib:4000"},
		{net.TCPAddr{IP: net.IPv4zero, Port: 4000}, "", net.JoinHostPort(name, "4000")},
	} {
		if got := advertise(&tc.addr, tc.launcherHost); got != tc.want {
			t.Errorf("advertise(%v, %q) = %q, want %q", &tc.addr, tc.launcherHost, got, tc.want)
		}
	}
}
