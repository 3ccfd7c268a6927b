#!/usr/bin/env bash
# Builds the release archives of glmc: static (CGO_ENABLED=0) binaries for
# linux, darwin and windows on amd64 and arm64, each in an archive (tar.gz;
# zip for windows) with README.md and LICENSE when present, into dist-out/,
# with SHA256SUMS beside them. The version `glmc version` prints is stamped
# from git (git describe --tags --always --dirty) unless VERSION is set.
#
#   bash tools/release.sh                 # every target
#   bash tools/release.sh --host          # only this machine's GOOS/GOARCH (quick check)
#   bash tools/release.sh linux/arm64 ... # the targets named
#
# Environment: OUT (default dist-out), VERSION (default from git).
set -euo pipefail
cd "$(dirname "$0")/.."

all=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=("${all[@]}")
elif [ "${targets[*]}" = "--host" ]; then
	targets=("$(go env GOOS)/$(go env GOARCH)")
fi
for target in "${targets[@]}"; do
	if [[ " ${all[*]} " != *" $target "* ]]; then
		echo "release.sh: unknown target \"$target\" (want --host or some of: ${all[*]})" >&2
		exit 2
	fi
done

if [[ " ${targets[*]}" == *" windows/"* ]] && ! command -v zip >/dev/null; then
	echo "release.sh: the windows archives need zip (apt-get install zip)" >&2
	exit 1
fi

version=${VERSION:-$(git describe --tags --always --dirty)}
out=${OUT:-dist-out}
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

archives=()
for target in "${targets[@]}"; do
	goos=${target%/*} goarch=${target#*/}
	name="glmc-$version-$goos-$goarch"
	exe=glmc
	[ "$goos" = windows ] && exe=glmc.exe
	mkdir -p "$stage/$name"
	# -trimpath keeps the build machine's paths out of the binary, so the
	# same commit builds the same bytes anywhere.
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath \
		-ldflags "-s -w -X main.version=$version" -o "$stage/$name/$exe" ./cmd/glmc
	for doc in README.md LICENSE; do
		[ -f "$doc" ] && cp "$doc" "$stage/$name/"
	done
	if [ "$goos" = windows ]; then
		archive="$name.zip"
		# zip keeps times, from 1980 on: fix them, as for tar.
		find "$stage/$name" -exec touch -d 1980-01-01T00:00:00Z {} +
		(cd "$stage" && zip -qr -X - "$name") >"$out/$archive"
	else
		archive="$name.tar.gz"
		# Fixed owner, order and time, so the archive depends only on its files.
		tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - "$name" | gzip -n >"$out/$archive"
	fi
	archives+=("$archive")
	echo "$out/$archive"
done
(cd "$out" && sha256sum "${archives[@]}" >SHA256SUMS)
echo "$out/SHA256SUMS"
