package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/glmc/glmc/glmc"
	"github.com/glmc/glmc/internal/runcheck"
)

// faultTimeout is --dist-timeout and --join-timeout of the fault tests:
// short, so the tests are quick, yet longer than rank 0's evaluation and
// checkpoint of the tiny net on a busy machine, which the other ranks wait
// for inside a collective.
const faultTimeout = 3 * time.Second

// faultArgs are the flags of every rank in the fault tests: two epochs of
// the tiny net, so that a fault in epoch 2 has epoch 1's checkpoint to
// lose.
var faultArgs = withArgs(tinyTrain, "--epochs", "2", "--quiet",
	"--dist-timeout", faultTimeout.String(), "--join-timeout", faultTimeout.String())

// faultRanks is the world size of the fault tests: three, so that a rank
// fails with neighbours on both sides and one rank is neighbour of neither
// (it hears of the failure only through the abort passed round the ring).
const faultRanks = 3

// TestTrainFaults runs three-rank trainings that fail in every way the
// issue lists and checks that every rank exits non-zero, in time, with a
// one-line error naming what failed; that rank 0's folder keeps its last
// checkpoint byte for byte; and that --resume then finishes the run
// exactly as an uninterrupted one. The cases run in order on one folder:
// a rank killed in epoch 2 leaves it at epoch 1's checkpoint, every later
// case resumes it and fails, and the last resume must end where an
// uninterrupted run ends.
func TestTrainFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a few epochs on three ranks in subprocesses")
	}
	nowhere := t.TempDir() // --out of the ranks but 0, which write nothing
	args := func(dir string) func(r int) []string {
		return func(r int) []string {
			if r == 0 {
				return withArgs(faultArgs, "--out", dir)
			}
			return withArgs(faultArgs, "--out", filepath.Join(nowhere, strconv.Itoa(r)))
		}
	}
	resume := func(dir string) func(r int) []string {
		return func(r int) []string { return append(args(dir)(r), "--resume") }
	}
	whole := filepath.Join(t.TempDir(), "whole")
	if outs, errs := runRanks(t, freePort(t), args(whole), faultRanks); !allNil(errs) {
		t.Fatalf("uninterrupted run: %v\n%s", errs, strings.Join(outs, "\n"))
	}

	// A rank killed or paused in epoch 2 makes the others fail at once or
	// at the collectives' deadline; the woken rank finds its links closed.
	run := faultInSecondEpoch(t, args, func(ranks []*rankProc) time.Time {
		ranks[1].cmd.Process.Kill()
		return time.Now()
	})
	paused := faultInSecondEpoch(t, args, func(ranks []*rankProc) time.Time {
		ranks[1].cmd.Process.Signal(syscall.SIGSTOP)
		stopped := time.Now()
		expectFailures(t, ranks, []int{0, 2}, "rank 1 at 127.0.0.1:", stopped.Add(faultTimeout))
		ranks[1].cmd.Process.Signal(syscall.SIGCONT)
		expectFailures(t, ranks, []int{1}, "", time.Now().Add(faultTimeout))
		return stopped
	})
	checkpoint, err := runcheck.Files(run)
	if err != nil {
		t.Fatal(err)
	}
	// unchanged checks that a failed rendezvous left the folder as the
	// kill did: the checkpoint of epoch 1, which still loads.
	unchanged := func(t *testing.T) {
		t.Helper()
		now, err := runcheck.Files(run)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.EqualFunc(now, checkpoint, bytes.Equal) {
			t.Errorf("the failed run changed %s: files %v, want %v", run, slices.Sorted(maps.Keys(now)), slices.Sorted(maps.Keys(checkpoint)))
		}
		if st, err := glmc.ReadState(filepath.Join(run, glmc.LastFile)); err != nil || st.Epoch != 1 {
			t.Errorf("last checkpoint: %+v, %v; want epoch 1", st, err)
		}
	}
	// The rendezvous cases: those that must fail at the join deadline run
	// with faultTimeout and may end startup later than that (the ranks load
	// the data and build the model first, slowly on a busy machine); those
	// that must fail at once get a join timeout far longer than that.
	const startup = 10 * time.Second
	patient := func(args func(r int) []string) func(r int) []string {
		return func(r int) []string { return append(args(r), "--join-timeout", "30s") }
	}
	t.Run("rank never starts", func(t *testing.T) {
		start := time.Now()
		ranks := startRanks(t, freePort(t), resume(run), faultRanks, []int{2})
		expectFailures(t, ranks, []int{0, 1}, "rank(s) 2 of 3 did not join within "+faultTimeout.String(), start.Add(startup+faultTimeout))
		unchanged(t)
	})
	t.Run("rank 0 never starts", func(t *testing.T) {
		start := time.Now()
		ranks := startRanks(t, freePort(t), resume(run), faultRanks, []int{0})
		// The ranks but 0 wait a second longer than rank 0 would, for its
		// report of what went wrong.
		expectFailures(t, ranks, []int{1, 2}, "rank 0 at 127.0.0.1:", start.Add(startup+faultTimeout+time.Second))
		unchanged(t)
	})
	t.Run("rank 0 fails before the rendezvous", func(t *testing.T) {
		start := time.Now()
		empty := filepath.Join(t.TempDir(), "empty")
		ranks := startRanks(t, freePort(t), patient(resume(empty)), faultRanks, nil)
		expectFailures(t, ranks, []int{0, 1, 2}, "--resume: no checkpoint", start.Add(startup))
	})
	// Rank rank given extra flags fails the rendezvous: the ranks told fail
	// at once with every one of want. In a mismatch the third rank is told
	// too if it joined first, else it fails to reach rank 0 until its join
	// deadline (late): those cases keep the short one.
	for _, c := range []struct {
		name    string
		rank    int
		extra   []string
		patient bool
		told    []int
		want    []string
		late    []int
	}{
		{"duplicate rank", 2, []string{"--rank", "1"}, true, []int{0, 1, 2}, []string{"rank 1 joined twice, at 127.0.0.1:"}, nil},
		{"world size mismatch", 2, []string{"--world-size", "4"}, false, []int{0, 2},
			[]string{"rank 2 at 127.0.0.1:", "has world size 4, rank 0 at 127.0.0.1:"}, []int{1}},
		{"model mismatch", 1, []string{"--width", "8"}, false, []int{0, 1},
			[]string{"rank 1 at 127.0.0.1:", ": model or flags differ"}, []int{2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := func(r int) []string {
				if r == c.rank {
					return append(resume(run)(r), c.extra...)
				}
				return resume(run)(r)
			}
			if c.patient {
				args = patient(args)
			}
			start := time.Now()
			ranks := startRanks(t, freePort(t), args, faultRanks, nil)
			for _, want := range c.want {
				expectFailures(t, ranks, c.told, want, start.Add(startup))
			}
			expectFailures(t, ranks, c.late, "", start.Add(startup+faultTimeout+time.Second))
			unchanged(t)
		})
	}

	for _, dir := range []string{run, paused} {
		if outs, errs := runRanks(t, freePort(t), resume(dir), faultRanks); !allNil(errs) {
			t.Fatalf("resumed run: %v\n%s", errs, strings.Join(outs, "\n"))
		}
		// The summary and last.json record the launcher and world size:
		// the same here, so the folders must match in every byte.
		runcheck.ExpectSame(t, whole, dir)
	}
}

// faultInSecondEpoch starts three ranks writing to a new folder, lets
// fault harm rank 1 in epoch 2 and checks that ranks 0 and 2 fail within
// faultTimeout of the time fault returns, with an error naming rank 1, its
// address and the step, and that they say rank 0's folder keeps epoch 1;
// it returns the folder. The fault comes a delay after epoch 1's
// checkpoint appears; one that came too late (the run finished) is
// retried in a fresh folder with half the delay.
func faultInSecondEpoch(t *testing.T, args func(dir string) func(r int) []string, fault func([]*rankProc) time.Time) string {
	t.Helper()
	// An epoch of the tiny net takes well under a second on an idle
	// machine: the fault comes soon after the checkpoint, sooner on a retry.
	delay := 100 * time.Millisecond
	for try := 1; try <= 3; try, delay = try+1, delay/2 {
		dir := filepath.Join(t.TempDir(), "run")
		ranks := startRanks(t, freePort(t), args(dir), faultRanks, nil)
		for {
			if _, err := os.Stat(filepath.Join(dir, glmc.LastStateFile)); err == nil {
				break
			}
			select {
			case <-ranks[0].done:
				out, err := ranks[0].wait()
				t.Fatalf("rank 0 ended before its first checkpoint: %v\n%s", err, out)
			case <-time.After(5 * time.Millisecond):
			}
		}
		time.Sleep(delay)
		at := fault(ranks)
		<-ranks[0].done
		if ranks[0].err == nil {
			t.Logf("try %d: the fault %v after epoch 1's checkpoint came after the run's end", try, delay)
			continue
		}
		deadline := at.Add(faultTimeout)
		expectFailures(t, ranks, []int{0, 2}, "glmc: epoch 2, step ", deadline)
		expectFailures(t, ranks, []int{0, 2}, "rank 1 at 127.0.0.1:", deadline)
		expectFailures(t, ranks, []int{0}, dir+" keeps epoch 1; continue with --resume", deadline)
		expectFailures(t, ranks, []int{2}, "rank 0's run folder keeps epoch 1; continue with --resume", deadline)
		return dir
	}
	t.Fatal("no fault landed inside epoch 2")
	return ""
}

// expectFailures waits for the listed ranks and checks that each exited
// non-zero no later than 2 s after deadline, with a last line of output
// (the error) holding want.
func expectFailures(t *testing.T, ranks []*rankProc, which []int, want string, deadline time.Time) {
	t.Helper()
	for _, r := range which {
		out, err := ranks[r].wait()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		last := lines[len(lines)-1]
		switch {
		case err == nil:
			t.Errorf("rank %d exited 0:\n%s", r, out)
		case ranks[r].end.After(deadline.Add(2 * time.Second)):
			t.Errorf("rank %d exited %v after the deadline, more than 2s: %s", r, ranks[r].end.Sub(deadline), last)
		case !strings.HasPrefix(last, "glmc: ") || !strings.Contains(last, want):
			t.Errorf("rank %d's last line %q is not glmc's error holding %q; output:\n%s", r, last, want, out)
		default:
			t.Logf("rank %d, %v after the deadline: %s", r, ranks[r].end.Sub(deadline).Round(time.Millisecond), last)
		}
	}
}

// allNil reports whether every error is nil.
func allNil(errs []error) bool {
	for _, err := range errs {
		if err != nil {
			return false
		}
	}
	return true
}
