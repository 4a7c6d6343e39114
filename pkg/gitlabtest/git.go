package gitlabtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// initRepo writes the first commit with plumbing commands, so no work
// tree is needed.
func (s *Server) initRepo(dir, name string) error {
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(s.gitEnv(),
			"GIT_DIR="+dir,
			"GIT_AUTHOR_NAME=GitLab", "GIT_AUTHOR_EMAIL=noreply@gitlab.example", "GIT_AUTHOR_DATE=1704067200 +0000",
			"GIT_COMMITTER_NAME=GitLab", "GIT_COMMITTER_EMAIL=noreply@gitlab.example", "GIT_COMMITTER_DATE=1704067200 +0000",
		)
		cmd.Stdin = strings.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("gitlabtest: git %s failed: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := run("", "init", "--quiet", "--bare", "--initial-branch=main", dir); err != nil {
		return err
	}
	blob, err := run("# "+name+"\n", "hash-object", "-w", "--stdin")
	if err != nil {
		return err
	}
	tree, err := run("100644 blob "+blob+"\tREADME.md\n", "mktree")
	if err != nil {
		return err
	}
	commit, err := run("", "commit-tree", tree, "-m", "Initial commit")
	if err != nil {
		return err
	}
	_, err = run("", "update-ref", "refs/heads/main", commit)
	return err
}

// gitEnv is the whole environment of every git the server runs: PATH, and
// a HOME of its own so the user's git configuration plays no part.
func (s *Server) gitEnv() []string {
	home := filepath.Join(s.root, "home")
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
	}
}
