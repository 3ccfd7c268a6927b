package asm

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

// impl is one complete set of kernels for an instruction set. Every field is
// filled.
type impl struct {
	name   string // value of GLMC_SIMD that selects it
	gemm   gemmKernel
	vec    vecOps
	conv   convKernels
	usable func() bool // whether this CPU and OS run it
}

// vecOps are the vector primitives of one implementation, with the
// contracts of the exported functions in vec.go.
type vecOps struct {
	axpy  func(alpha float32, x, y []float32)
	scale func(alpha float32, x []float32)
	dot   func(x, y []float32) float32
	sum   func(x []float32) float32
	add   func(dst, x, y []float32)
	mul   func(dst, x, y []float32)
	relu  func(dst, x []float32)
	// The batch-norm primitives: r, y and dst may be nil where the
	// exported functions allow it.
	sumSquaredDev func(x []float32, m float32) float32
	affine        func(dst, x, r []float32, a, b float32, relu bool)
	gradSums      func(dst, g, y, x []float32, m float32) (sg, sgx float32)
	combine       func(dst, x, y []float32, a, b, c float32)
}

// impls lists the implementations compiled into this binary, slowest first.
// Generic is always present; archImpls comes from the architecture files.
var impls = append([]*impl{&genericImpl}, archImpls...)

// active is the implementation in use. It is set once in init and changed
// only by tests (through use).
var active *impl

// threads is the number of goroutines Sgemm may use.
var threads atomic.Int64

func init() {
	threads.Store(int64(runtime.GOMAXPROCS(0)))
	choice, err := choose(os.Getenv("GLMC_SIMD"))
	if err != nil {
		panic(err)
	}
	use(choice)
}

// choose returns the fastest usable implementation, or the one named by
// want (the value of GLMC_SIMD) when it is usable here.
func choose(want string) (*impl, error) {
	var best *impl
	var names []string
	for _, im := range impls {
		if !im.usable() {
			continue
		}
		names = append(names, im.name)
		best = im
		if im.name == want {
			return im, nil
		}
	}
	if want == "" {
		return best, nil
	}
	return nil, fmt.Errorf("asm: GLMC_SIMD=%s: not available on this CPU or build (available: %s)", want, strings.Join(names, ", "))
}

// use makes im the active implementation and sizes the GEMM blocking for it.
func use(im *impl) {
	active = im
	blocks = blockSizesFor(im.gemm)
}

// Kernel names the implementation in use: "generic", "avx2", "avx512" or "neon".
func Kernel() string { return active.name }

// Available lists the implementations this CPU can run, slowest first.
func Available() []string {
	var names []string
	for _, im := range impls {
		if im.usable() {
			names = append(names, im.name)
		}
	}
	return names
}

// Features lists the CPU features that the kernel choice looks at, as seen
// by golang.org/x/sys/cpu.
func Features() []string {
	var f []string
	add := func(name string, ok bool) {
		if ok {
			f = append(f, name)
		}
	}
	switch runtime.GOARCH {
	case "amd64":
		add("sse4.1", cpu.X86.HasSSE41)
		add("avx", cpu.X86.HasAVX)
		add("avx2", cpu.X86.HasAVX2)
		add("fma", cpu.X86.HasFMA)
		add("avx512f", cpu.X86.HasAVX512F)
	case "arm64":
		add("asimd", cpu.ARM64.HasASIMD)
		add("fp", cpu.ARM64.HasFP)
	}
	return f
}

// SetThreads sets how many goroutines Sgemm may use (at least 1) and returns
// the previous value. The default is GOMAXPROCS at start.
func SetThreads(n int) int {
	if n < 1 {
		n = 1
	}
	return int(threads.Swap(int64(n)))
}

// Threads reports how many goroutines Sgemm may use.
func Threads() int { return int(threads.Load()) }

func always() bool { return true }
