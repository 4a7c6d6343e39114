#!/usr/bin/env bash
# Regenerates the files under docs/ that come from the command definitions
# in cmd/git-credential-ghapp (urfave/cli): the man page
# docs/man/git-credential-ghapp.1 and the shell completions
# docs/completions/git-credential-ghapp.{bash,zsh,fish}.
#
# Run it after changing a command, a flag or a usage string; the test
# TestGeneratedFilesAreCurrent fails until you do. The generator lives in
# that test (cmd/git-credential-ghapp/docs_test.go) because the binary is
# built without urfave/cli's man-page code (-tags urfave_cli_no_docs).
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./cmd/git-credential-ghapp -count=1 -run '^TestGeneratedFilesAreCurrent$' -update
git status --short -- docs/man docs/completions 2>/dev/null || true
