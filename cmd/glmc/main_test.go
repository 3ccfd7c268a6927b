package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/glmc/glmc/asm"
)

func runCapture(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommandLineErrors(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		inStderr string
	}{
		{nil, 2, "usage: glmc"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"version", "--bogus"}, 2, "glmc version: flag provided but not defined: -bogus"},
		{[]string{"version", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"bench", "--what", "gemm,nope"}, 2, `--what "nope"`},
		{[]string{"bench", "--threads", "0"}, 2, "--threads 0: want at least 1"},
	} {
		code, stdout, stderr := runCapture(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.inStderr) {
			t.Errorf("glmc %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.inStderr)
		}
		if stdout != "" {
			t.Errorf("glmc %v: printed %q on stdout", tc.args, stdout)
		}
		if strings.Count(strings.TrimSpace(stderr), "\n") > 0 && tc.args != nil {
			t.Errorf("glmc %v: error is more than one line: %q", tc.args, stderr)
		}
	}
}

func TestVersionNamesKernel(t *testing.T) {
	code, stdout, _ := runCapture("version")
	if code != 0 || !strings.Contains(stdout, "kernel: "+asm.Kernel()) || !strings.Contains(stdout, "cpu features:") {
		t.Fatalf("glmc version: exit %d, output %q", code, stdout)
	}
}

func TestBenchGemmJSON(t *testing.T) {
	defer func(s [][3]int, d time.Duration) { gemmShapes, benchBudget = s, d }(gemmShapes, benchBudget)
	gemmShapes, benchBudget = [][3]int{{64, 64, 64}, {33, 70, 50}}, 10*time.Millisecond
	code, stdout, stderr := runCapture("bench", "--what", "gemm", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != len(gemmShapes) {
		t.Fatalf("%d lines, want %d: %q", len(lines), len(gemmShapes), stdout)
	}
	for i, line := range lines {
		var rec struct {
			Kind    string   `json:"kind"`
			M       int      `json:"m"`
			N       int      `json:"n"`
			K       int      `json:"k"`
			Threads int      `json:"threads"`
			GFlops  *float64 `json:"gflops"`
			Kernel  string   `json:"kernel"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		want := gemmShapes[i]
		if rec.Kind != "sgemm" || [3]int{rec.M, rec.N, rec.K} != want || rec.Threads != 1 || rec.GFlops == nil || *rec.GFlops <= 0 || rec.Kernel != asm.Kernel() {
			t.Errorf("line %d: %q", i, line)
		}
	}
}
