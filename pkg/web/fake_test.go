package web

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/status"
)

// fakeToken is a token the fake backend holds; no answer may contain it.
const fakeToken = "ghu_FakeTokenTheBackendKnows0123456789"

// fake is a Backend that keeps its state in memory. Login creates a
// pending code; Approve turns it into an account, as a person entering
// the code would.
type fake struct {
	mu       sync.Mutex
	hosts    []string
	accounts []status.Account
	pending  []status.Pending
	tokens   map[string]string // login → token, never shown
	err      error             // when set, every call fails with it
	logins   []string          // hosts Login was called with
	logouts  []string          // "host login" Logout was called with
}

func newFake() *fake {
	return &fake{
		hosts:  []string{"https://github.com", "https://ghe.example.org"},
		tokens: map[string]string{},
	}
}

func (f *fake) Status(context.Context) (*status.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	r := &status.Report{Accounts: []status.Account{}, Pending: []status.Pending{}}
	now := time.Now()
	for _, a := range f.accounts {
		a.ExpiresInSeconds = max(0, int64(a.ExpiresAt.Sub(now)/time.Second))
		r.Accounts = append(r.Accounts, a)
	}
	r.Pending = append(r.Pending, f.pending...)
	return r, nil
}

func (f *fake) Hosts(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return append([]string(nil), f.hosts...), nil
}

func (f *fake) Login(_ context.Context, host string) (status.Pending, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins = append(f.logins, host)
	if f.err != nil {
		return status.Pending{}, f.err
	}
	url := host
	if !strings.Contains(host, "://") {
		url = "https://" + host
	}
	for _, p := range f.pending {
		if p.URL == url {
			return p, nil // join the sign-in already running
		}
	}
	name := strings.TrimPrefix(url, "https://")
	if !strings.HasPrefix(name, "github.com") && !strings.HasPrefix(name, "ghe.example.org") {
		return status.Pending{}, BadRequest(errors.New(name + " is not served"))
	}
	p := status.Pending{
		Host:            name,
		URL:             url,
		UserCode:        "WDJB-MJHT",
		VerificationURI: url + "/login/device",
		ExpiresAt:       time.Now().Add(15 * time.Minute).UTC().Truncate(time.Second),
	}
	f.pending = append(f.pending, p)
	return p, nil
}

func (f *fake) Logout(_ context.Context, host, login string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logouts = append(f.logouts, host+" "+login)
	if f.err != nil {
		return f.err
	}
	kept := f.accounts[:0]
	found := false
	for _, a := range f.accounts {
		if a.URL == host && (login == "" || a.Login == login) {
			found = true
			delete(f.tokens, a.Login)
			continue
		}
		kept = append(kept, a)
	}
	f.accounts = kept
	if !found {
		return NotFound(errors.New("no such account"))
	}
	return nil
}

// Approve signs login in on the pending sign-in for url: the account can
// reach two repositories through one installation.
func (f *fake) Approve(url, login string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, p := range f.pending {
		if p.URL != url {
			continue
		}
		f.pending = append(f.pending[:i], f.pending[i+1:]...)
		f.tokens[login] = fakeToken
		f.accounts = append(f.accounts, account(p.Host, p.URL, login))
		return true
	}
	return false
}

func account(host, url, login string) status.Account {
	return status.Account{
		Host:       host,
		URL:        url,
		Login:      login,
		Store:      "memory",
		ExpiresAt:  time.Now().Add(8 * time.Hour).UTC().Truncate(time.Second),
		AppSlug:    "octo-hub-git",
		InstallURL: url + "/apps/octo-hub-git/installations/new",
		Installations: []status.Installation{{
			ID:                  42,
			Account:             "octo-org",
			AccountType:         "Organization",
			RepositorySelection: "selected",
			Permissions:         map[string]string{"contents": "write", "metadata": "read"},
			Repositories:        []string{"octo-org/analysis", "octo-org/course-notes"},
		}},
	}
}

func (f *fake) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fake) calls() (logins, logouts []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.logins...), append([]string(nil), f.logouts...)
}
