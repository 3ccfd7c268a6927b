package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/glmc/glmc/data"
	"github.com/glmc/glmc/dist"
	"github.com/glmc/glmc/glmc"
)

// availableMemory returns the bytes this process may still use and where
// the figure comes from: the cgroup's limit less its usage when that is
// lower (a container, a Slurm job), else the kernel's MemAvailable. ok is
// false where neither can be read (not Linux).
var availableMemory = func() (bytes int64, source string, ok bool) {
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "MemAvailable:" {
				if kib, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					bytes, source, ok = kib<<10, "MemAvailable", true
				}
			}
		}
	}
	limit, errL := readInt("/sys/fs/cgroup/memory.max")
	used, errU := readInt("/sys/fs/cgroup/memory.current")
	if errL == nil && errU == nil && (!ok || limit-used < bytes) {
		bytes, source, ok = max(limit-used, 0), "the cgroup's memory.max less memory.current", true
	}
	return bytes, source, ok
}

// readInt reads a file holding one integer ("max" is not one).
func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

// checkMemory estimates what each rank of the run needs, prints it
// unless quiet, and fails, before any training, when the ranks on this
// node need more than the memory available.
func checkMemory(cfg glmc.Config, train *data.Dataset, launch dist.Launch, quiet bool, stdout io.Writer) error {
	est, err := glmc.EstimateMemory(cfg, train, launch.WorldSize)
	if err != nil {
		return err
	}
	local := max(launch.LocalSize, 1)
	need := est.Total() * int64(local)
	avail, source, ok := availableMemory()
	if !quiet && launch.Rank == 0 {
		fmt.Fprintf(stdout, "glmc: memory per rank: %s", est)
		if ok {
			fmt.Fprintf(stdout, "; %d MiB available (%s)", avail>>20, source)
		}
		fmt.Fprintln(stdout)
	}
	if ok && need > avail {
		return fmt.Errorf("--batch-size %d needs about %d MiB on this node (%d rank(s), a step of %d images each), more than the %d MiB available (%s): lower --batch-size or train on more nodes",
			cfg.BatchSize, need>>20, local, est.Batch, avail>>20, source)
	}
	return nil
}
