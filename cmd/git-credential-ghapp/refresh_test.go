package main

// Opt-in refresh (ghapp.refresh): the memory daemon renews the token
// before it expires, without a device code, until ghapp.refreshFor after
// the last device flow.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
)

func TestRefreshRenewsUntilRefreshFor(t *testing.T) {
	e := newEnv(t, "memory", githubtest.Options{TokenLifetime: 4 * time.Second})
	e.gitConfig("ghapp.refresh", "true")
	e.gitConfig("ghapp.refreshFor", "8s")
	e.gitConfig("ghapp.minLifetime", "1s")
	start := time.Now()
	first, stderr, err := e.helper(e.hostLine(), "get")
	if err != nil {
		t.Fatalf("get: %v\n%s", err, stderr)
	}
	time.Sleep(5 * time.Second) // past the first token's expiry
	renewed, stderr, err := e.helper(e.hostLine(), "get")
	if err != nil || !strings.Contains(renewed, "password=ghu_") {
		t.Fatalf("get after expiry: %v\n%s", err, stderr)
	}
	if renewed == first {
		t.Fatal("the token was not renewed")
	}
	if e.codes() != 1 {
		t.Fatalf("%d device codes; the daemon should have renewed without one", e.codes())
	}
	if !strings.Contains(renewed, "username=octocat\n") {
		t.Errorf("the renewed token lost its account: %q", strings.SplitN(renewed, "\n", 2)[0])
	}
	// Past refreshFor, renewal stops: the token runs out and a person signs in again.
	time.Sleep(time.Until(start.Add(8*time.Second + 4*time.Second + 500*time.Millisecond)))
	if _, stderr, err := e.helper(e.hostLine(), "get"); err != nil {
		t.Fatalf("get after refreshFor: %v\n%s", err, stderr)
	}
	if e.codes() != 2 {
		t.Errorf("%d device codes; want a new sign-in once refreshFor passed", e.codes())
	}
}

func TestRefreshNeedsTheMemoryStore(t *testing.T) {
	e := newEnv(t, "tmpfs", githubtest.Options{})
	e.gitConfig("ghapp.refresh", "true")
	_, stderr, err := e.helper(e.hostLine(), "get")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "ghapp.refresh needs the memory store") {
		t.Errorf("no word that refresh is off for the tmpfs store:\n%s", stderr)
	}
	// The access token is in the tmpfs store's file; the refresh token
	// must be in no file at all.
	files, _ := filepath.Glob(filepath.Join(e.runtime, "*"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		for _, tok := range e.srv.IssuedTokens() {
			if strings.HasPrefix(tok, "ghr_") && strings.Contains(string(data), tok) {
				t.Errorf("the refresh token is in %s", f)
			}
		}
	}
}
