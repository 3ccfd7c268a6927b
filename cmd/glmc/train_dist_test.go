package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/nn"
)

// TestTrainTwoRanks starts two `glmc train` processes with --rank and
// --world-size that meet on loopback: rank 0's folder must hold the
// one-process run's weights and losses within the parity tolerance and
// record the world size, and rank 1 must write nothing; each rank first
// prints the launch it found. The epoch has two
// steps of 640: this tiny net at lr 0.05 amplifies rounding differences so
// fast that after five steps a one-ulp change of one weight of a single
// process is near the tolerance, so only a few steps can be compared.
func TestTrainTwoRanks(t *testing.T) {
	if testing.Short() {
		t.Skip("trains an epoch in three subprocesses")
	}
	args := withArgs(tinyTrain, "--epochs", "1", "--quiet", "--batch-size", "640")
	want := filepath.Join(t.TempDir(), "one")
	if out, err := glmcCommand(t, nil, withArgs(args, "--out", want)...).CombinedOutput(); err != nil {
		t.Fatalf("one process: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	dirs := []string{filepath.Join(t.TempDir(), "rank0"), filepath.Join(t.TempDir(), "rank1")}
	cmds := make([]*exec.Cmd, 2)
	outs := make([]bytes.Buffer, 2)
	for r := range cmds {
		cmds[r] = glmcCommand(t, []string{"GOMAXPROCS=1"}, withArgs(args, "--out", dirs[r],
			"--rank", strconv.Itoa(r), "--world-size", "2", "--master-addr", "127.0.0.1", "--master-port", port)...)
		cmds[r].Stdout, cmds[r].Stderr = &outs[r], &outs[r]
		if err := cmds[r].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for r, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("rank %d: %v\n%s", r, err, outs[r].String())
		}
		want := "glmc: flags: rank " + strconv.Itoa(r) + " of 2, local ? of ?, node ?, rendezvous 127.0.0.1:" + port + "\n"
		if !strings.HasPrefix(outs[r].String(), want) {
			t.Errorf("rank %d printed %q, want a first line %q", r, outs[r].String(), want)
		}
	}
	if _, err := os.Stat(dirs[1]); !os.IsNotExist(err) {
		t.Errorf("rank 1 wrote %s", dirs[1])
	}
	got := runFloats(t, dirs[0])
	for name, v := range runFloats(t, want) {
		golden.Compare(t, name, got[name], v)
	}
	var last glmc.Cluster
	b, err := os.ReadFile(filepath.Join(dirs[0], glmc.LastStateFile))
	if err == nil {
		err = json.Unmarshal(b, &last)
	}
	if err != nil || last != (glmc.Cluster{WorldSize: 2, Launcher: "flags"}) {
		t.Errorf("last.json: %+v, error %v; want world size 2, launcher flags", last, err)
	}
}

// runFloats returns the float tensors of a run folder's LastFile by name,
// and its first epoch's loss as "loss".
func runFloats(t *testing.T, dir string) map[string][]float32 {
	t.Helper()
	st, err := nn.LoadStateFile(filepath.Join(dir, glmc.LastFile))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for name, tt := range st.Tensors {
		if tt.Float != nil {
			out[name] = tt.Float
		}
	}
	var rec glmc.EpochRecord
	b, err := os.ReadFile(filepath.Join(dir, glmc.MetricsFile))
	if err == nil {
		err = json.Unmarshal(b, &rec)
	}
	if err != nil {
		t.Fatal(err)
	}
	out["loss"] = []float32{float32(rec.Loss)}
	return out
}
