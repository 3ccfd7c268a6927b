package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/glmc/glmc/asm"
)

// version is the release's version, stamped by tools/release.sh through
// -ldflags "-X main.version=..." from git describe; empty in other builds,
// which print the module version Go recorded, "(devel)" for a checkout.
var version string

func runVersion(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	v := version
	if v == "" {
		v = "(devel)"
		if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
			v = info.Main.Version
		}
	}
	fmt.Fprintf(stdout, "glmc %s %s %s/%s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "kernel: %s (available: %s)\n", asm.Kernel(), strings.Join(asm.Available(), ", "))
	fmt.Fprintf(stdout, "cpu features: %s\n", strings.Join(asm.Features(), " "))
	fmt.Fprintf(stdout, "threads: %d\n", asm.Threads())
	return nil
}
