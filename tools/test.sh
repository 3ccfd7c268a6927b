#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, vet, unit tests on every
# SIMD path, purego, race, arm64 under qemu, cross-builds, and a check that
# the generated assembly matches its generator.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "generated assembly is up to date"
(cd asm && go generate)
git diff --exit-code -- asm/ || { echo "asm: regenerated assembly differs from the committed files (run go generate in asm/)"; exit 1; }

step "cross-builds without cgo"
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
	CGO_ENABLED=0 GOOS=${target%/*} GOARCH=${target#*/} go build -o /dev/null ./...
done
CGO_ENABLED=0 go build -tags purego -o /dev/null ./...

step "release archive for this host"
# tools/release.sh must stamp git's version into what glmc version prints,
# and SHA256SUMS must hold the archive's sum.
release=$(mktemp -d)
want=$(git describe --tags --always --dirty)
OUT=$release bash tools/release.sh --host
name=glmc-$want-$(go env GOOS)-$(go env GOARCH)
(cd "$release" && sha256sum --check --strict SHA256SUMS) || { echo "release: SHA256SUMS does not match $name.tar.gz"; exit 1; }
tar -xzf "$release/$name.tar.gz" -C "$release"
# The first line, cut in bash: `| head -n 1` would close the pipe early,
# and glmc's SIGPIPE on the next line would fail the step (pipefail).
got=$("$release/$name/glmc" version)
got=${got%%$'\n'*}
if [[ "$got" != "glmc $want "* ]]; then
	echo "release: $name/glmc version says \"$got\", want glmc $want ..."; exit 1
fi
rm -rf "$release"

step "tests (best SIMD path)"
go test -count=1 -timeout 30m ./...

# The PyTorch parity tests of nn, optim and glmc (all named TestGolden*)
# run on every kernel path: a kernel bug shows as a difference from
# PyTorch, not only from the generic kernel.
golden=(-run '^TestGolden' ./nn ./optim ./glmc)

step "tests with every SIMD path forced"
# A failing or changed `glmc version` must fail here, not leave the loop
# empty: the assignment stops the script (set -e) if the command fails,
# and generic, compiled on every platform, must be listed.
version=$(go run ./cmd/glmc version)
simds=$(sed -n 's/^kernel: .*(available: \(.*\))$/\1/p' <<<"$version" | tr -d ',')
if [[ " $simds " != *" generic "* ]]; then
	printf 'glmc version lists no generic kernel (available: "%s"); its output was:\n%s\n' "$simds" "$version"
	exit 1
fi
for simd in $simds; do
	echo "-- GLMC_SIMD=$simd"
	GLMC_SIMD=$simd go test -count=1 -short ./asm ./tensor ./autograd/...
	GLMC_SIMD=$simd go test -count=1 -short "${golden[@]}"
done

step "parity tests with each convolution algorithm forced"
# nn's parity tests force each one themselves; the step and model tests of
# optim and glmc see Winograd only where the per-shape plan picks it.
# TestGoldenResNet32SGD is left out of the F(4×4, 3×3) run: after its SGD
# steps on one batch of the width-4 model, the final batch-norm biases
# (sums over every pixel of gradients that mostly cancel) move by 3-4 times
# their tolerance under F(4×4)'s rounding (up to 5e-6 of the largest value,
# half the tenth of the parity tolerance its own tests allow); so does
# scaling the 32×32 layers' GEMM outputs by 1 ± 3e-7, and a fixture of 3
# steps instead of 5 fails alike. The plan gives those 4-channel layers
# GEMM, and F(4×4) only to layers of at least 16 channels.
for algo in gemm winograd2 winograd4 direct; do
	echo "-- GLMC_CONV=$algo"
	skip='^$'
	if [[ $algo == winograd4 ]]; then
		skip='^TestGoldenResNet32SGD$'
	fi
	GLMC_CONV=$algo go test -count=1 -short -run '^TestGolden' -skip "$skip" ./optim ./glmc
done

step "purego build tag"
go test -count=1 -short -tags purego ./asm ./tensor
go test -count=1 -short -tags purego "${golden[@]}"

# The race detector slows cmd/glmc's training tests tenfold; on a busy
# machine they outlast go test's default 10-minute limit per package.
step "race detector"
go test -count=1 -short -race -timeout 30m ./...

step "arm64 NEON under qemu"
bash .ci/qemu-arm64.sh

# 13 targets today: about 13 × (3 s + 2 s of build and start) ≈ 65 s.
step "fuzz targets, 3 s each"
bash tools/fuzz.sh 3s
