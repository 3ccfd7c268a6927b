package tensor

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// sysAlloc returns n zeroed float32s committed from the operating
// system, outside the Go heap, or nil when the system refuses.
func sysAlloc(n int) []float32 {
	p, err := windows.VirtualAlloc(0, uintptr(4*n), windows.MEM_COMMIT|windows.MEM_RESERVE, windows.PAGE_READWRITE)
	if err != nil || p == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(p)), n)
}

// sysFree releases storage from sysAlloc.
func sysFree(d []float32) {
	if err := windows.VirtualFree(uintptr(unsafe.Pointer(&d[0])), 0, windows.MEM_RELEASE); err != nil {
		panic("tensor: releasing arena storage: " + err.Error())
	}
}
