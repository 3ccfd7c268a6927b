//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

// peakRSS reports nothing where getrusage is missing.
func peakRSS() (int64, bool) { return 0, false }
