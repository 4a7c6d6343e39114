package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

// traced runs name with GHAPP_TRACE=1 in dir and returns its stderr as
// written: unredacted, so that the test can look for secrets in it. It
// must never reach a failure message as it is.
func (e *env) traced(dir, stdin, name string, args ...string) (stdout, stderr string) {
	e.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(e.environ(), "GHAPP_TRACE=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no terminal: the code goes to stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			e.t.Fatalf("%s %v: %v\n%s", name, args, err, e.redact(errb.String()))
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		e.t.Fatalf("%s %v did not finish in 60s", name, args)
	}
	return out.String(), errb.String()
}

// With GHAPP_TRACE=1 a sign-in through the helper and a push say what the
// helper decided, and show no token, no device code and no part of
// either.
func TestTraceShowsDecisionsAndNoSecret(t *testing.T) {
	eachStore(t, func(t *testing.T, store string) {
		e := newEnv(t, store, githubtest.Options{})
		host := strings.TrimPrefix(e.srv.URL, "http://")
		helper := filepath.Join(e.bin, "git-credential-ghapp")

		// Interactive: the helper (or, with the memory store, its daemon)
		// signs in; the stand-in approves the code.
		answer, signIn := e.traced(e.work, "protocol=http\nhost="+host+"\npath=octocat/hello.git\n\n", helper, "get")
		if !strings.Contains(answer, "password=") {
			t.Fatalf("get gave no token; stderr:\n%s", e.redact(signIn))
		}
		dir := e.clone("octocat/hello")
		e.commit(dir)
		_, push := e.traced(dir, "", "git", "push", "-q", "origin", "HEAD:main")
		all := signIn + push

		secrets := append(e.srv.IssuedTokens(), e.srv.IssuedDeviceCodes()...)
		if len(secrets) < 2 {
			t.Fatalf("the stand-in issued %d tokens and device codes, want at least 2", len(secrets))
		}
		// The check itself: it finds the token in git's answer.
		if !showsPartOf(answer, secrets) {
			t.Fatal("the token in get's answer is not among the secrets the stand-in lists")
		}
		for _, secret := range secrets {
			for i := 0; i+8 <= len(secret); i++ {
				if strings.Contains(all, secret[i:i+8]) {
					t.Fatalf("the trace shows 8 characters of a token or device code (at offset %d of one); stderr:\n%s", i, e.redact(strings.ReplaceAll(all, secret[i:i+8], "<secret>")))
				}
			}
		}

		origin := regexp.QuoteMeta(e.srv.URL)
		want := []string{
			`get request: protocol=http host=` + regexp.QuoteMeta(host) + ` path=octocat/hello.git`,
			`store ` + store + ` opened \(--store or \$GHAPP_STORE; before reading configuration\)`,
			`store ` + store + `: miss for ` + origin + `: none kept`,
			`config for ` + origin + `/octocat/hello.git: client ID \S+ from ghapp.clientId, store ` + store + `, interactive true`,
			`served: a ghapp.<url>.clientId matches ` + origin,
			`sign-in to ` + origin + `: .*`,
			`sign-in to ` + origin + `: ended, signed in as octocat until `,
			`store ` + store + `: hit for ` + origin + `: octocat, \d+h\d+m\d+s left`,
		}
		if store != "memory" {
			// The memory daemon signs in, and its stderr is not this one.
			want = append(want,
				`http POST `+origin+`/login/device/code -> 200 in \S+`,
				`http POST `+origin+`/login/oauth/access_token -> 200 in \S+`,
				`http GET `+origin+`/api/v3/user -> 200 in \S+`,
			)
		}
		for _, w := range want {
			if !regexp.MustCompile(`(?m)^git-credential-ghapp: trace: ` + w).MatchString(all) {
				t.Errorf("the trace lacks a line matching %q; stderr:\n%s", w, e.redact(all))
			}
		}
		for _, line := range strings.Split(strings.TrimSuffix(push, "\n"), "\n") {
			if !strings.HasPrefix(line, "git-credential-ghapp: trace: ") {
				t.Errorf("a warm push printed %q besides the trace", e.redact(line))
			}
		}
		if testing.Verbose() {
			t.Logf("sign-in:\n%s\npush:\n%s", e.redact(signIn), e.redact(push))
		}
	})
}

// showsPartOf reports whether text holds 8 or more characters in a row of
// any of secrets.
func showsPartOf(text string, secrets []string) bool {
	for _, secret := range secrets {
		for i := 0; i+8 <= len(secret); i++ {
			if strings.Contains(text, secret[i:i+8]) {
				return true
			}
		}
	}
	return false
}
