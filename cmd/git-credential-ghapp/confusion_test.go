package main

// Host confusion: a token minted for one origin is never printed for
// another that merely looks alike, and plain http to a host other than
// this machine never gets a token. Each look-alike is configured for the
// helper (so that it is served and its cache consulted) and prompting is
// off (so that a miss says so instead of signing in).

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/memory"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/tmpfs"
)

// Tokens planted straight into the store, for origins the stand-in
// cannot serve: github.com itself, and plain http to a remote host.
const (
	plantedGitHub = "ghu_plantedForGitHubDotCom"
	plantedHTTP   = "ghu_plantedForPlainHTTP"
)

// plant keeps tok in the store e's helper uses, as the helper would.
func (e *env) plant(tok store.Token) {
	t := e.t
	t.Helper()
	var st store.Store
	var err error
	switch e.store {
	case "memory":
		st, err = memory.Open(e.runtime, memory.Options{Daemon: []string{filepath.Join(e.bin, "git-credential-ghapp"), "daemon"}})
	case "tmpfs":
		st, err = tmpfs.Open(e.runtime, false)
	default:
		return
	}
	if err == nil {
		err = st.Put(tok)
	}
	if err != nil {
		t.Fatalf("planting a token in the %s store: %v", e.store, err)
	}
}

func TestHostConfusion(t *testing.T) {
	t.Parallel()
	envs := make([]*env, len(stores))
	for i, name := range stores {
		e := newEnv(t, name, githubtest.Options{})
		e.mint()
		now := time.Now()
		for _, p := range []struct{ origin, tok string }{{"https://github.com", plantedGitHub}, {"http://example.com", plantedHTTP}} {
			e.plant(store.Token{Origin: p.origin, Login: testUser, AccessToken: p.tok, Expiry: now.Add(time.Hour), Minted: now, API: p.origin + "/api/v3"})
		}
		envs[i] = e
	}
	e0 := envs[0]

	type lookalike struct {
		name    string
		request func(e *env) string // the credential request
		serve   func(e *env) string // the URL to configure, "" for none
		want    func(e *env) string // the token it must get, "" for none
		planted bool                // needs the planted tokens (memory and tmpfs stores)
	}
	standIn := func(e *env) string { return e.srv.IssuedTokens()[0] }
	hp := func(e *env) (string, int) {
		h := strings.TrimPrefix(e.srv.URL, "http://")
		_, ps, _ := strings.Cut(h, ":")
		n, _ := strconv.Atoi(ps)
		return h, n
	}
	req := func(proto, hostport string) func(*env) string {
		return func(*env) string { return "protocol=" + proto + "\nhost=" + hostport + "\n" }
	}
	cases := []lookalike{
		{name: "control: the stand-in itself (http://127.0.0.1:PORT)", request: func(e *env) string { return e.hostLine() }, want: standIn},
		{name: "another port (127.0.0.1:PORT+1)",
			request: func(e *env) string {
				h, n := hp(e)
				return req("http", strings.Replace(h, fmt.Sprint(n), fmt.Sprint(n+1), 1))(e)
			},
			serve: func(e *env) string { _, n := hp(e); return fmt.Sprintf("http://127.0.0.1:%d", n+1) }},
		{name: "another scheme (https://127.0.0.1:PORT)",
			request: func(e *env) string { h, _ := hp(e); return req("https", h)(e) },
			serve:   func(e *env) string { h, _ := hp(e); return "https://" + h }},
		{name: "another name for this machine (localhost:PORT)",
			request: func(e *env) string { _, n := hp(e); return req("http", fmt.Sprintf("localhost:%d", n))(e) },
			serve:   func(e *env) string { _, n := hp(e); return fmt.Sprintf("http://localhost:%d", n) }},
		{name: "IPv6 loopback ([::1]:PORT)",
			request: func(e *env) string { _, n := hp(e); return req("http", fmt.Sprintf("[::1]:%d", n))(e) },
			serve:   func(e *env) string { _, n := hp(e); return fmt.Sprintf("http://[::1]:%d", n) }},
		{name: "port with a leading zero (127.0.0.1:0PORT)",
			request: func(e *env) string {
				h, n := hp(e)
				return req("http", strings.Replace(h, fmt.Sprint(n), "0"+fmt.Sprint(n), 1))(e)
			}},
		{name: "path smuggled into host (127.0.0.1:PORT/x)",
			request: func(e *env) string { h, _ := hp(e); return req("http", h+"/x")(e) }},
		{name: "another account on the same host (username=bob)",
			request: func(e *env) string { return e.hostLine() + "username=bob\n" }},
		{name: "url= whose user@ part is the stand-in (http://127.0.0.1:PORT@evil.example/)",
			request: func(e *env) string { h, _ := hp(e); return "url=http://" + h + "@evil.example/\n" },
			serve:   func(*env) string { return "http://evil.example" }},
		{name: "url= with credentials embedded, for another host (https://octocat:pw@evil.example/)",
			request: func(*env) string { return "url=https://octocat:pw@evil.example/\n" },
			serve:   func(*env) string { return "https://evil.example" }},

		{name: "control: github.com (planted token)", request: req("https", "github.com"), want: func(*env) string { return plantedGitHub }, planted: true},
		{name: "same host, upper case (GitHub.COM): same origin, answered", request: req("https", "GitHub.COM"), want: func(*env) string { return plantedGitHub }, planted: true},
		{name: "same host, default port spelled out (github.com:443): answered", request: req("https", "github.com:443"), want: func(*env) string { return plantedGitHub }, planted: true},
		{name: "suffix look-alike (github.com.evil.example)", request: req("https", "github.com.evil.example"), serve: func(*env) string { return "https://github.com.evil.example" }, planted: true},
		{name: "suffix look-alike in upper case (GITHUB.COM.EVIL.EXAMPLE)", request: req("https", "GITHUB.COM.EVIL.EXAMPLE"), serve: func(*env) string { return "https://github.com.evil.example" }, planted: true},
		{name: "prefix look-alike (evil-github.com)", request: req("https", "evil-github.com"), serve: func(*env) string { return "https://evil-github.com" }, planted: true},
		{name: "trailing dot (github.com.)", request: req("https", "github.com."), serve: func(*env) string { return "https://github.com." }, planted: true},
		{name: "subdomain (gist.github.com)", request: req("https", "gist.github.com"), serve: func(*env) string { return "https://gist.github.com" }, planted: true},
		{name: "another port (github.com:8443)", request: req("https", "github.com:8443"), serve: func(*env) string { return "https://github.com:8443" }, planted: true},
		{name: "plain http (http://github.com)", request: req("http", "github.com"), serve: func(*env) string { return "http://github.com" }, planted: true},
		{name: "url= naming github.com as user@ (https://github.com@evil.example/)", request: func(*env) string { return "url=https://github.com@evil.example/\n" }, serve: func(*env) string { return "https://evil.example" }, planted: true},
		{name: "url= with a password, user@ on github.com (https://evil:pw@github.com/)", request: func(*env) string { return "url=https://evil:pw@github.com/\n" }, planted: true},
		{name: "plain http to a remote host with a token kept for it (http://example.com)", request: req("http", "example.com"), serve: func(*env) string { return "http://example.com" }, planted: true},
	}
	for _, e := range envs {
		for _, c := range cases {
			if c.serve != nil {
				e.gitConfig("ghapp."+c.serve(e)+".clientId", e.srv.ClientID())
			}
		}
		e.extra = append(e.extra, "GIT_TERMINAL_PROMPT=0")
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			required := "no password printed; no token in any output"
			if c.want != nil {
				required = "answered with the token kept for this origin"
			}
			for _, e := range envs {
				e.t = t
			}
			rc := e0.relCase("host confusion", c.name, required)
			var got []string
			for _, e := range envs {
				if c.planted && e.store != "memory" && e.store != "tmpfs" {
					got = append(got, e.store+": not run (no token planted in this store)")
					continue
				}
				out, stderr, err := e.helper(c.request(e), "get")
				want := ""
				if c.want != nil {
					want = c.want(e)
				}
				printed := strings.Contains(out, "password=")
				switch {
				case want != "" && !strings.Contains(out, "password="+want+"\n"):
					t.Errorf("%s: the token kept for this origin was not answered (exit %d): %s", e.store, relExitCode(err), relHide(stderr))
				case want == "" && printed:
					t.Errorf("%s: a password was printed for a look-alike", e.store)
				}
				for _, tok := range append(e.srv.IssuedTokens(), plantedGitHub, plantedHTTP) {
					if tok != want && strings.Contains(out+stderr, tok) {
						t.Errorf("%s: a token of another origin appears in the output", e.store)
					}
				}
				relNoCrash(t, "stderr", stderr)
				what := "no password"
				if printed {
					what = "answered"
				}
				if l := relErrorLines(stderr); len(l) > 0 {
					what += " (" + strings.Join(l, " / ") + ")"
				}
				got = append(got, fmt.Sprintf("%s: exit %d, %s", e.store, relExitCode(err), relStable(what)))
			}
			rc.Measured("%s", relSameAcrossStores(got))
		})
	}
	for _, e := range envs {
		e.t = t
	}
}

// relSameAcrossStores joins "store: outcome" lines, naming an outcome
// once when several stores share it.
func relSameAcrossStores(results []string) string {
	var order []string
	by := map[string][]string{}
	for _, r := range results {
		store, outcome, _ := strings.Cut(r, ": ")
		if by[outcome] == nil {
			order = append(order, outcome)
		}
		by[outcome] = append(by[outcome], store)
	}
	var parts []string
	for _, o := range order {
		parts = append(parts, strings.Join(by[o], ", ")+": "+o)
	}
	return strings.Join(parts, "; ")
}
