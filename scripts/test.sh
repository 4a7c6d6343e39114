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
# The sign-in page's browser test (pkg/web) drives Debian's chromium: install
# it when missing and this script may (root, or sudo without a password).
if [ -z "${GHAPP_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  as=
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as=sudo; fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$as" ]; }; then
    echo "test.sh: installing chromium for the browser test" >&2
    { $as apt-get update -qq && DEBIAN_FRONTEND=noninteractive $as apt-get install -y -qq chromium; } >/dev/null ||
      { echo "test.sh: could not install chromium" >&2; exit 1; }
  else
    echo "test.sh: the browser test in pkg/web needs chromium: install it (apt-get install chromium on Debian or Ubuntu), or set GHAPP_CHROMIUM to a Chrome or Chromium binary" >&2
  fi
fi
if [ -z "${GHAPP_CHROMIUM:-}" ] && command -v chromium >/dev/null 2>&1; then
  export GHAPP_CHROMIUM=$(command -v chromium)
fi
# GHAPP_RELIABILITY_FULL also runs the slow fault cases: servers that never
# answer, which take the helper's full 30-second bound each.
GHAPP_RELIABILITY_FULL=1 go test -race -count=1 -timeout 40m ./...
