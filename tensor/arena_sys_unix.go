//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package tensor

import (
	"syscall"
	"unsafe"
)

// sysAlloc returns n zeroed float32s mapped from the operating system,
// outside the Go heap, or nil when the system refuses.
func sysAlloc(n int) []float32 {
	b, err := syscall.Mmap(-1, 0, 4*n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

// sysFree unmaps storage from sysAlloc.
func sysFree(d []float32) {
	if err := syscall.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), 4*len(d))); err != nil {
		panic("tensor: unmapping arena storage: " + err.Error())
	}
}
