//go:build unix

package cputime

import (
	"testing"
	"time"
)

// TestUsedGrows checks that processor time is reported, and that busy
// work on this goroutine makes it grow (by 5 ms, within 10 s of wall time
// however busy the machine) without ever running backwards.
func TestUsedGrows(t *testing.T) {
	before := Used()
	if before <= 0 {
		t.Fatalf("Used() = %v before any work, want a positive time", before)
	}
	last, x := before, 0
	for start := time.Now(); last-before < 5*time.Millisecond; {
		for range 100000 {
			x++
		}
		now := Used()
		if now < last {
			t.Fatalf("Used() went back from %v to %v", last, now)
		}
		last = now
		if time.Since(start) > 10*time.Second {
			t.Fatalf("10 s of busy work (%d rounds) used %v of processor time, want 5 ms", x, last-before)
		}
	}
}
