//go:build purego || !(amd64 || arm64)

package asm

// archImpls is empty: this build runs the generic kernels only.
var archImpls []*impl
