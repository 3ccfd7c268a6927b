//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"runtime"
	"syscall"
)

// peakRSS returns the largest resident set size this process has had, in
// bytes, as getrusage reports it, and whether the system reports it.
func peakRSS() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	if runtime.GOOS == "darwin" { // bytes there, KiB elsewhere
		return int64(ru.Maxrss), true
	}
	return int64(ru.Maxrss) << 10, true
}
