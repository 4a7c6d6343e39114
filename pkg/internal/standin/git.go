// Package standin holds what the GitHub and GitLab stand-ins (githubtest,
// gitlabtest) share: their HTTP plumbing and log, the device codes and
// tokens they issue and the page where a person approves a code, bare
// repositories on disk and git http-backend serving them.
package standin

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// maxBufferedBody bounds a chunked git request body, which is read into
// memory because CGI needs its length.
const maxBufferedBody = 64 << 20

// GitEnv is the whole environment of every git a stand-in keeping its
// files in root runs: PATH, and a HOME of its own so the user's git
// configuration plays no part.
func GitEnv(root string) []string {
	home := filepath.Join(root, "home")
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
	}
}

// initRepo creates the bare repository dir with a first commit holding a
// README titled name, by author <email>. It uses plumbing commands, so no
// work tree is needed. Errors start with pkg.
func initRepo(pkg, root, dir, name, author, email string) error {
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(GitEnv(root),
			"GIT_DIR="+dir,
			"GIT_AUTHOR_NAME="+author, "GIT_AUTHOR_EMAIL="+email, "GIT_AUTHOR_DATE=1704067200 +0000",
			"GIT_COMMITTER_NAME="+author, "GIT_COMMITTER_EMAIL="+email, "GIT_COMMITTER_DATE=1704067200 +0000",
		)
		cmd.Stdin = strings.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("%s: git %s failed: %v: %s", pkg, args[0], err, strings.TrimSpace(stderr.String()))
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

// GitError answers in text/plain, which git shows the user as "remote: ...".
func GitError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// Backend runs git http-backend on the repositories below root/repos.
type Backend struct {
	Root      string    // the stand-in's files
	Command   []string  // the backend to run; nil means git http-backend
	Log       io.Writer // gets the backend's stderr and CGI errors
	LogPrefix string    // starts each CGI error line
}

// Serve hands r, whose path and headers the caller has already made safe,
// to the backend, with env added to the backend's environment.
func (b Backend) Serve(w http.ResponseWriter, r *http.Request, env ...string) {
	if r.ContentLength < 0 { // chunked: CGI needs a length
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBufferedBody+1))
		if err != nil || len(body) > maxBufferedBody {
			GitError(w, http.StatusRequestEntityTooLarge, "Request too large.")
			return
		}
		r.Body, r.ContentLength, r.TransferEncoding = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
	}
	backend := b.Command
	if backend == nil {
		git, err := exec.LookPath("git")
		if err != nil {
			GitError(w, http.StatusInternalServerError, "git is not installed on the server.")
			return
		}
		backend = []string{git, "http-backend"}
	}
	h := &cgi.Handler{
		Path:   backend[0],
		Args:   backend[1:],
		Dir:    b.Root,
		Root:   "/",
		Env:    append(append(GitEnv(b.Root), "GIT_PROJECT_ROOT="+filepath.Join(b.Root, "repos"), "GIT_HTTP_EXPORT_ALL=1"), env...),
		Logger: log.New(b.Log, b.LogPrefix, 0),
		Stderr: b.Log,
	}
	h.ServeHTTP(w, r)
}
