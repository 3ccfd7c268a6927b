// Command glmc trains and evaluates long-tailed image classifiers with GLMC
// (Global and Local Mixture Consistency cumulative learning) on CPUs.
//
// Usage:
//
//	glmc version
//	glmc train [--dataset D --data-dir DIR --imbalance-factor IF ...] --out RUNDIR [--resume]
//	glmc eval  --checkpoint FILE [--dataset D --data-dir DIR] [--json]
//	glmc plot  RUNDIR [RUNDIR...] [--out DIR] [--format png|svg] [--size 1200x900]
//	glmc bench [--what gemm,train,infer] [--width 16] [--threads N] [--json]
//	glmc data  download|stats --dataset D --data-dir DIR [--json]
//
// Every failure ends with one line on standard error naming what was wrong,
// and exit status 1 (2 for a usage error).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one sub-command of glmc.
type command struct {
	summary string
	run     func(args []string, stdout io.Writer) error
}

var commands = map[string]command{
	"version": {"print the build, the SIMD kernel in use and the CPU features seen", runVersion},
	"bench":   {"measure kernels and model steps as JSON lines comparable with the PyTorch reference", runBench},
	"data":    {"download a dataset, or print the long-tailed split that train would use", runData},
	"train":   {"train a long-tailed classifier with GLMC (or the cross-entropy baseline), resumable", runTrain},
	"eval":    {"evaluate a checkpoint (glmc safetensors or official .pth.tar) on a test split", runEval},
	"plot":    {"draw a run's curves, per-class accuracy and confusion matrix (PNG or SVG); overlay runs", runPlot},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "glmc: unknown command %q (want one of: %s)\n", args[0], commandNames())
		return 2
	}
	if err := cmd.run(args[1:], stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var h helpError
			if errors.As(err, &h) {
				fmt.Fprint(stderr, h.usage)
			}
			return 0
		}
		// Usage errors name the command; other errors already carry the
		// context of the package that failed (e.g. "data: ...").
		if errors.As(err, new(usageError)) {
			fmt.Fprintf(stderr, "glmc %s: %s\n", args[0], strings.TrimPrefix(err.Error(), "glmc: "))
			return 2
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "glmc: ") { // package glmc's errors carry it already
			msg = "glmc: " + msg
		}
		fmt.Fprintln(stderr, msg)
		return 1
	}
	return 0
}

// usageError marks errors in the command line itself (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// helpError carries the flag list that -h asked for; run prints it.
type helpError struct{ usage string }

func (helpError) Error() string { return flag.ErrHelp.Error() }
func (helpError) Unwrap() error { return flag.ErrHelp }

// parseFlags parses args with fs, which must use flag.ContinueOnError,
// and rejects positional arguments that no command takes.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard) // errors are reported once, by run
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var b strings.Builder
			fmt.Fprintf(&b, "usage: glmc %s [flags]\n", fs.Name())
			fs.SetOutput(&b)
			fs.PrintDefaults()
			return helpError{b.String()}
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func commandNames() string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: glmc <command> [flags]")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "Run 'glmc <command> -h' for the flags of a command.")
}
