package main

// Fault injection: the GitHub stand-in misbehaves on one endpoint at a
// time, and the built helper, run directly and under real git, must fail
// cleanly: exit 1, one clear line, quit=1 alone on stdout, no hang past its
// bound, and nothing cached that a later get could hand out.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport/reliability"
)

const (
	relDeviceCodePath = "/login/device/code"
	relTokenPath      = "/login/oauth/access_token"
	relUserPath       = "/api/v3/user"

	// faultStore is the store the fault cases run with: the default on
	// Linux and macOS. The faults are in the network, not the store; the
	// stores themselves are exercised against every case in e2e_test.go.
	faultStore = "memory"

	// relHTTPTimeout is the helper's HTTP client timeout (run, in main.go):
	// the bound on a server that never answers.
	relHTTPTimeout = 30 * time.Second
	// relNoHang bounds every case that should end at once; it only proves
	// that nothing hangs, so it is generous.
	relNoHang = 20 * time.Second
)

// relFullOnly skips a case outside the full reliability run
// (GHAPP_RELIABILITY_FULL=1, set by scripts/reliability.sh): variants of a
// case the default run already covers, and cases that wait out the
// helper's 30 s HTTP timeout. The default go test run stays short.
func relFullOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("GHAPP_RELIABILITY_FULL") == "" {
		t.Skip("runs in the full reliability run only: GHAPP_RELIABILITY_FULL=1 (scripts/reliability.sh sets it)")
	}
}

// relPorts matches loopback addresses, whose ports change from run to run.
var relPorts = regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):\d+`)

// relVarying matches what else changes from run to run in a message: the
// store's hashed file names and the clock.
var relVarying = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(tokens|signin)-[0-9a-f]{16}\.`), "$1-<hash>."},
	{regexp.MustCompile(`until \d\d:\d\d [A-Z]+`), "until HH:MM"},
}

// relStable replaces what changes from run to run with stable names.
func relStable(s string) string {
	s = relPorts.ReplaceAllString(s, "$1:PORT")
	for _, v := range relVarying {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

// relTokenLike finds anything shaped like a GitHub token, issued or not.
var relTokenLike = regexp.MustCompile(`gh[opusr]_[A-Za-z0-9]{8,}`)

// relHide shortens anything token-shaped, so that a failure message can
// quote output without carrying a token.
func relHide(s string) string {
	return relTokenLike.ReplaceAllStringFunc(s, func(t string) string { return t[:4] + "…" })
}

// relCase starts a reliability row whose measurements name the stand-in and
// the runtime directory by stable names rather than this run's port and
// temporary path.
func (e *env) relCase(area, name, required string) *reliability.Case {
	c := reliability.Record(e.t, area, name, required)
	host := strings.TrimPrefix(e.srv.URL, "http://")
	_, port, _ := strings.Cut(host, ":")
	next, _ := strconv.Atoi(port)
	nextHost := fmt.Sprintf("127.0.0.1:%d", next+1) // the "another port" look-alike
	c.Clean(func(s string) string {
		s = e.redact(s)
		s = strings.ReplaceAll(s, nextHost, "127.0.0.1:PORT+1")
		s = relHide(s)
		s = strings.ReplaceAll(s, e.runtime, "$GHAPP_RUNTIME_DIR")
		s = strings.ReplaceAll(s, host, "127.0.0.1:PORT")
		return relStable(s)
	})
	return c
}

func relExitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	return -1
}

// relErrorLines returns what the helper said on stderr other than
// progress: the two-line device-code prompt, shown before any poll fails,
// and the notice that the sign-in lock is slow to come (under load,
// starting the token daemon can take that long).
func relErrorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		if l == "" || strings.Contains(l, ": to sign in to ") || strings.Contains(l, ": and enter the code ") ||
			strings.Contains(l, ": waiting for the sign-in to ") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// relCrashSigns are what a panic or a runtime fault would print.
var relCrashSigns = []string{"panic:", "goroutine ", "runtime error", "internal error", "SIGSEGV"}

func relNoCrash(t *testing.T, what, s string) {
	t.Helper()
	for _, sign := range relCrashSigns {
		if strings.Contains(s, sign) {
			t.Errorf("%s shows %q: %s", what, sign, relHide(s))
		}
	}
	if relTokenLike.MatchString(s) {
		t.Errorf("%s carries something shaped like a token", what)
	}
}

// failedGet runs the helper's get and checks that it failed as a helper
// must: exit 1 within bound, quit=1 alone on stdout, exactly one error line
// that mentions every want. It returns that line.
func (e *env) relFailedGet(rc *reliability.Case, bound time.Duration, want ...string) string {
	t := e.t
	t.Helper()
	start := time.Now()
	out, stderr, err := e.helper(e.hostLine(), "get")
	took := time.Since(start)
	lines := relErrorLines(stderr)
	line := strings.Join(lines, " / ")
	rc.Measured("helper get: exit %d in %.2f s, %d bytes on stdout, error line: %s", relExitCode(err), took.Seconds(), len(out), line)
	if code := relExitCode(err); code != 1 {
		t.Errorf("get exited %d (%v), want 1", code, err)
	}
	if out != "quit=1\n" {
		t.Errorf("get wrote %d bytes on stdout, want quit=1 alone", len(out))
	}
	if took > bound {
		t.Errorf("get took %v, past its %v bound", took, bound)
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "git-credential-ghapp: ") {
		t.Errorf("want exactly one error line from the helper, got %d: %q", len(lines), relHide(line))
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("error line %q does not mention %q", relHide(line), w)
		}
	}
	relNoCrash(t, "stderr", stderr)
	return line
}

// gitFails runs git ls-remote through the helper under the same fault:
// git must fail, pass the helper's line through, and not hang.
func (e *env) relGitFails(rc *reliability.Case, bound time.Duration, helperLine string) {
	t := e.t
	t.Helper()
	start := time.Now()
	out, stderr, err := e.run("git", "ls-remote", e.repoURL("octocat/hello"))
	took := time.Since(start)
	rc.Measured("git ls-remote: exit %d in %.2f s", relExitCode(err), took.Seconds())
	if err == nil {
		t.Errorf("git ls-remote succeeded under the fault:\n%s", relHide(e.redact(out)))
	}
	if took > bound {
		t.Errorf("git ls-remote took %v, past its %v bound", took, bound)
	}
	norm := relStable
	if helperLine != "" && !strings.Contains(norm(stderr), norm(helperLine)) {
		t.Errorf("git's stderr lacks the helper's line %q:\n%s", relHide(helperLine), relHide(stderr))
	}
	relNoCrash(t, "git's stderr", stderr)
}

// freshFlowAfter removes the fault and checks that nothing was cached
// under it: the next get must start a new device flow, and succeed.
func (e *env) relFreshFlowAfter(rc *reliability.Case) {
	t := e.t
	t.Helper()
	e.srv.Intercept(nil)
	before := e.codes()
	out, stderr, err := e.helper(e.hostLine(), "get")
	switch {
	case err != nil || !strings.Contains(out, "password=ghu_"):
		t.Errorf("get after the fault was removed failed: %v\n%s", err, relHide(stderr))
		rc.Measured("after the fault: get failed")
	case e.codes() != before+1:
		t.Errorf("get after the fault answered without a new device flow (%d codes before, %d after): something was cached under the fault", before, e.codes())
		rc.Measured("after the fault: answered from a cache")
	default:
		rc.Measured("after the fault: next get ran a new device flow and answered")
	}
}

// on applies h to requests for path only.
func faultOn(path string, h func(w http.ResponseWriter, r *http.Request)) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		h(w, r)
		return true
	}
}

// status answers with code, a Retry-After far in the future, and an HTML
// page, as a load balancer in trouble does.
func faultStatus(code int) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1>\n<p>try again\nlater</p></body></html>\n", code, http.StatusText(code))
	}
}

// body answers 200 with a body of the given type.
func faultBody(ctype, b string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		io.WriteString(w, b)
	}
}

// resetMidBody promises a longer body than it sends, then resets the
// connection (SO_LINGER 0 makes close send RST).
func faultResetMidBody(partial string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(partial)+1000, partial)
		buf.Flush()
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		conn.Close()
	}
}

// hang accepts the request and never answers; the connections are closed
// when the test ends.
func faultHang(t *testing.T) func(w http.ResponseWriter, r *http.Request) {
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		mu.Lock()
		held = append(held, conn)
		mu.Unlock()
	}
}

// rewrite passes the request on to the stand-in itself and lets edit
// change the JSON fields of its answer, so that a real device code or
// token comes back with, say, a different interval.
func faultRewrite(srv *githubtest.Server, edit func(fields map[string]any)) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, _ := http.NewRequest(r.Method, srv.URL+r.URL.Path, strings.NewReader(r.PostForm.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set(faultPassThrough, "1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var fields map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&fields); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		edit(fields)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		json.NewEncoder(w).Encode(fields)
	}
}

// passThrough marks the stand-in's requests to itself, which the fault
// must not catch again.
const faultPassThrough = "X-Fault-Pass-Through"

func faultOnce(path string, h func(w http.ResponseWriter, r *http.Request)) func(w http.ResponseWriter, r *http.Request) bool {
	f := faultOn(path, h)
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get(faultPassThrough) != "" {
			return false
		}
		return f(w, r)
	}
}

type faultCase struct {
	name     string
	path     string
	required string
	fault    func(t *testing.T) func(w http.ResponseWriter, r *http.Request)
	opts     githubtest.Options
	want     []string
	bound    time.Duration
	full     bool // only in the full reliability run (relFullOnly)
}

const relFailContract = "exit 1, one error line naming cause and fix, quit=1 alone on stdout (git stops without a password prompt), no crash, within %s; git fails cleanly; nothing cached (the next get runs a new flow)"

func faultCases() []faultCase {
	fixed := func(h func(w http.ResponseWriter, r *http.Request)) func(*testing.T) func(w http.ResponseWriter, r *http.Request) {
		return func(*testing.T) func(w http.ResponseWriter, r *http.Request) { return h }
	}
	var cases []faultCase
	for _, ep := range []struct{ name, path string }{{"device code", relDeviceCodePath}, {"token", relTokenPath}, {"/user", relUserPath}} {
		var want5xx []string
		switch ep.path {
		case relDeviceCodePath:
			want5xx = []string{"device-code request", "try again later"}
		case relTokenPath:
			want5xx = []string{"while waiting for authorization", "try again later"}
		case relUserPath:
			want5xx = []string{"could not learn the account", "/api/v3/user", "run the git command again"}
		}
		for _, code := range []int{500, 502, 503} {
			cases = append(cases, faultCase{
				name: fmt.Sprintf("%s endpoint: HTTP %d with Retry-After: 3600", ep.name, code), path: ep.path,
				fault: fixed(faultStatus(code)), want: append([]string{fmt.Sprintf("HTTP %d", code)}, want5xx...),
				full: code != 503, // one status code is enough for the default run
			})
		}
		partial := map[string]string{relDeviceCodePath: `{"device_code":"3584d8353055`, relTokenPath: `{"access_token":"ghu_cut`, relUserPath: `{"login":"octo`}[ep.path]
		cases = append(cases,
			faultCase{name: ep.name + " endpoint: connection reset mid-body", path: ep.path, fault: fixed(faultResetMidBody(partial)),
				full: ep.path == relUserPath},
			faultCase{name: ep.name + " endpoint: truncated JSON body", path: ep.path, fault: fixed(faultBody("application/json", partial)),
				full: ep.path == relUserPath},
			faultCase{name: ep.name + " endpoint: HTML instead of JSON", path: ep.path, fault: fixed(faultBody("text/html", "<html><body>Sign in to the Wi-Fi</body></html>")),
				full: ep.path != relDeviceCodePath},
			faultCase{name: ep.name + " endpoint: accepts the connection, never answers", path: ep.path, fault: faultHang,
				want: []string{"did not answer in time"}, bound: relHTTPTimeout + 15*time.Second, full: true,
				required: fmt.Sprintf("gives up after the HTTP client timeout (%s); "+relFailContract, relHTTPTimeout, relHTTPTimeout+15*time.Second)},
		)
	}
	cases = append(cases,
		faultCase{name: "token endpoint: answer without access_token", path: relTokenPath,
			fault: fixed(faultBody("application/json", `{"token_type":"bearer","scope":""}`)), want: []string{"without an access token"}},
		faultCase{name: "token endpoint: expires_in in the past", path: relTokenPath,
			fault: fixed(faultBody("application/json", `{"access_token":"ghu_notIssuedPastExpiry","token_type":"bearer","expires_in":-60}`)),
			want:  []string{"already expired"}},
		faultCase{name: "token endpoint: slow_down on every poll (code lives 3 s)", path: relTokenPath,
			opts:     githubtest.Options{CodeLifetime: 3 * time.Second},
			fault:    fixed(faultBody("application/json", `{"error":"slow_down","error_description":"Too many requests","interval":6}`)),
			want:     []string{"expired", "run the git command again"},
			required: "ends when the code expires, never polls faster than the interval (+5 s per slow_down); " + fmt.Sprintf(relFailContract, relNoHang)},
	)
	return cases
}

func TestFaults(t *testing.T) {
	for _, fc := range faultCases() {
		// "/" would split the subtest name into levels for -run.
		t.Run(strings.ReplaceAll(fc.name, "/", ""), func(t *testing.T) {
			if fc.full {
				relFullOnly(t)
			}
			t.Parallel()
			e := newEnv(t, faultStore, fc.opts)
			bound := fc.bound
			if bound == 0 {
				bound = relNoHang
			}
			required := fc.required
			if required == "" {
				required = fmt.Sprintf(relFailContract, bound)
			}
			rc := e.relCase("fault injection", fc.name, required)
			e.srv.Intercept(faultOnce(fc.path, fc.fault(t)))

			line := e.relFailedGet(rc, bound, fc.want...)
			if n := e.srv.Requests(fc.path); fc.path != relTokenPath && n != 1 {
				t.Errorf("%d requests to %s, want 1: no retry storm", n, fc.path)
			}
			if fc.path == relTokenPath && strings.Contains(fc.name, "slow_down") {
				// First poll after 1 s, then 1+5 s: past the 3 s code life.
				if n := e.srv.Requests(relTokenPath); n > 2 {
					t.Errorf("%d polls in a 3 s code life with slow_down on each, want at most 2", n)
				}
				rc.Measured("%d token poll(s) before the code expired", e.srv.Requests(relTokenPath))
			}
			e.relGitFails(rc, bound, line)
			e.relFreshFlowAfter(rc)
		})
	}
}

// TestFaultIntervals: the interval a server sends is honoured when sane
// and clamped when not, so the flow neither spins nor stalls.
func TestFaultIntervals(t *testing.T) {
	for _, tc := range []struct {
		name      string
		interval  any
		expiresIn any
		ok        bool
		required  string
		want      string
	}{
		{"interval 0", 0, 900, true, "polls after the RFC 8628 default of 5 s, once, and succeeds", ""},
		{"interval -5", -5, 900, true, "taken as the 5 s default; polls once and succeeds", ""},
		{"interval 10^12 s (code lives 3 s)", 1e12, 3, false, "clamped (60 s), so the flow ends when the code expires: " + fmt.Sprintf(relFailContract, relNoHang), "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.interval == -5 {
				relFullOnly(t) // the same path as interval 0
			}
			t.Parallel()
			e := newEnv(t, faultStore, githubtest.Options{})
			rc := e.relCase("fault injection", "device code endpoint: "+tc.name, tc.required)
			e.srv.Intercept(faultOnce(relDeviceCodePath, faultRewrite(e.srv, func(f map[string]any) {
				f["interval"], f["expires_in"] = tc.interval, tc.expiresIn
			})))
			if !tc.ok {
				line := e.relFailedGet(rc, relNoHang, tc.want)
				e.relGitFails(rc, relNoHang, line)
				e.relFreshFlowAfter(rc)
				return
			}
			start := time.Now()
			out, stderr, err := e.helper(e.hostLine(), "get")
			took := time.Since(start)
			polls := e.srv.Requests(relTokenPath)
			rc.Measured("helper get: exit %d in %.2f s after %d poll(s), password %v", relExitCode(err), took.Seconds(), polls, strings.Contains(out, "password=ghu_"))
			if err != nil || !strings.Contains(out, "password=ghu_") {
				t.Fatalf("get failed: %v\n%s", err, relHide(stderr))
			}
			if polls != 1 {
				t.Errorf("%d polls, want 1 after the 5 s default interval", polls)
			}
			if took < 4*time.Second {
				t.Errorf("the first poll came after %v, sooner than the 5 s default", took)
			}
		})
	}
}

// TestFaultUserAfterFlowThenNothingCached: /user fails once the device
// flow has succeeded: the helper cannot tell git whose token it is, so it
// must not keep it.
func TestFaultUserAfterFlowThenNothingCached(t *testing.T) {
	t.Parallel()
	e := newEnv(t, faultStore, githubtest.Options{})
	rc := e.relCase("fault injection", "/user endpoint: 401 right after a successful device flow", fmt.Sprintf(relFailContract, relNoHang))
	e.srv.Intercept(faultOnce(relUserPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`)
	}))
	line := e.relFailedGet(rc, relNoHang, "signed in, but could not learn the account", "401")
	if len(e.srv.IssuedTokens()) == 0 {
		t.Error("the device flow did not get as far as a token")
	}
	e.relGitFails(rc, relNoHang, line)
	e.relFreshFlowAfter(rc)
}

// TestFaultClockSkew: the stand-in's clock runs hours away from this
// machine's. Lifetimes travel as durations (expires_in), so the token
// must still work and expire 8 h from now by this machine's clock.
func TestFaultClockSkew(t *testing.T) {
	for _, skew := range []time.Duration{3 * time.Hour, -3 * time.Hour} {
		t.Run(fmt.Sprintf("server clock %+v", skew), func(t *testing.T) {
			if skew < 0 {
				relFullOnly(t) // the same path as a clock ahead
			}
			t.Parallel()
			e := newEnv(t, faultStore, githubtest.Options{Now: func() time.Time { return time.Now().Add(skew) }})
			rc := e.relCase("fault injection", fmt.Sprintf("clock skew: server clock %+.0f h off", skew.Hours()),
				"sign-in succeeds; password_expiry_utc is 8 h ahead by this machine's clock; git clones; the next get answers from the cache")
			out, stderr, err := e.helper(e.hostLine(), "get")
			if err != nil {
				t.Fatalf("get: %v\n%s", err, relHide(stderr))
			}
			var expiry int64
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				fmt.Sscanf(sc.Text(), "password_expiry_utc=%d", &expiry)
			}
			left := time.Until(time.Unix(expiry, 0))
			rc.Measured("helper get: exit 0, token expires in %.2f h by the local clock", left.Hours())
			if left < 7*time.Hour || left > 8*time.Hour+time.Minute {
				t.Errorf("token expires in %v by the local clock, want about 8 h", left)
			}
			e.clone("octocat/hello")
			again, _, _ := e.helper(e.hostLine(), "get")
			if again != out || e.codes() != 1 {
				t.Errorf("get after the clone did not answer from the cache (%d codes)", e.codes())
			}
			rc.Measured("git clone ok; %d device code(s) in all", e.codes())
		})
	}
}
