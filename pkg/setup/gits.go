package setup

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/helperchain"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/gitconfig"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// NoteOtherGits tells, on stderr, of each other git that reads another
// system config file than written, not set up for o.Origin yet, with the
// command that sets it up too.
func NoteOtherGits(ctx context.Context, stderr io.Writer, o Options, written string) {
	for _, g := range OtherSystemFiles(ctx, written) {
		es, err := gitconfig.Read(ctx, gitconfig.Scope{"--file", g.File}, "credential")
		if err == nil && lastPair(entries(es).values(helperKey(o.Origin.String()))) >= 0 {
			continue
		}
		fmt.Fprintf(stderr, "note: %s reads another system config, %s: set it up there too with: %s\n", safetext.Line(g.Git), safetext.Line(g.File), safetext.Line(o.CommandLine(g.File)))
	}
}

// CommandLine is the setup command that writes what o writes into file.
func (o Options) CommandLine(file string) string {
	args := []string{"git-credential-ghapp", "setup", "--file", file, "--host", o.Origin.String()}
	if o.ClientID != "" {
		args = append(args, "--client-id", o.ClientID)
	}
	if o.Store != "" {
		args = append(args, "--store", o.Store)
	}
	for i, a := range args {
		args[i] = helperchain.ShellQuote(a)
	}
	return strings.Join(args, " ")
}

// OtherGit is a git binary that reads another system config file than
// the one setup --system wrote.
type OtherGit struct {
	Git  string // the binary's path
	File string // its system config file
}

// OtherSystemFiles returns the gits on PATH after the first (plus
// /usr/bin/git) whose system config file is not written: a conda image,
// say, puts /opt/conda/bin/git, which reads /opt/conda/etc/gitconfig,
// before /usr/bin/git, which reads /etc/gitconfig. Each file is named
// once; a git that cannot say which file it reads is left out.
func OtherSystemFiles(ctx context.Context, written string) []OtherGit {
	seen := map[string]bool{clean(written): true}
	var out []OtherGit
	for _, git := range gitsOnPath() {
		file, ok := gitconfig.SystemFile(ctx, git)
		if !ok || seen[clean(file)] {
			continue
		}
		seen[clean(file)] = true
		out = append(out, OtherGit{Git: git, File: file})
	}
	return out
}

// gitsOnPath returns each distinct git binary on PATH, in PATH order, and
// /usr/bin/git last when PATH lacks it. The same binary reached through a
// symbolic link counts once.
func gitsOnPath() []string {
	dirs := filepath.SplitList(os.Getenv("PATH"))
	seen := map[string]bool{}
	var out []string
	for _, dir := range append(dirs, "/usr/bin") {
		if !filepath.IsAbs(dir) {
			continue // "" and "." mean the current directory: not an installed git
		}
		path, err := exec.LookPath(filepath.Join(dir, "git"))
		if err != nil {
			continue
		}
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			real = path
		}
		if abs, err := filepath.Abs(real); err == nil {
			real = abs
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		out = append(out, path)
	}
	return out
}

// clean is path without symbolic links, for comparing files.
func clean(path string) string {
	path = filepath.Clean(path)
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
		return filepath.Join(dir, filepath.Base(path))
	}
	return path
}
