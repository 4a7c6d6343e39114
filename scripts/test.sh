#!/usr/bin/env bash
# Runs every check the project holds itself to: formatting, vet, a short
# run of every fuzz target, and the whole test suite under the race
# detector (unit tests and end-to-end tests that drive the real git against
# the GitHub stand-in on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
# Every fuzz target, briefly: the seed corpora and ten seconds of new inputs.
scripts/fuzz.sh 10
# GHAPP_RELIABILITY_FULL also runs the slow fault cases: servers that never
# answer, which take the helper's full 30-second bound each.
GHAPP_RELIABILITY_FULL=1 go test -race -count=1 -timeout 40m ./...
