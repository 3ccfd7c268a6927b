package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/glmc/glmc/asm"
	"github.com/glmc/glmc/dist"
)

// gemmShapes are the SGEMM sizes of ../shared/bench/torch_bench.py, so the
// two outputs compare line by line.
var gemmShapes = [][3]int{
	{256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048},
	{64, 1024, 144}, {16, 16384, 432}, {64, 4096, 576}, {128, 8192, 1152},
}

// benchOptions are the settings a measurement may use.
type benchOptions struct {
	threads int        // goroutines for the kernels
	arch    string     // model of the infer measurement: resnet32 or one of ltArchs
	width   int        // nf of the resnet32s measured
	launch  dist.Flags // the ranks of the collective measurements
}

// benchKinds maps each --what value to its measurement; each prints one
// record per figure.
var benchKinds = map[string]func(o benchOptions, emit func(map[string]any)){
	"gemm":  benchGemm,
	"conv":  benchConv,
	"train": benchTrain,
	"infer": benchInfer,
}

// groupBenchKinds are the measurements of collectives, which every rank
// of a data-parallel launch runs and which can fail on the network.
var groupBenchKinds = map[string]func(o benchOptions, emit func(map[string]any)) error{
	"allreduce": benchAllReduce,
}

func runBench(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	what := fs.String("what", "gemm", "comma-separated measurements: "+strings.Join(benchNames(), ","))
	threads := fs.Int("threads", asm.Threads(), "goroutines for the kernels")
	width := fs.Int("width", 16, "width nf of the resnet32 of the conv, train and infer measurements")
	arch := fs.String("arch", "resnet32", "model of the infer measurement: resnet32 (10 classes, 32×32, batches of 256) or an ImageNet-LT one, "+
		strings.Join(ltArchs, " or ")+" (1000 classes, 224×224, batches of 8, as tools/bench/torch_lt.py)")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	var launch dist.Flags
	fs.IntVar(&launch.Rank, "rank", 0, "allreduce: rank of this process, with --world-size (default: the launcher's)")
	fs.IntVar(&launch.WorldSize, "world-size", 0, "allreduce: processes, each running glmc bench --what allreduce (default: the launcher's)")
	fs.StringVar(&launch.MasterAddr, "master-addr", "", "allreduce: host of rank 0 (default: the launcher's)")
	fs.IntVar(&launch.MasterPort, "master-port", 0, "allreduce: port of rank 0 (default: the launcher's, else 29500)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *threads < 1 {
		return usageError{fmt.Errorf("--threads %d: want at least 1", *threads)}
	}
	if *width < 2 || *width%2 != 0 {
		return usageError{fmt.Errorf("--width %d: want an even width ≥ 2 (resnet32's shortcuts pad width/2 channels)", *width)}
	}
	if *arch != "resnet32" {
		if err := checkLTBench(fs, *arch, *what); err != nil {
			return usageError{err}
		}
	}
	var kinds []func(benchOptions, func(map[string]any)) error
	for _, w := range strings.Split(*what, ",") {
		if f, ok := benchKinds[strings.TrimSpace(w)]; ok {
			kinds = append(kinds, func(o benchOptions, emit func(map[string]any)) error { f(o, emit); return nil })
		} else if f, ok := groupBenchKinds[strings.TrimSpace(w)]; ok {
			kinds = append(kinds, f)
		} else {
			return usageError{fmt.Errorf("--what %q: want a comma-separated list of %s", w, strings.Join(benchNames(), ", "))}
		}
	}
	defer asm.SetThreads(asm.SetThreads(*threads))
	emit := func(rec map[string]any) {
		rec["threads"] = *threads
		rec["kernel"] = asm.Kernel()
		if *asJSON {
			b, _ := json.Marshal(rec) // maps of numbers and strings always marshal
			fmt.Fprintln(stdout, string(b))
			return
		}
		fmt.Fprintln(stdout, formatRecord(rec))
	}
	for _, k := range kinds {
		if err := k(benchOptions{threads: *threads, arch: *arch, width: *width, launch: launch}, emit); err != nil {
			return err
		}
	}
	return nil
}

// checkLTBench reports why --arch arch cannot go with the other flags:
// the ImageNet-LT architectures have their fixed width and are timed by
// the infer measurement alone, as torch_lt.py times them.
func checkLTBench(fs *flag.FlagSet, arch, what string) error {
	if !slices.Contains(ltArchs, arch) {
		return fmt.Errorf("--arch %q: want resnet32 or one of %s", arch, strings.Join(ltArchs, ", "))
	}
	if strings.TrimSpace(what) != "infer" {
		return fmt.Errorf("--arch %s with --what %s: the ImageNet-LT architectures are timed by --what infer alone", arch, what)
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "width" {
			err = fmt.Errorf("--width with --arch %s: the width is resnet32's; the ImageNet-LT architectures have their official one", arch)
		}
	})
	return err
}

func benchNames() []string {
	var names []string
	for n := range benchKinds {
		names = append(names, n)
	}
	for n := range groupBenchKinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// formatRecord prints a record as "kind key=value ..." for people.
func formatRecord(rec map[string]any) string {
	keys := []string{"m", "n", "k", "model", "cin", "cout", "hw", "stride", "pass", "nf", "batch", "ranks", "floats", "threads", "kernel",
		"gflops", "img_per_s", "ms", "busbw_mb_s"}
	s := fmt.Sprint(rec["kind"])
	for _, k := range keys {
		if v, ok := rec[k]; ok {
			s += fmt.Sprintf(" %s=%v", k, v)
		}
	}
	return s
}

// benchBudget bounds how long one figure is measured.
var benchBudget = 2 * time.Second

// benchGemm times C = A·B for each shape after one warm-up call, repeating
// until 2·10⁹ flops (as the PyTorch script does) or benchBudget, and at
// least three times.
func benchGemm(_ benchOptions, emit func(map[string]any)) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range gemmShapes {
		m, n, k := s[0], s[1], s[2]
		a, b, c := randomSlice(r, m*k), randomSlice(r, k*n), make([]float32, m*n)
		call := func() { asm.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n) }
		call()
		flops := 2 * float64(m) * float64(n) * float64(k)
		reps, start := 0, time.Now()
		for reps < 3 || (float64(reps)*flops < 2e9 && time.Since(start) < benchBudget) {
			call()
			reps++
		}
		sec := time.Since(start).Seconds() / float64(reps)
		emit(map[string]any{"kind": "sgemm", "m": m, "n": n, "k": k, "gflops": sig4(flops / sec / 1e9)})
	}
}

func randomSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// sig4 rounds a figure to four significant digits: enough for any
// comparison on a shared machine, and never 0 for the tiny layers that
// quick runs and the race detector measure.
func sig4(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return r
}
