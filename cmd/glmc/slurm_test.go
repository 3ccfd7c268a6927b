package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slurmNodes are the two Slurm nodes of startSlurm, both this host: their
// names must resolve (to 127.0.0.1), as rank 0's host is the first node of
// the step. .ci/run adds them to /etc/hosts.
var slurmNodes = []string{"glmc-n1", "glmc-n2"}

// startSlurm starts a one-host Slurm cluster of two nodes in a temporary
// folder (munged, slurmctld and two slurmd -N, as root) and returns the
// environment that points srun and sbatch at it; the daemons stop when
// the test ends. It skips when Slurm, munge or the node names are missing
// or the test does not run as root, and fails instead under CI, where
// .ci/run provides them all.
func startSlurm(t, owner *testing.T) []string {
	t.Helper()
	var missing []string
	for _, bin := range []string{"munged", "slurmctld", "slurmd", "srun", "sbatch", "sinfo"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	for _, node := range slurmNodes {
		if addrs, err := net.LookupHost(node); err != nil || len(addrs) == 0 {
			missing = append(missing, "a hosts entry for "+node)
		}
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("one-host Slurm cluster: missing %s (apt-get install slurm-wlm munge; echo '127.0.0.1 %s' >>/etc/hosts)",
			strings.Join(missing, ", "), strings.Join(slurmNodes, " "))
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// munged wants a folder others can enter for its socket.
	dir, err := os.MkdirTemp("", "glmc-slurm-")
	if err != nil {
		t.Fatal(err)
	}
	owner.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 128)
	rand.Read(key)
	if err := os.WriteFile(filepath.Join(dir, "munge.key"), key, 0o400); err != nil {
		t.Fatal(err)
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	daemon(t, owner, path("munged.pid"), "munged", "--force", "--socket="+path("munge.sock"), "--key-file="+path("munge.key"),
		"--log-file="+path("munged.log"), "--pid-file="+path("munged.pid"), "--seed-file="+path("munged.seed"))
	ctld, nodePort := freePorts(t)
	conf := path("slurm.conf")
	host, _ := os.Hostname()
	if err := os.WriteFile(conf, fmt.Appendf(nil, `ClusterName=glmctest
SlurmctldHost=%[2]s(127.0.0.1)
SlurmctldPort=%[3]d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=%[1]s/munge.sock
CredType=cred/munge
StateSaveLocation=%[1]s/state
SlurmdSpoolDir=%[1]s/spool-%%n
SlurmctldPidFile=%[1]s/slurmctld.pid
SlurmdPidFile=%[1]s/slurmd-%%n.pid
SlurmctldLogFile=%[1]s/slurmctld.log
SlurmdLogFile=%[1]s/slurmd-%%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=glmc-n[1-2] NodeAddr=127.0.0.1 Port=%[4]d-%[5]d CPUs=2
PartitionName=test Nodes=glmc-n[1-2] Default=YES MaxTime=INFINITE State=UP
`, dir, host, ctld, nodePort, nodePort+1), 0o644); err != nil {
		t.Fatal(err)
	}
	daemon(t, owner, path("slurmctld.pid"), "slurmctld", "-f", conf)
	for _, node := range slurmNodes {
		daemon(t, owner, path("slurmd-"+node+".pid"), "slurmd", "-f", conf, "-N", node)
	}
	env := []string{"SLURM_CONF=" + conf}
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		cmd := exec.Command("sinfo", "--noheader", "--format=%T %D")
		cmd.Env = append(os.Environ(), env...)
		out, _ := cmd.CombinedOutput()
		if strings.TrimSpace(string(out)) == "idle 2" {
			break
		}
		if time.Since(start) > 30*time.Second {
			logs, _ := os.ReadFile(path("slurmctld.log"))
			t.Fatalf("the Slurm nodes are not idle after 30 s: sinfo says %q; slurmctld.log:\n%s", out, logs)
		}
	}
	return env
}

// daemon runs a daemon that forks into the background and writes its pid
// to pidFile, and stops it (SIGTERM) when owner ends.
func daemon(t, owner *testing.T, pidFile, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	var pid int
	for start := time.Now(); pid == 0; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(string(bytes.TrimSpace(b)))
		if pid == 0 && time.Since(start) > 10*time.Second {
			t.Fatalf("%s wrote no pid to %s", name, pidFile)
		}
	}
	owner.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGTERM)
		for start := time.Now(); syscall.Kill(pid, 0) == nil && time.Since(start) < 10*time.Second; {
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// freePorts returns a free loopback port and the first of two consecutive
// free ones (the two slurmd share a port range).
func freePorts(t *testing.T) (int, int) {
	t.Helper()
	one, _ := strconv.Atoi(freePort(t))
	for try := 0; try < 100; try++ {
		lo, _ := strconv.Atoi(freePort(t))
		if lo == one || lo+1 == one || lo+1 > 65535 {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(lo+1))
		if err == nil {
			ln.Close()
			return one, lo
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0, 0
}
