#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other, each for the
# given time (default 20s): scripts/fuzz.sh 1m, or make fuzz FUZZTIME=1m.
#
# go test refuses to fuzz more than one target at a time, so each target is
# run on its own with an anchored -fuzz pattern. A crasher is written by go
# test to the package's testdata/fuzz/<Target>/ directory: keep it there as a
# regression seed once the bug is fixed (plain `go test` replays it).
# Targets are found by their declaration: func FuzzXxx(f *testing.F).
#
# Go up to 1.26 can fail a target with a bare "context deadline exceeded" at
# the -fuzztime boundary without having found anything (a race in the fuzz
# coordinator, golang/go#75804). Such a run wrote no crasher: it is retried
# once, and if it happens again it is reported as a flake, not a failure. A
# run that wrote a crasher, or failed any other way, fails the script.
set -u
fuzztime="${1:-20s}"
cd "$(dirname "$0")/.."

crashers() { ls "$1/testdata/fuzz/$2" 2>/dev/null | sort; }

# run_one PKG TARGET: 0 pass, 1 fail, 2 coordinator flake.
run_one() {
	local pkg=$1 target=$2 before out rc
	before=$(crashers "$pkg" "$target")
	out=$(mktemp)
	go test -run '^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ] && [ "$(crashers "$pkg" "$target")" = "$before" ] &&
		grep -q '^    context deadline exceeded$' "$out" && ! grep -q 'Failing input written' "$out"; then
		rc=2
	fi
	rm -f "$out"
	[ "$rc" -le 2 ] || rc=1
	return "$rc"
}

failed=()
flaked=()
ran=0
while IFS=: read -r file target; do
	pkg="./$(dirname "$file")"
	echo "== $pkg $target ($fuzztime)"
	run_one "$pkg" "$target"
	rc=$?
	if [ "$rc" -eq 2 ]; then
		echo "-- $target: deadline race of the fuzz coordinator, no crasher; running it again"
		run_one "$pkg" "$target"
		rc=$?
		[ "$rc" -eq 2 ] && flaked+=("$pkg $target")
	fi
	[ "$rc" -eq 1 ] && failed+=("$pkg $target")
	ran=$((ran + 1))
done < <(grep -rEo --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)' . |
	sed -E 's#^\./##; s#:func (Fuzz[A-Za-z0-9_]+)\(.*#:\1#' | sort)

if [ "$ran" -eq 0 ]; then
	echo "no fuzz targets found" >&2
	exit 1
fi
echo "fuzzed $ran targets for $fuzztime each: ${#failed[@]} failed, ${#flaked[@]} flaked (coordinator race, no crasher)"
if [ "${#flaked[@]}" -gt 0 ]; then
	printf 'FLAKED: %s\n' "${flaked[@]}" >&2
fi
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
