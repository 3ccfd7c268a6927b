#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time each, as CI does
# beside the replay of the seed corpora that plain `go test` does:
#
#	bash tools/fuzz.sh [FUZZTIME]    # FUZZTIME as for go test -fuzztime; default 3s
#
# Targets are discovered with `go test -list '^Fuzz'`, so a new Fuzz
# function runs without an edit here. Any failure (a crash, a failed
# property, a corpus file out of step) fails the script, after all targets
# ran; a crashing input is saved under the package's testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${1:-3s}

# Go 1.26's fuzz coordinator can report "context deadline exceeded" as a
# failure when a duration -fuzztime ends while a worker is mid-call, with no
# failing input (go.dev/issue/75804; fixed in Go 1.27). Fuzzing alone runs on
# the approved 1.27 toolchain, which the go command fetches from the module
# proxy; the module and every other test stay on the go.mod version.
export GOTOOLCHAIN=go1.27.3

# go test -list prints a package's matching names, then "ok <package> <time>".
targets=()
names=()
while read -r first pkg _; do
	case $first in
	Fuzz*) names+=("$first") ;;
	ok) for name in ${names[@]+"${names[@]}"}; do targets+=("$pkg $name"); done; names=() ;;
	esac
done < <(go test -list '^Fuzz' ./...)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no Fuzz targets found"; exit 1
fi

failed=()
for target in "${targets[@]}"; do
	read -r pkg name <<<"$target"
	echo "-- $name ($pkg, $fuzztime)"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"; then
		failed+=("$name ($pkg)")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz: failed: %s\n' "${failed[@]}"; exit 1
fi
echo "fuzz: ${#targets[@]} targets, $fuzztime each, no failure"
