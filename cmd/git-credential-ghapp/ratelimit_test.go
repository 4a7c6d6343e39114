package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

// rateLimitLine is the whole line a rate-limited sign-in ends with; the
// stand-in asks to come back in 60 s.
func rateLimitLine(e *env) *regexp.Regexp {
	host := regexp.QuoteMeta(strings.TrimPrefix(e.srv.URL, "http://"))
	return regexp.MustCompile(`git-credential-ghapp: ` + host + ` is rate-limiting sign-ins for this GitHub App; try again at (\d\d:\d\d) \(in 1 minute\); administrators: see docs/github-app\.md#sizing`)
}

// checkRetryTime checks the HH:MM a line names is 60 s after a moment
// between start and end (the clock may pass a minute meanwhile).
func checkRetryTime(t *testing.T, hhmm string, start, end time.Time) {
	t.Helper()
	if a, b := start.Add(time.Minute).UTC().Format("15:04"), end.Add(time.Minute).UTC().Format("15:04"); hhmm != a && hhmm != b {
		t.Errorf("try again at %s, want %s (60 s after the refusal)", hhmm, a)
	}
}

// A server refusing device codes for its rate limit (HTTP 429, as GitHub
// does past 50 sign-ins an hour per app) gets one line that says so, when
// to retry and where administrators look, and no retry storm.
func TestRateLimitedSignIn(t *testing.T) {
	eachStoreOf(t, []string{"memory", "tmpfs"}, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{RateLimitDeviceCodes: true})
		e.extra = append(e.extra, "TZ=UTC") // the line names a clock time
		line := rateLimitLine(e)

		start := time.Now()
		out, stderr, err := e.helper(e.hostLine(), "get")
		end := time.Now()
		if code := relExitCode(err); code != 1 {
			t.Errorf("get exited %d (%v), want 1", code, err)
		}
		if out != "quit=1\n" {
			t.Errorf("get wrote %q on stdout, want quit=1 alone", relHide(out))
		}
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		m := line.FindStringSubmatch(stderr)
		if len(lines) != 1 || m == nil || m[0] != lines[0] {
			t.Fatalf("stderr is not exactly the rate-limit line:\n%s", relHide(stderr))
		}
		checkRetryTime(t, m[1], start, end)
		if n := e.srv.Requests(relDeviceCodePath); n != 1 {
			t.Errorf("%d device-code requests, want 1: no retry storm", n)
		}

		// git fails with that line, and prompts for nothing.
		var args []string
		if store == "memory" {
			// The daemon signs in in the background: the line still comes
			// back at once.
			e.extra = append(e.extra, "GIT_TERMINAL_PROMPT=0")
		}
		args = append(args, "clone", e.repoURL("octocat/hello"), filepath.Join(e.work, "hello"))
		start = time.Now()
		_, stderr, err = e.run("git", args...)
		end = time.Now()
		if err == nil {
			t.Fatal("clone succeeded while sign-ins are rate-limited")
		}
		m = line.FindStringSubmatch(stderr)
		if m == nil {
			t.Fatalf("git's stderr lacks the rate-limit line:\n%s", relHide(stderr))
		}
		checkRetryTime(t, m[1], start, end)
		if n := strings.Count(stderr, "git-credential-ghapp: "); n != 1 {
			t.Errorf("the helper said %d lines, want 1:\n%s", n, relHide(stderr))
		}
		if strings.Contains(stderr, "enter the code") {
			t.Errorf("a code was shown:\n%s", relHide(stderr))
		}
		relNoCrash(t, "git's stderr", stderr)
		if e.codes() != 0 {
			t.Errorf("%d device codes issued, want none", e.codes())
		}
	})
}
