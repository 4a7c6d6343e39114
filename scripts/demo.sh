#!/usr/bin/env bash
# The main job on an embedded default: builds git-credential-ghapp, starts the
# GitHub stand-in on loopback, and shows a real clone and push through the
# helper, with the device-flow prompt a person would see. Needs Go and git.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
runtime=$(mktemp -d /dev/shm/ghapp-demo-XXXXXX 2>/dev/null || mktemp -d)
standin=
cleanup() {
  [ -n "$standin" ] && kill "$standin" 2>/dev/null && wait "$standin" 2>/dev/null
  "$work/bin/git-credential-ghapp" logout --all >/dev/null 2>&1 || true
  rm -rf "$work" "$runtime"
}
trap cleanup EXIT

if [ -t 1 ]; then bold=$'\033[1m' cyan=$'\033[36m' off=$'\033[0m'; else bold= cyan= off=; fi
say() { printf '\n%s%s%s\n' "$bold" "$*" "$off"; }
run() { printf '%s$ %s%s\n' "$cyan" "$*" "$off"; "$@"; }

say "Building git-credential-ghapp and the GitHub stand-in"
CGO_ENABLED=0 go build -tags urfave_cli_no_docs -o "$work/bin/git-credential-ghapp" ./cmd/git-credential-ghapp
go build -o "$work/bin/githubtest" ./cmd/githubtest

# The stand-in plays github.com and the person at the browser: it
# authorizes each device code two seconds after the helper shows it.
"$work/bin/githubtest" -interval 1 -approve-after 2s -user octocat \
  -repo octocat/hello-world -deny-repo octocat/private-notes >"$work/url" 2>"$work/standin.log" &
standin=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -n1 "$work/url")
[ -n "$url" ] || { echo "demo: the stand-in did not start:" >&2; cat "$work/standin.log" >&2; exit 1; }

# A fresh HOME, as on a new JupyterHub user's server.
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1 GHAPP_RUNTIME_DIR="$runtime/rt"
export PATH="$work/bin:$PATH"
mkdir -p "$HOME"
git config --global user.name "Octo Cat"
git config --global user.email octocat@example.com
git config --global init.defaultBranch main

say "1. Point git at the helper (the stand-in is a GitHub Enterprise-style host on $url)"
run git-credential-ghapp setup --global --host "$url" --client-id Iv23liStandIn0000001

say "2. Clone: no token yet, so the helper starts the device flow"
run git clone "$url/octocat/hello-world.git" "$work/hello-world"
sed -n 's/^\[person\] /    (in a browser) /p' "$work/standin.log"

say "3. Commit and push: the token is cached, no new code"
cd "$work/hello-world"
echo "hello from the demo" >demo.txt
git add demo.txt && git commit -qm "Add demo.txt"
run git push origin main

say "4. Push to a repository the app is not installed on: refused by GitHub"
run git push "$url/octocat/private-notes.git" main || echo "    (refused, as it should be: install the app on the repository to grant it)"

say "5. What the token can reach, and where to grant more"
run git-credential-ghapp status --host "$url"

say "6. Sign out: the token is forgotten and revoked"
run git-credential-ghapp logout --host "$url"

say "Done. No token was written to disk: it lived only in the memory of the helper's daemon (socket in $GHAPP_RUNTIME_DIR)."
