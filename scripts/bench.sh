#!/usr/bin/env bash
# Measures how fast git-credential-ghapp answers git's get from its cache,
# against git's own credential-cache and credential-store and against the
# floor any Go helper with an HTTP client has: a static Go binary that links
# net/http and does nothing else. All run as whole processes on the same
# request, interleaved in random order, so that a busy machine slows all of
# them alike. It prints medians and their ratios next to the targets; it
# measures, it does not judge.
#
# Usage: scripts/bench.sh [rounds]   (default 200). Needs Go, git and /dev/shm.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-200}
case $rounds in '' | *[!0-9]*) echo "usage: scripts/bench.sh [rounds]" >&2; exit 2 ;; esac

out=$(mktemp)
trap 'rm -f "$out"' EXIT
cmd=(go test -run '^$' -bench '^BenchmarkCacheHit$' -benchtime "${rounds}x" -count 1 -timeout 60m ./cmd/git-credential-ghapp)
echo "\$ go test -run '^\$' -bench '^BenchmarkCacheHit\$' -benchtime ${rounds}x -count 1 ./cmd/git-credential-ghapp"
if ! "${cmd[@]}" >"$out" 2>&1; then
  cat "$out" >&2
  exit 1
fi

# The benchmark line holds "value unit" pairs: <name>-ms and <name>-cpu-ms
# are medians, a/b are ratios of the wall-clock medians.
awk '
/^BenchmarkCacheHit/ {
  for (i = 3; i < NF; i += 2) m[$(i + 1)] = $i
  rounds = $2
}
/ rounds, ms per get/ { spread = 1; sub(/^[ \t]*[^ ]*_test\.go:[0-9]+: /, ""); print "\nSpread (" $0 "):"; next }
spread && /^[ \t]+[a-z]+ +[0-9.]+/ { sub(/^[ \t]+/, "  "); print; next }
spread { spread = 0 }
END {
  if (!("memory-ms" in m)) { print "bench: no result in the benchmark output" > "/dev/stderr"; exit 1 }
  n = split("memory tmpfs stale cache store floor libs bare viagit", names, " ")
  what["memory"] = "git-credential-ghapp get, memory store hit"
  what["tmpfs"] = "git-credential-ghapp get, tmpfs store hit"
  what["stale"] = "memory hit, stale reach, API never answers"
  what["cache"] = "git credential-cache get"
  what["store"] = "git credential-store get"
  what["floor"] = "floor: static Go binary linking net/http"
  what["libs"] = "floor + urfave/cli v2, x/oauth2, go-keyring linked"
  what["bare"] = "static Go binary without net/http"
  what["viagit"] = "git credential-ghapp get (memory; how git runs it)"
  printf "\nMedians over %d rounds, milliseconds per get:\n", rounds
  printf "  %-52s %8s %8s\n", "", "wall", "CPU"
  for (i = 1; i <= n; i++) printf "  %-52s %8.3f %8.3f\n", what[names[i]], m[names[i] "-ms"], m[names[i] "-cpu-ms"]
  printf "\nRatios of medians:\n"
  printf "  %-30s %6s %6s   %s\n", "", "wall", "CPU", "target"
  ratio("memory hit / floor + libraries", "memory", "libs", "<= 1.10")
  ratio("tmpfs hit / floor + libraries", "tmpfs", "libs", "<= 1.05")
  ratio("memory hit / tmpfs hit", "memory", "tmpfs", "<= 1.00")
  ratio("stale, API hanging / memory hit", "stale", "memory", "about 1: a hit never waits on the API")
  ratio("memory hit / floor", "memory", "floor", "none: the floor links only net/http")
  ratio("memory hit / credential-cache", "memory", "cache", "none: the helper git ships, with no HTTP client")
  ratio("floor / credential-cache", "floor", "cache", "none: the floor (about 1.33-1.5)")
  ratio("floor + libraries / floor", "libs", "floor", "none: the start-up cost of the libraries")
}
function ratio(label, a, b, target) {
  printf "  %-30s %6.2f %6.2f   %s\n", label, m[a "-ms"] / m[b "-ms"], m[a "-cpu-ms"] / m[b "-cpu-ms"], target
}
' "$out"
