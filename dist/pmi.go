package dist

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// pmiKey is the PMI-1 key under which rank 0 publishes its address.
const pmiKey = "glmc-rendezvous"

// Config returns Join's configuration for this launch; the caller adds the
// Fingerprint and may change the timeouts. When rank 0's address goes
// through PMI it opens the PMI_FD socket, which Join uses and closes.
func (l Launch) Config() (Config, error) {
	cfg := Config{Rank: l.Rank, WorldSize: l.WorldSize, Addr: l.Addr, RunID: l.RunID, pmiHost: l.pmiHost}
	if l.Addr == "" && l.PMIFD > 0 {
		f := os.NewFile(uintptr(l.PMIFD), "PMI_FD")
		c, err := net.FileConn(f)
		f.Close() // FileConn holds its own copy of the descriptor
		if err != nil {
			return Config{}, fmt.Errorf("dist: PMI_FD=%d: %v", l.PMIFD, err)
		}
		cfg.PMI = c
	}
	return cfg, nil
}

// pmiRendezvous makes rank 0 listen on an ephemeral port and publish its
// address through the PMI-1 key-value store, and the other ranks read it
// there; it fills in cfg.Addr (and rank 0's cfg.Listener).
func pmiRendezvous(cfg *Config, deadline time.Time) error {
	if cfg.Rank == 0 {
		if cfg.Listener == nil {
			ln, err := net.Listen("tcp", ":0")
			if err != nil {
				return err
			}
			cfg.Listener = ln
		}
		cfg.Addr = advertise(cfg.Listener.Addr().(*net.TCPAddr), cfg.pmiHost)
	}
	addr, err := pmiExchange(cfg.PMI, cfg.Rank, cfg.Addr, deadline)
	if err != nil {
		return fmt.Errorf("PMI: %w", err)
	}
	cfg.Addr = addr
	return nil
}

// advertise is the address other hosts can dial for a listener: its IP if
// it listens on one, else the name the launcher reached this host by, else
// the host name.
func advertise(a *net.TCPAddr, launcherHost string) string {
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = launcherHost
		if name, err := os.Hostname(); host == "" && err == nil {
			host = name
		}
	}
	return net.JoinHostPort(host, fmt.Sprint(a.Port))
}

// pmiExchange speaks the PMI-1 wire protocol (newline-terminated
// "cmd=... key=value" lines, as MPICH's simple PMI client does): init,
// learn the key-value space's name, rank 0 puts addr, everybody meets in a
// barrier, the others get the address, and all finalize.
func pmiExchange(conn net.Conn, rank int, addr string, deadline time.Time) (string, error) {
	conn.SetDeadline(deadline)
	in := bufio.NewReader(conn)
	call := func(req, want string) (map[string]string, error) {
		if _, err := io.WriteString(conn, req+"\n"); err != nil {
			return nil, fmt.Errorf("%s: %s", firstWord(req), describe(err, time.Until(deadline)))
		}
		line, err := in.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("%s: %s", firstWord(req), describe(err, time.Until(deadline)))
		}
		reply := map[string]string{}
		for _, field := range strings.Fields(line) {
			k, v, _ := strings.Cut(field, "=")
			reply[k] = v
		}
		if reply["cmd"] != want {
			return nil, fmt.Errorf("%s: answer %q, want cmd=%s", firstWord(req), strings.TrimSpace(line), want)
		}
		if rc := reply["rc"]; rc != "" && rc != "0" {
			return nil, fmt.Errorf("%s: failed with rc=%s %s", firstWord(req), rc, reply["msg"])
		}
		return reply, nil
	}
	if _, err := call("cmd=init pmi_version=1 pmi_subversion=1", "response_to_init"); err != nil {
		return "", err
	}
	reply, err := call("cmd=get_my_kvsname", "my_kvsname")
	if err != nil {
		return "", err
	}
	kvs := reply["kvsname"]
	if rank == 0 {
		if _, err := call("cmd=put kvsname="+kvs+" key="+pmiKey+" value="+addr, "put_result"); err != nil {
			return "", err
		}
	}
	if _, err := call("cmd=barrier_in", "barrier_out"); err != nil {
		return "", err
	}
	if rank != 0 {
		if reply, err = call("cmd=get kvsname="+kvs+" key="+pmiKey, "get_result"); err != nil {
			return "", err
		}
		if addr = reply["value"]; addr == "" {
			return "", fmt.Errorf("get: no value for %s", pmiKey)
		}
	}
	if _, err := call("cmd=finalize", "finalize_ack"); err != nil {
		return "", err
	}
	return addr, nil
}

// firstWord names a PMI request in errors: "cmd=get kvsname=…" gives "get".
func firstWord(req string) string {
	w, _, _ := strings.Cut(strings.TrimPrefix(req, "cmd="), " ")
	return w
}
