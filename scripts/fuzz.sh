#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given number of seconds
# each (default 60). `scripts/fuzz.sh 10` is the short run meant for CI.
#
# Targets are found with `go test -list`, so a new FuzzXxx is picked up
# without touching this script. For each target one line goes to stdout:
#
#   FUZZ<TAB>package<TAB>target<TAB>seconds<TAB>execs<TAB>PASS|FAIL<TAB>detail
#
# (scripts/reliability.sh reads these). A target that fails leaves the
# failing input in its package's testdata/fuzz/<target>/, as go test does:
# fix the bug and keep that file, so the input stays a regression test.
# Exits 1 if any target failed.
set -u -o pipefail

secs=${1:-60}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [seconds per target]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# "FuzzXxx" lines, then "ok <package> <time>" for each package.
if ! go test -list '^Fuzz' ./... >"$log/list" 2>&1; then
	cat "$log/list" >&2
	echo "fuzz.sh: listing fuzz targets failed" >&2
	exit 1
fi
targets=()
pending=()
while read -r first second _; do
	case $first in
	Fuzz*) pending+=("$first") ;;
	ok)
		for t in "${pending[@]+"${pending[@]}"}"; do targets+=("$second $t"); done
		pending=()
		;;
	esac
done <"$log/list"
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

failed=0
start=$(date +%s)
for entry in "${targets[@]}"; do
	pkg=${entry% *}
	name=${entry#* }
	out="$log/$name.out"
	echo "fuzz.sh: $pkg $name for ${secs}s" >&2
	# Minimizing a large new input can stall a short run; cap it.
	if go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" -fuzzminimizetime 10s >"$out" 2>&1; then
		result=PASS
	elif grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out" && ! grep -q -e '^panic:' -e '_test.go:[0-9]*:' "$out"; then
		# Go 1.26's fuzzing coordinator can report its own -fuzztime
		# deadline as a failure (golang/go#75804, fixed in Go 1.27): no
		# input failed and none was saved, so the run found nothing.
		result=PASS
		boundary=1
	else
		result=FAIL
		failed=1
	fi
	execs=$(grep -o 'execs: [0-9]*' "$out" | tail -n1 | cut -d' ' -f2)
	if [ "$result" = PASS ]; then
		found=$(grep -o 'new interesting: [0-9]*' "$out" | tail -n1 | cut -d' ' -f3)
		detail="no failure; ${found:-0} new corpus inputs"
		if [ "${boundary:-0}" = 1 ]; then
			detail="$detail; the fuzzer's own end-of-run deadline race (golang/go#75804) ignored"
			boundary=0
		fi
	else
		# go test names the saved input ("Failing input written to ...").
		detail=$(grep -m1 -o 'testdata/fuzz/[^ ":]*' "$out" || true)
		detail="failing input: ${detail:-none saved}"
		sed 's/^/    /' "$out" | tail -n 40 >&2
	fi
	printf 'FUZZ\t%s\t%s\t%s\t%s\t%s\t%s\n' "$pkg" "$name" "$secs" "${execs:-0}" "$result" "$detail"
done
echo "fuzz.sh: ${#targets[@]} targets in $(($(date +%s) - start))s" >&2
exit $failed
