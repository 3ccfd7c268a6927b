#!/usr/bin/env bash
# Runs package asm's tests as arm64 binaries under qemu user emulation, so
# the NEON kernels are tested on amd64 hosts: every test, with NEON active
# (the default there), then the vector and GEMM tests again with the generic
# kernels forced and with the purego build, which are the other two paths an
# arm64 build can take; then nn's PyTorch parity tests (TestGolden*) with
# NEON, so that layers and whole models match PyTorch on arm64 too. Before
# that it runs vet for arm64, which checks the .s argument frames against
# the Go declarations. (tools/test.sh already cross-builds every release
# target.)
#
# Installs qemu-user-static (Debian/Ubuntu) if qemu-aarch64-static is
# missing. -short keeps the whole script to about a minute under emulation.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-aarch64-static >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends qemu-user-static
fi

export GOARCH=arm64 CGO_ENABLED=0
run="go test -count=1 -short -exec qemu-aarch64-static"

echo "== arm64: vet"
go vet ./asm/...
go vet -tags purego ./asm/...

echo "== arm64: asm tests under qemu (kernel: neon)"
$run ./asm/...

echo "== arm64: asm tests under qemu (GLMC_SIMD=generic)"
GLMC_SIMD=generic $run ./asm/...

echo "== arm64: asm tests under qemu (-tags purego)"
$run -tags purego ./asm/...

echo "== arm64: nn parity tests with PyTorch under qemu (kernel: neon)"
$run -run '^TestGolden' ./nn

# Go fuses a multiply and an add on arm64 where amd64 does not; the image
# operations must still give PIL's bytes (data/vision_ops.go rounds each
# product explicitly where C does).
echo "== arm64: image decoding and transforms against PIL under qemu"
$run -run 'TestVision|TestDecode|TestRandomResized' ./data
