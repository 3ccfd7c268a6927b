package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// TestBenchAllReduceJSON runs the allreduce measurement on two ranks:
// rank 0 prints one record whose bus bandwidth is 2(P−1)/P of the
// buffer's bytes per all-reduce time, rank 1 prints nothing, and one
// process alone is told to start more.
func TestBenchAllReduceJSON(t *testing.T) {
	ranks := startRanks(t, freePort(t), func(int) []string {
		return []string{"bench", "--what", "allreduce", "--width", "2", "--threads", "1", "--json"}
	}, 2, nil)
	var outs [2]string
	for r, rk := range ranks {
		out, err := rk.wait()
		if err != nil {
			t.Fatalf("rank %d: %v\n%s", r, err, out)
		}
		outs[r] = out
	}
	var rec struct {
		Kind      string  `json:"kind"`
		Ranks     int     `json:"ranks"`
		NF        int     `json:"nf"`
		Floats    int     `json:"floats"`
		MS        float64 `json:"ms"`
		BusBWMBps float64 `json:"busbw_mb_s"`
	}
	if err := json.Unmarshal([]byte(outs[0]), &rec); err != nil || strings.Count(outs[0], "\n") != 1 {
		t.Fatalf("rank 0 printed %q (%v), want one JSON record", outs[0], err)
	}
	busbw := 2 * 0.5 * float64(4*rec.Floats) / (rec.MS / 1e3) / 1e6
	if rec.Kind != "allreduce" || rec.Ranks != 2 || rec.NF != 2 || rec.Floats < 1000 || rec.MS <= 0 ||
		math.Abs(busbw-rec.BusBWMBps) > 0.02*busbw { // ms is rounded to the µs
		t.Errorf("rank 0's record %+v; bus bandwidth from its floats and ms %.1f MB/s", rec, busbw)
	}
	if outs[1] != "" {
		t.Errorf("rank 1 printed %q", outs[1])
	}
	if code, _, stderr := runCapture("bench", "--what", "allreduce"); code != 2 || !strings.Contains(stderr, "want at least two ranks") {
		t.Errorf("one process: exit %d, stderr %q", code, stderr)
	}
}
