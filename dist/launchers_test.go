package dist

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// childEnv marks a copy of this test binary started by a real launcher.
const childEnv = "GLMC_DIST_LAUNCHER_CHILD"

// TestLauncherChild is what each process under a real launcher runs:
// detect, join, sum, print. It does nothing in a normal test run.
func TestLauncherChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("only run by TestRealLaunchers")
	}
	l, err := Detect(os.Getenv, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := l.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.JoinTimeout, cfg.Timeout = 20*time.Second, 20*time.Second
	g, err := Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	buf := []float32{float32(l.Rank), 1}
	if err := g.AllReduceSum(buf); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("child %s: %v\n", l.Launcher, buf)
}

// TestRealLaunchers starts this test binary under each MPI launcher found
// on PATH (Debian's mpich and openmpi-bin) and checks that the processes
// find each other and sum: with Hydra through the PMI-1 store, with Open
// MPI through MASTER_ADDR.
func TestRealLaunchers(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("a child does not launch")
	}
	if testing.Short() {
		t.Skip("starts MPI launchers; run without -short")
	}
	const n = 3
	child := []string{os.Args[0], "-test.run=^TestLauncherChild$", "-test.v"}
	// Open MPI names no port: take one that was free a moment ago.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	for _, tc := range []struct {
		launcher, bin string
		args          []string
	}{
		{"mpich", "mpiexec.hydra", []string{"-n", fmt.Sprint(n)}},
		{"openmpi", "mpirun.openmpi", []string{"--oversubscribe", "-np", fmt.Sprint(n),
			"-x", "MASTER_ADDR=127.0.0.1", "-x", fmt.Sprintf("MASTER_PORT=%d", port), "-x", childEnv}},
	} {
		t.Run(tc.launcher, func(t *testing.T) {
			path, err := exec.LookPath(tc.bin)
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s is not installed: .ci/run installs mpich and openmpi-bin", tc.bin)
				}
				t.Skipf("%s is not installed", tc.bin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, path, append(tc.args, child...)...)
			cmd.Env = append(os.Environ(), childEnv+"=1", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
			out, err := cmd.CombinedOutput()
			want := fmt.Sprintf("child %s: [3 3]", tc.launcher)
			if err != nil || strings.Count(string(out), want) != n {
				t.Fatalf("%s: %v; want %d lines %q in:\n%s", tc.bin, err, n, want, out)
			}
		})
	}
}
