//go:build unix

package cputime

import (
	"syscall"
	"time"
)

// Used returns the user and system processor time this process has used,
// or 0 where the system does not report it.
func Used() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
