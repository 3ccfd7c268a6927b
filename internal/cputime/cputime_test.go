//go:build unix

package cputime

import (
	"testing"
	"time"
)

// TestUsedGrows spins for 50 ms of wall time and checks that the process's
// processor time grew by at least half of it and never ran backwards.
func TestUsedGrows(t *testing.T) {
	before := Used()
	if before <= 0 {
		t.Fatalf("Used() = %v before any work, want a positive time", before)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		x++
	}
	if d := Used() - before; d < 25*time.Millisecond {
		t.Errorf("50 ms of spinning (%d rounds) used %v of processor time, want at least 25 ms", x, d)
	}
}
