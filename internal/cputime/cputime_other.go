//go:build !unix

package cputime

import "time"

// Used returns 0: this system does not report a process's processor time
// through getrusage.
func Used() time.Duration { return 0 }
