package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/internal/golden"
	"github.com/glmc/glmc/internal/runcheck"
	"github.com/glmc/glmc/nn"
)

// TestTrainTwoRanks starts two `glmc train` processes with --rank and
// --world-size that meet on loopback: rank 0's folder must hold the
// one-process run's weights and losses within the parity tolerance and
// record the world size, and rank 1 must write nothing; each rank first
// prints the launch it found. The epoch has two steps of 640: this tiny
// net at lr 0.05 amplifies rounding differences so fast that after five
// steps a one-ulp change of one weight of a single process is near the
// tolerance, so only a few steps can be compared. Then the same two ranks
// run under each launcher installed (trainUnderLauncher).
func TestTrainTwoRanks(t *testing.T) {
	if testing.Short() {
		t.Skip("trains an epoch in three subprocesses")
	}
	args := withArgs(tinyTrain, "--epochs", "1", "--quiet", "--batch-size", "640")
	want := filepath.Join(t.TempDir(), "one")
	if out, err := glmcCommand(t, nil, withArgs(args, "--out", want)...).CombinedOutput(); err != nil {
		t.Fatalf("one process: %v\n%s", err, out)
	}
	port := freePort(t)
	dirs := []string{filepath.Join(t.TempDir(), "rank0"), filepath.Join(t.TempDir(), "rank1")}
	outs, errs := runRanks(t, port, func(r int) []string { return withArgs(args, "--out", dirs[r]) }, 2)
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v\n%s", r, err, outs[r])
		}
		want := "glmc: flags: rank " + strconv.Itoa(r) + " of 2, local ? of ?, node ?, rendezvous 127.0.0.1:" + port + "\n"
		if !strings.HasPrefix(outs[r], want) {
			t.Errorf("rank %d printed %q, want a first line %q", r, outs[r], want)
		}
	}
	if _, err := os.Stat(dirs[1]); !os.IsNotExist(err) {
		t.Errorf("rank 1 wrote %s", dirs[1])
	}
	got := runFloats(t, dirs[0])
	for name, v := range runFloats(t, want) {
		golden.Compare(t, name, got[name], v)
	}
	expectCluster(t, dirs[0], glmc.Cluster{WorldSize: 2, Launcher: "flags"})
	var slurmEnv []string // startSlurm's, once a Slurm case has started the cluster
	for _, l := range []struct {
		name, bin string
		args      []string
		inCI      bool // .ci/run installs it
		// script, when set, is a deploy/ job script that bin runs with
		// glmc's train flags, finding glmc in $GLMC and the run folder in
		// $GLMC_OUT.
		script string
	}{
		{name: "mpich", bin: "mpiexec.hydra", args: []string{"-n", "2"}, inCI: true},
		{name: "openmpi", bin: "mpirun.openmpi", args: []string{"--oversubscribe", "-np", "2", "-x", "MASTER_ADDR=127.0.0.1",
			"-x", "MASTER_PORT=" + port, "-x", mainEnv, "-x", "GOMAXPROCS"}, inCI: true},
		// Debian's torch 1.13 under Python 3.11 needs --redirects, --tee
		// and --log_dir; the agent takes the port, glmc the next.
		{name: "torchrun", bin: "torchrun", args: []string{"--no_python", "--nproc_per_node=2", "--redirects", "1", "--tee", "1",
			"--log_dir", t.TempDir(), "--master_port", port}},
		// Slurm: the two nodes of a one-host cluster, with srun and with
		// the sbatch script of deploy/ (which waits for the job).
		{name: "slurm", bin: "srun", args: []string{"-N2", "-n2"}, inCI: true},
		{name: "slurm", bin: "sbatch", args: []string{"--wait", "--quiet"}, inCI: true, script: "../../deploy/slurm/glmc.sbatch"},
	} {
		t.Run(l.bin, func(st *testing.T) {
			env := []string(nil)
			if l.name == "slurm" {
				if slurmEnv == nil {
					slurmEnv = startSlurm(st, t)
				}
				env = slurmEnv
			}
			trainUnderLauncher(st, l.name, l.bin, l.inCI, l.script, l.args, env, args, dirs[0])
		})
	}
}

// freePort is a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// runRanks runs glmc as ranks 0..p−1 with --world-size p, meeting at
// 127.0.0.1:port, rank r with args(r), and returns each one's output and
// error.
func runRanks(t *testing.T, port string, args func(r int) []string, p int) ([]string, []error) {
	t.Helper()
	ranks := startRanks(t, port, args, p, nil)
	texts, errs := make([]string, p), make([]error, p)
	for r, rk := range ranks {
		texts[r], errs[r] = rk.wait()
	}
	return texts, errs
}

// rankProc is one glmc rank started by startRanks.
type rankProc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{} // closed when the process has exited
	err  error         // the exit, once done is closed
	end  time.Time     // when the exit was seen
}

// wait waits for the rank to exit and returns its output and error.
func (rk *rankProc) wait() (string, error) {
	<-rk.done
	return rk.out.String(), rk.err
}

// startRanks starts glmc as the ranks 0..p−1 not listed in skip, with
// --world-size p, meeting at 127.0.0.1:port, rank r with args(r) (which
// may set its own --rank and --world-size: the later flag wins). Ranks
// still running two minutes later are killed, so that no test hangs: a
// rank that fails before the rendezvous leaves the others dialling until
// the join deadline.
func startRanks(t *testing.T, port string, args func(r int) []string, p int, skip []int) []*rankProc {
	t.Helper()
	ranks := make([]*rankProc, p)
	for r := range ranks {
		if slices.Contains(skip, r) {
			continue
		}
		cmd := glmcCommand(t, []string{"GOMAXPROCS=1"}, slices.Concat([]string{args(r)[0],
			"--rank", strconv.Itoa(r), "--world-size", strconv.Itoa(p), "--master-addr", "127.0.0.1", "--master-port", port}, args(r)[1:])...)
		rk := &rankProc{cmd: cmd, out: new(bytes.Buffer), done: make(chan struct{})}
		cmd.Stdout, cmd.Stderr = rk.out, rk.out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		kill := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
		go func() {
			rk.err = cmd.Wait()
			rk.end = time.Now()
			kill.Stop()
			close(rk.done)
		}()
		ranks[r] = rk
	}
	t.Cleanup(func() {
		for _, rk := range ranks {
			if rk != nil {
				rk.cmd.Process.Kill()
				<-rk.done
			}
		}
	})
	return ranks
}

// TestTrainResumeOnMoreRanks resumes a finished one-process run on three
// ranks: rank 0 reads the folder, the others have none and take their
// flags as given, so they must be the run's; the summary then records the
// three ranks. On two ranks, rank 1 given another --lr makes both fail to
// meet (with three, the rank left out could keep waiting for the join
// deadline).
func TestTrainResumeOnMoreRanks(t *testing.T) {
	run := copyRun(t)
	nowhere := filepath.Join(t.TempDir(), "nowhere")
	for _, c := range []struct {
		name  string
		ranks int
		lr    string // the last rank's --lr
		ok    bool
	}{{"same flags", 3, "0.05", true}, {"another lr", 2, "0.1", false}} {
		t.Run(c.name, func(t *testing.T) {
			outs, errs := runRanks(t, freePort(t), func(r int) []string {
				if r == 0 {
					return []string{"train", "--quiet", "--out", run, "--resume"}
				}
				args := withArgs(tinyTrain, "--epochs", "1", "--quiet", "--out", nowhere, "--resume")
				if r == c.ranks-1 {
					args = append(args, "--lr", c.lr)
				}
				return args
			}, c.ranks)
			for r, err := range errs {
				if (err == nil) != c.ok || !c.ok && !strings.Contains(outs[r], "fingerprint") {
					t.Errorf("rank %d: error %v, output:\n%s", r, err, outs[r])
				}
			}
		})
	}
	// No epoch ran, so only the summary is new.
	expectCluster(t, run, glmc.Cluster{WorldSize: 3, Launcher: "flags"}, glmc.SummaryFile)
	if _, err := os.Stat(nowhere); !os.IsNotExist(err) {
		t.Errorf("a rank other than 0 wrote %s", nowhere)
	}
}

// trainUnderLauncher runs glmc with args (and --out) under launcher bin
// (MPICH's Hydra, which passes rank 0's address through PMI, Open MPI's
// mpirun with MASTER_ADDR, torchrun, Slurm's srun), or has bin run the job
// script that starts glmc (sbatch), with env added to the environment;
// it skips when bin is not installed (in CI only if inCI is false). The
// run folder must be flagRun's to the bit (the same world size adds in the
// same order) but for the launcher in last.json and summary.json.
func trainUnderLauncher(t *testing.T, name, bin string, inCI bool, script string, launcherArgs, env, args []string, flagRun string) {
	path, err := exec.LookPath(bin)
	if err != nil {
		if inCI && os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed: .ci/run installs mpich, openmpi-bin and slurm-wlm", bin)
		}
		t.Skipf("%s is not installed", bin)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), name)
	cmd := exec.Command(path, append(append(launcherArgs, exe), withArgs(args, "--out", dir)...)...)
	if script != "" {
		if script, err = filepath.Abs(script); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(path, append(append(launcherArgs, script), args[1:]...)...) // the script says train
		env = append(env, "GLMC="+exe, "GLMC_OUT="+dir)
	}
	cmd.Dir = t.TempDir() // where sbatch writes the job's output
	cmd.Env = append(append(os.Environ(), mainEnv+"=1", "GOMAXPROCS=1", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		logs, _ := filepath.Glob(filepath.Join(cmd.Dir, "*.out"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			out = append(out, b...)
		}
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	diffs, err := runcheck.Diff(flagRun, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		if d != glmc.LastStateFile+" differs" && d != glmc.SummaryFile+" differs" {
			t.Error(d)
		}
	}
	expectCluster(t, dir, glmc.Cluster{WorldSize: 2, Launcher: name})
}

// expectCluster checks the world size and launcher that dir's files
// record: LastStateFile and SummaryFile unless named.
func expectCluster(t *testing.T, dir string, want glmc.Cluster, files ...string) {
	t.Helper()
	if files == nil {
		files = []string{glmc.LastStateFile, glmc.SummaryFile}
	}
	for _, name := range files {
		var got glmc.Cluster
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			err = json.Unmarshal(b, &got)
		}
		if err != nil || got != want {
			t.Errorf("%s: %+v, error %v; want %+v", name, got, err, want)
		}
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
