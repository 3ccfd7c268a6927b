package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainMemoryCheck: glmc train prints its memory estimate at start
// and refuses, before it writes anything, a batch that does not fit in
// the memory available.
func TestTrainMemoryCheck(t *testing.T) {
	saved := availableMemory
	defer func() { availableMemory = saved }()
	availableMemory = func() (int64, string, bool) { return 64 << 20, "a test's limit", true }

	out := filepath.Join(t.TempDir(), "run")
	var stdout bytes.Buffer
	err := runTrain(withArgs(tinyTrain[1:], "--epochs", "1", "--batch-size", "2048", "--out", out), &stdout)
	if err == nil || !strings.Contains(err.Error(), "--batch-size 2048 needs about ") ||
		!strings.Contains(err.Error(), "more than the 64 MiB available (a test's limit)") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line saying the batch needs more than the 64 MiB available", err)
	}
	if !strings.HasPrefix(stdout.String(), "glmc: memory per rank: about ") {
		t.Errorf("output %q, want the estimate first", stdout.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the refused run left %s: %v", out, err)
	}
	stdout.Reset()
	if err := runTrain(withArgs(tinyTrain[1:], "--epochs", "1", "--out", out), &stdout); err != nil {
		t.Fatalf("a batch of 64 within 64 MiB: %v", err)
	}
}
