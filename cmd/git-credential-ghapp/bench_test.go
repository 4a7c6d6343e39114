package main

// The cache-hit benchmark: whole processes answering the same get, timed
// side by side. It is measured, never asserted; scripts/bench.sh runs it
// and prints the table and the ratios against the targets.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/memory"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/tmpfs"
)

// contender is one program answering git's get.
type contender struct {
	name  string // the metric name: <name>-ms
	argv  []string
	env   []string
	want  string          // a line its answer must hold, so that only real hits are timed
	stdin string          // git's request; "" for the plain one
	took  []time.Duration // wall clock, start to exit
	cpu   []time.Duration // user and system time of the process and its children
}

// BenchmarkCacheHit times one get of https://github.com, answered from a
// primed cache, by git-credential-ghapp with the memory and the tmpfs store,
// by git's credential-cache and credential-store, and by the floor: a static
// Go program that links net/http and answers without looking anything up.
// Each iteration runs every contender once, in a fresh random order, so that
// noise on the machine falls on all of them alike; the reported figures are
// medians over the iterations (run with e.g. -benchtime=200x) and their
// ratios. The CPU time each process used is reported too: a busy machine
// moves it less than the wall clock. Two more rows explain the
// figures: a Go program without net/http, and the helper started the way
// credential.helper=ghapp starts it, through the git command.
func BenchmarkCacheHit(b *testing.B) {
	git, err := exec.LookPath("git")
	if err != nil {
		b.Skip("git is not installed")
	}
	helper := filepath.Join(binDir, "git-credential-ghapp")
	bins := b.TempDir()
	floor := goBuild(b, bins, "../../testdata/bench/floor")
	bare := goBuild(b, bins, "../../testdata/bench/bare")
	libs := goBuild(b, bins, "../../testdata/bench/libs")

	home := b.TempDir()
	base := []string{"PATH=" + binDir + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "GIT_CONFIG_NOSYSTEM=1", "LANG=C"}
	const request = "protocol=https\nhost=github.com\n\n"
	secret := fakeToken()
	password := "password=" + secret + "\n"

	// The helper's stores are primed through the store packages, as a
	// sign-in would leave them; the daemon is the built helper itself.
	tok := store.Token{
		Origin:      "https://github.com",
		Login:       testUser,
		AccessToken: secret,
		Expiry:      time.Now().Add(8 * time.Hour),
		MinLifetime: 5 * time.Minute,
		API:         "https://api.github.com",
		ClientID:    "Iv23liBenchmark00001",
		Minted:      time.Now(),
	}
	memDir, fileDir := shmRuntime(b), shmRuntime(b)
	mem, err := memory.Open(memDir, memory.Options{Daemon: []string{helper, "daemon"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mem.Stop() })
	if err := mem.Put(tok); err != nil {
		b.Fatalf("priming the memory store: %v", err)
	}
	// A token whose reach is long out of date, on a server whose API takes
	// connections and never answers: a hit must not wait for it.
	hang := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	b.Cleanup(func() { close(hang); api.Close() })
	stale := tok
	stale.Origin, stale.API = "https://stale.example.com", api.URL
	stale.Reach = &store.Reach{Checked: time.Now().Add(-24 * time.Hour), AppSlug: "bench", Repos: []string{"octocat/hello"}}
	if err := mem.Put(stale); err != nil {
		b.Fatalf("priming the memory store: %v", err)
	}
	files, err := tmpfs.Open(fileDir, false)
	if err != nil {
		b.Fatal(err)
	}
	if err := files.Put(tok); err != nil {
		b.Fatalf("priming the tmpfs store: %v", err)
	}

	// git's helpers are primed through their own store operation.
	gitDir := shmRuntime(b)
	if err := os.Mkdir(gitDir, 0o700); err != nil {
		b.Fatal(err)
	}
	cacheArgs := []string{git, "credential-cache", "--socket", filepath.Join(gitDir, "cache.sock"), "--timeout", "3600"}
	storeArgs := []string{git, "credential-store", "--file", filepath.Join(gitDir, "credentials")}
	approve := "protocol=https\nhost=github.com\nusername=" + testUser + "\n" + password + "\n"
	for _, argv := range [][]string{cacheArgs, storeArgs} {
		if _, _, err := runOnce(append(argv, "store"), base, approve); err != nil {
			b.Fatalf("%s store: %v", argv[1], err)
		}
	}
	b.Cleanup(func() { runOnce(append(cacheArgs, "exit"), base, "") })

	helperEnv := func(st, dir string) []string {
		return append(slices.Clone(base), "GHAPP_STORE="+st, "GHAPP_RUNTIME_DIR="+dir)
	}
	cs := []*contender{
		{name: "memory", argv: []string{helper, "get"}, env: helperEnv("memory", memDir), want: password},
		{name: "tmpfs", argv: []string{helper, "get"}, env: helperEnv("tmpfs", fileDir), want: password},
		{name: "cache", argv: append(cacheArgs, "get"), env: base, want: password},
		{name: "store", argv: append(storeArgs, "get"), env: base, want: password},
		{name: "floor", argv: []string{floor, "get"}, env: base, want: "password=floor\n"},
		{name: "bare", argv: []string{bare, "get"}, env: base, want: "password=floor\n"},
		{name: "libs", argv: []string{libs, "get"}, env: base, want: "password=floor\n"},
		{name: "viagit", argv: []string{git, "credential-ghapp", "get"}, env: helperEnv("memory", memDir), want: password},
		{name: "stale", argv: []string{helper, "get"}, env: helperEnv("memory", memDir), want: password,
			stdin: "protocol=https\nhost=stale.example.com\npath=octocat/hello.git\n\n"},
	}
	// One untimed round: every answer is checked before any is timed, and
	// the binaries are in the page cache.
	for _, c := range cs {
		if c.stdin == "" {
			c.stdin = request
		}
		c.run(b)
		c.took, c.cpu = nil, nil
	}
	for b.Loop() {
		for _, i := range mrand.Perm(len(cs)) {
			cs[i].run(b)
		}
	}
	b.StopTimer()
	rounds := len(cs[0].took)

	// The log keeps to the 10 lines the testing package shows of it.
	med := map[string]float64{}
	var table strings.Builder
	fmt.Fprintf(&table, "%d rounds, ms per get: wall p10, median, p90; CPU median\n", rounds)
	for _, c := range cs {
		p10, p50, p90 := percentiles(c.took)
		_, cpu, _ := percentiles(c.cpu)
		med[c.name] = p50
		fmt.Fprintf(&table, "%-8s %8.3f %8.3f %8.3f %8.3f\n", c.name, p10, p50, p90, cpu)
		b.ReportMetric(p50, c.name+"-ms")
		b.ReportMetric(cpu, c.name+"-cpu-ms")
	}
	b.Log(strings.TrimSuffix(table.String(), "\n"))
	for _, r := range [][2]string{{"memory", "cache"}, {"tmpfs", "cache"}, {"memory", "floor"}, {"tmpfs", "floor"}, {"memory", "libs"}, {"tmpfs", "libs"}, {"memory", "tmpfs"}, {"stale", "memory"}, {"floor", "cache"}} {
		b.ReportMetric(med[r[0]]/med[r[1]], r[0]+"/"+r[1])
	}
	b.ReportMetric(0, "ns/op") // a round of seven programs means nothing
}

// run starts c once, checks its answer and records what it took.
func (c *contender) run(b *testing.B) {
	start := time.Now()
	out, cpu, err := runOnce(c.argv, c.env, c.stdin)
	took := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v", c.name, err)
	}
	if !strings.Contains(out, c.want) {
		// Not quoted: the answer holds the token.
		b.Fatalf("%s did not answer from its cache (%d bytes of answer)", c.name, len(out))
	}
	c.took = append(c.took, took)
	c.cpu = append(c.cpu, cpu)
}

// runOnce runs argv with env and stdin, and returns its standard output and
// the CPU time it used.
func runOnce(argv, env []string, stdin string) (string, time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return "", 0, err
	}
	kill := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() }) // nothing here should hang
	defer kill.Stop()
	if err := cmd.Wait(); err != nil {
		return "", 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(errb.String()))
	}
	return out.String(), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
}

// goBuild builds the program in pkg as the helper is built, static.
func goBuild(b *testing.B, dir, pkg string) string {
	b.Helper()
	exe := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", exe, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building %s: %v\n%s", pkg, err, out)
	}
	return exe
}

// shmRuntime makes a private directory on tmpfs, short enough for a socket.
func shmRuntime(b *testing.B) string {
	b.Helper()
	parent, err := os.MkdirTemp("/dev/shm", "ghapp-bench-")
	if err != nil {
		b.Skipf("no /dev/shm here: %v", err)
	}
	b.Cleanup(func() { os.RemoveAll(parent) })
	return filepath.Join(parent, "rt")
}

// fakeToken looks like a user access token and opens nothing.
func fakeToken() string {
	r := make([]byte, 18)
	rand.Read(r)
	return "ghu_" + hex.EncodeToString(r)
}

// percentiles returns the 10th, 50th and 90th percentiles of d in ms.
func percentiles(d []time.Duration) (p10, p50, p90 float64) {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) float64 {
		return float64(s[int(q*float64(len(s)-1)+0.5)]) / float64(time.Millisecond)
	}
	return at(0.10), at(0.50), at(0.90)
}
