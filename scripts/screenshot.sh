#!/usr/bin/env bash
# Regenerates docs/web/page.png: the sign-in page with one account and one
# code waiting, served by the fake backend of pkg/web's tests and taken in
# headless chromium (scripts/test.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/docs/web/page.png"
GHAPP_SCREENSHOT="$out" go test -count=1 -run '^TestScreenshot$' ./pkg/web/
echo "wrote $out"
