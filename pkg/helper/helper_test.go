package helper

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/credential"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubtest"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/prompt"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

// fakeStore is a store.Store in a map, with the list rules of the real ones.
type fakeStore struct {
	mu      sync.Mutex
	toks    []store.Token
	gets    int
	broken  error // every call fails with it
	lockErr error // Lock fails with it
}

func (f *fakeStore) Get(o, login string) (store.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if f.broken != nil {
		return store.Token{}, f.broken
	}
	return store.Pick(f.toks, o, login)
}

func (f *fakeStore) Put(t store.Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	toks, err := store.Replace(f.toks, t)
	f.toks = toks
	return err
}

func (f *fakeStore) Delete(o, login string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.toks = store.Drop(f.toks, o, login)
	return nil
}

func (f *fakeStore) List() ([]store.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.Token(nil), f.toks...), f.broken
}

func (f *fakeStore) Lock(context.Context, string, string) (func(), error) {
	if f.lockErr != nil {
		return nil, f.lockErr
	}
	return func() {}, nil
}

// fakeDaemon is a fakeStore that runs sign-ins in the background, as the
// memory daemon does: StartSignIn hands out one code, WaitSignIn mints.
type fakeDaemon struct {
	fakeStore
	code    store.SignIn
	starts  int
	minted  store.Token
	waitErr error
	// meanwhile, when set, is kept by a sign-in that ends just before
	// StartSignIn's turn.
	meanwhile store.Token
}

func (f *fakeDaemon) StartSignIn(_ context.Context, req store.SignInRequest) (store.SignIn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.meanwhile.AccessToken != "" {
		f.toks, _ = store.Replace(f.toks, f.meanwhile)
		return store.SignIn{}, store.ErrSignedIn
	}
	f.starts++
	c := f.code
	c.Origin, c.Login = req.Origin, req.Login
	return c, nil
}

func (f *fakeDaemon) WaitSignIn(context.Context, string, string) (store.Token, error) {
	if f.waitErr != nil {
		return store.Token{}, f.waitErr
	}
	return f.minted, f.Put(f.minted)
}

func (f *fakeDaemon) PendingSignIns() ([]store.SignIn, error) { return []store.SignIn{f.code}, nil }

// rig is one helper wired to fakes: stores by name, settings by the test,
// a fake clock, and the stand-in for anything that signs in.
type rig struct {
	t        *testing.T
	h        *Helper
	srv      *githubtest.Server
	clock    *testsupport.Clock
	stores   map[string]store.Store
	daemon   *fakeDaemon // the "memory" store
	settings config.Settings
	// settingsErr is what Settings returns with settings: configuration
	// that could not be read or did not check out.
	settingsErr error
	reads       int // Settings calls
	opened      []string
	stdout      bytes.Buffer
	stderr      testsupport.SyncBuffer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, clock: testsupport.NewClock(), stores: map[string]store.Store{}}
	r.clock.Set(time.Now())
	r.srv = githubtest.NewServer(githubtest.Options{Interval: 1, AppSlug: "octo-app", Now: r.clock.Now})
	t.Cleanup(r.srv.Close)
	r.srv.AddUser("octocat")
	r.srv.AddUser("hubot")
	if err := r.srv.AddRepo("octocat/hello"); err != nil {
		t.Fatal(err)
	}
	r.srv.Install("octocat", "octocat", "octocat/hello")
	r.settings = config.Settings{
		ClientID: r.srv.ClientID(), HostConfigured: true, Interactive: true,
		MinLifetime: time.Minute, Store: "auto", RefreshFor: time.Hour, BackgroundSignIn: true,
	}
	r.h = &Helper{
		Settings: func(string) (config.Settings, error) { r.reads++; return r.settings, r.settingsErr },
		Stores: func(name string, _ bool) (store.Store, error) {
			r.opened = append(r.opened, name)
			if r.stores[name] == nil {
				r.stores[name] = &fakeStore{}
				if name == "memory" {
					r.daemon = &fakeDaemon{code: store.SignIn{UserCode: "WDJB-MJHT", VerificationURI: "https://example.com/login/device", Expiry: r.clock.Now().Add(15 * time.Minute)}}
					r.stores[name] = r.daemon
				}
			}
			return r.stores[name], nil
		},
		Stdout: &r.stdout,
		Stderr: &r.stderr,
		Screen: func() *prompt.Screen { return prompt.Plain(&r.stderr) },
		Now:    r.clock.Now,
		// The flow's waits move the clock the stand-in keeps too.
		Sleep: func(_ context.Context, d time.Duration) error { r.clock.Advance(d); return nil },
	}
	return r
}

// origin is the stand-in's origin, where tokens in these tests live.
func (r *rig) origin() string { return r.srv.URL }

func (r *rig) host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// keep puts a token for login into the store called name.
func (r *rig) keep(name, login, secret string, life time.Duration) {
	r.h.Stores(name, false)
	r.stores[name].Put(store.Token{
		Origin: r.origin(), Login: login, AccessToken: secret, API: r.srv.URL + "/api/v3",
		Expiry: r.clock.Now().Add(life), MinLifetime: time.Minute, Minted: r.clock.Now(),
	})
	r.opened = nil
}

func (r *rig) get(t *testing.T, req string) (credential.Answer, error) {
	t.Helper()
	parsed, err := credential.Read(strings.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	err = r.h.Get(context.Background(), parsed)
	return parseAnswer(r.stdout.String()), err
}

func parseAnswer(out string) credential.Answer {
	var a credential.Answer
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "username":
			a.Username = v
		case "password":
			a.Password = v
		}
	}
	return a
}

func TestGet(t *testing.T) {
	const secret = "ghu_kept000000000000000000000000000000"
	for _, tt := range []struct {
		name    string
		setup   func(r *rig)
		req     func(r *rig) string
		wantPW  string // "" for no answer; "new" for a freshly minted token; "quit" for quit=1
		wantErr string
		stderr  string // a piece stderr must hold
		reads   int    // Settings calls; -1 for any
	}{
		{
			name:   "hit answers without reading configuration",
			setup:  func(r *rig) { r.keep("auto", "octocat", secret, time.Hour) },
			wantPW: secret, reads: 0,
		},
		{
			name: "hit by the remote URL's user name, in any case",
			setup: func(r *rig) {
				r.keep("auto", "octocat", secret, time.Hour)
				r.keep("auto", "hubot", "ghu_other", time.Hour)
			},
			req:    func(r *rig) string { return "protocol=http\nhost=" + r.host() + "\nusername=OctoCat\n" },
			wantPW: secret, reads: 0,
		},
		{
			name: "expired token is a miss",
			setup: func(r *rig) {
				r.keep("auto", "octocat", secret, time.Hour)
				r.clock.Advance(2 * time.Hour)
				r.settings.Interactive = false
			},
			stderr: "prompting is off", reads: 1, wantPW: "quit",
		},
		{
			name: "token within minLifetime of its expiry is a miss",
			setup: func(r *rig) {
				r.keep("auto", "octocat", secret, 30*time.Second)
				r.settings.Interactive = false
			},
			stderr: "prompting is off", reads: 1, wantPW: "quit",
		},
		{
			name:  "unserved host gets no answer and no word",
			setup: func(r *rig) { r.settings.HostConfigured = false },
			reads: 1,
		},
		{
			name:  "plain http to another machine is never served",
			req:   func(r *rig) string { return "protocol=http\nhost=example.com\n" },
			reads: 0,
		},
		{
			name:    "no client ID is one line naming every source, and quit",
			setup:   func(r *rig) { r.settings.ClientID = "" },
			wantErr: "no GitHub App client ID for ", reads: 1, wantPW: "quit",
		},
		{
			name:   "non-interactive says how to sign in",
			setup:  func(r *rig) { r.settings.Interactive = false },
			stderr: "sign in with: git-credential-ghapp login --host http://", reads: 1, wantPW: "quit",
		},
		{
			name:   "non-interactive with the daemon shows its code and quits",
			setup:  func(r *rig) { r.settings.Interactive, r.settings.Store = false, "memory" },
			stderr: "enter the code WDJB-MJHT (valid until ", reads: 1, wantPW: "quit",
		},
		{
			name: "non-interactive gives the sign-in page, for this user",
			setup: func(r *rig) {
				r.settings.Interactive, r.settings.Store = false, "memory"
				r.settings.WebURL = "https://hub.example.org/user/{user}/ghapp/"
				t.Setenv("JUPYTERHUB_USER", "ada lovelace")
			},
			stderr: "or sign in on the page https://hub.example.org/user/ada%20lovelace/ghapp/", reads: 1, wantPW: "quit",
		},
		{
			name: "after a denial the next get says so",
			setup: func(r *rig) {
				r.settings.Interactive, r.settings.Store = false, "memory"
				r.h.Stores("memory", false)
				r.daemon.code.Ended = "access denied: the sign-in was cancelled"
			},
			stderr: "did not finish: access denied", reads: 1, wantPW: "quit",
		},
		{
			name: "a sign-in that ends between the look and the daemon's turn answers, without a new code",
			setup: func(r *rig) {
				r.settings.Interactive, r.settings.Store = false, "memory"
				r.h.Stores("memory", false)
				r.daemon.meanwhile = store.Token{Origin: r.origin(), Login: "octocat", AccessToken: "ghu_meanwhile", Expiry: r.clock.Now().Add(time.Hour), Minted: r.clock.Now()}
			},
			wantPW: "ghu_meanwhile", reads: 1,
		},
		{
			name: "ghapp.backgroundSignIn=false only says how to sign in",
			setup: func(r *rig) {
				r.settings.Interactive, r.settings.Store, r.settings.BackgroundSignIn = false, "memory", false
			},
			stderr: "prompting is off", reads: 1, wantPW: "quit",
		},
		{
			name: "interactive with the daemon shows its code and waits for its token",
			setup: func(r *rig) {
				r.settings.Store = "memory"
				r.h.Stores("memory", false)
				r.daemon.minted = store.Token{Origin: r.origin(), Login: "octocat", AccessToken: "ghu_fromthedaemon", Expiry: r.clock.Now().Add(time.Hour), Minted: r.clock.Now()}
			},
			wantPW: "ghu_fromthedaemon", stderr: "signed in to", reads: 1,
		},
		{
			name: "ghapp.store names the store that holds the token",
			setup: func(r *rig) {
				r.settings.Store = "keyring"
				r.keep("keyring", "octocat", secret, time.Hour)
			},
			wantPW: secret, reads: 1,
		},
		{
			name: "a store that cannot be read fails before any sign-in, and quits",
			setup: func(r *rig) {
				r.h.Stores("auto", false)
				r.stores["auto"].(*fakeStore).broken = errors.New("token file is a symlink")
			},
			wantErr: "symlink", reads: 1, wantPW: "quit",
		},
		{
			name: "a store that cannot be read, for an unserved host, is said with no answer",
			setup: func(r *rig) {
				r.h.Stores("auto", false)
				r.stores["auto"].(*fakeStore).broken = errors.New("token file is a symlink")
				r.settings.HostConfigured = false
			},
			wantErr: "symlink", reads: 1,
		},
		{
			name:    "configuration that does not check out, for a served host, quits",
			setup:   func(r *rig) { r.settingsErr = errors.New(`ghapp.minLifetime "soon" is not a duration`) },
			wantErr: "is not a duration", reads: 1, wantPW: "quit",
		},
		{
			name: "configuration that cannot be read, for a host it cannot tell, answers nothing",
			setup: func(r *rig) {
				r.settings, r.settingsErr = config.Settings{}, errors.New("reading ghapp.* settings with git config failed")
			},
			wantErr: "git config failed", reads: 1,
		},
		{
			name: "a refused sign-in lock quits",
			setup: func(r *rig) {
				r.h.Stores("auto", false)
				r.stores["auto"].(*fakeStore).lockErr = errors.New("lock file is a symlink")
			},
			wantErr: "cannot take the sign-in lock", reads: 1, wantPW: "quit",
		},
		{
			name:    "a denied sign-in quits",
			setup:   func(r *rig) { r.srv.AutoDeny(true) },
			wantErr: "access denied", reads: 1, wantPW: "quit",
		},
		{
			name: "an expired code quits",
			setup: func(r *rig) {
				r.srv = githubtest.NewServer(githubtest.Options{Interval: 1, CodeLifetime: 1500 * time.Millisecond, Now: r.clock.Now})
				r.t.Cleanup(r.srv.Close)
			},
			wantErr: "expired", reads: 1, wantPW: "quit",
		},
		{
			name:    "a wrong client ID quits",
			setup:   func(r *rig) { r.settings.ClientID = "Iv23liNotThisApp" },
			wantErr: "client ID not recognized", reads: 1, wantPW: "quit",
		},
		{
			name:    "a server that cannot be reached quits",
			setup:   func(r *rig) { r.srv.Close() },
			wantErr: "cannot reach", reads: 1, wantPW: "quit",
		},
		{
			name: "a failed background sign-in quits",
			setup: func(r *rig) {
				r.settings.Store = "memory"
				r.h.Stores("memory", false)
				r.daemon.waitErr = errors.New("access denied: the sign-in was cancelled")
			},
			wantErr: "access denied", reads: 1, wantPW: "quit",
		},
		{
			name:   "sign-in mints, keeps and answers",
			setup:  func(r *rig) { r.srv.AutoApprove("octocat") },
			wantPW: "new", stderr: "signed in to", reads: 1,
		},
		{
			name:    "sign-in as another account than the URL names",
			setup:   func(r *rig) { r.srv.AutoApprove("hubot") },
			req:     func(r *rig) string { return "protocol=http\nhost=" + r.host() + "\nusername=octocat\n" },
			wantErr: "signed in as hubot, but the remote URL asks for octocat", reads: 1, wantPW: "quit",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			if tt.setup != nil {
				tt.setup(r)
			}
			req := "protocol=http\nhost=" + r.host() + "\n"
			if tt.req != nil {
				req = tt.req(r)
			}
			a, err := r.get(t, req)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error: %s", testsupport.Redact(err.Error()))
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			switch tt.wantPW {
			case "quit":
				if r.stdout.String() != "quit=1\n" {
					t.Errorf("answered %q, want quit=1 alone", testsupport.Redact(r.stdout.String()))
				}
			case "":
				if r.stdout.Len() != 0 {
					t.Errorf("answered %q, want nothing", testsupport.Redact(r.stdout.String()))
				}
			case "new":
				if !strings.HasPrefix(a.Password, "ghu_") || a.Password == secret {
					t.Errorf("answered %q, want a freshly minted token", testsupport.Redact(a.Password))
				}
			default:
				if a.Password != tt.wantPW {
					t.Errorf("answered %q, want %q", testsupport.Redact(a.Password), testsupport.Redact(tt.wantPW))
				}
			}
			if !strings.Contains(r.stderr.String(), tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, testsupport.Redact(r.stderr.String()))
			}
			if tt.stderr == "" && tt.wantErr == "" && tt.wantPW == "" && r.stderr.String() != "" {
				t.Errorf("unexpected stderr:\n%s", testsupport.Redact(r.stderr.String()))
			}
			if tt.reads >= 0 && r.reads != tt.reads {
				t.Errorf("read configuration %d times, want %d", r.reads, tt.reads)
			}
		})
	}
}

// A sign-in keeps the token with what it can reach, capped at 8 hours
// whatever the server says, and a later get is a hit.
func TestSignInKeepsACappedTokenWithItsReach(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.srv.AutoApprove("octocat")
	r.srv.SetTokenLifetime(10 * 365 * 24 * time.Hour)
	a, err := r.get(t, "protocol=http\nhost="+r.host()+"\n")
	if err != nil {
		t.Fatal(testsupport.Redact(err.Error()))
	}
	toks, _ := r.stores["auto"].List()
	if len(toks) != 1 || toks[0].AccessToken != a.Password {
		t.Fatalf("kept %d tokens, want the one answered", len(toks))
	}
	tok := toks[0]
	if limit := r.clock.Now().Add(MaxTokenLife); tok.Expiry.After(limit) {
		t.Errorf("expiry %v is past now + 8h (%v)", tok.Expiry, limit)
	}
	if tok.Reach == nil || len(tok.Reach.Repos) != 1 || tok.Reach.Repos[0] != "octocat/hello" || tok.Reach.AppSlug != "octo-app" {
		t.Errorf("reach %+v, want octocat/hello through octo-app", tok.Reach)
	}
	if tok.Login != "octocat" || tok.Origin != r.origin() {
		t.Errorf("kept %s at %s", tok.Login, tok.Origin)
	}
	r.stdout.Reset()
	calls := r.srv.Requests("/api/v3/user/installations")
	if b, err := r.get(t, "protocol=http\nhost="+r.host()+"\npath=someone/else.git\n"); err != nil || b.Password != a.Password {
		t.Fatalf("second get: %v", err)
	}
	if r.srv.Requests("/api/v3/user/installations") != calls {
		t.Error("a cache hit asked the server where the token reaches")
	}
	if !strings.Contains(r.stderr.String(), "someone/else is not among the repositories") {
		t.Errorf("no reach warning for a repository outside it:\n%s", r.stderr.String())
	}
}

// A login the server sends that is not an account name is never kept.
func TestSignInRefusesAnInvalidLogin(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.srv.AutoApprove("octo\nquit=1")
	_, err := r.get(t, "protocol=http\nhost="+r.host()+"\n")
	if err == nil || !strings.Contains(err.Error(), "not a valid account name") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q, want one line refusing the login", err)
	}
	if toks, _ := r.stores["auto"].List(); len(toks) != 0 {
		t.Errorf("kept %d tokens", len(toks))
	}
}

func TestErase(t *testing.T) {
	const secret = "ghu_kept000000000000000000000000000000"
	for _, tt := range []struct {
		name string
		req  string
		kept bool
	}{
		{"another helper's password leaves the token", "password=ghu_foreign\n", true},
		{"the token's own password forgets it", "password=" + secret + "\n", false},
		{"with the user name in another case", "username=OCTOCAT\npassword=" + secret + "\n", false},
		{"another account's user name leaves it", "username=hubot\npassword=" + secret + "\n", true},
		{"protocol and host alone forget every account", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			r.keep("auto", "octocat", secret, time.Hour)
			req, err := credential.Read(strings.NewReader("protocol=http\nhost=" + r.host() + "\n" + tt.req))
			if err != nil {
				t.Fatal(err)
			}
			if err := r.h.Erase(req); err != nil {
				t.Fatal(err)
			}
			toks, _ := r.stores["auto"].List()
			if kept := len(toks) == 1; kept != tt.kept {
				t.Errorf("kept = %v, want %v", kept, tt.kept)
			}
		})
	}
}

func TestLogoutOfOneAccount(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.srv.AutoApprove("octocat")
	if _, err := r.get(t, "protocol=http\nhost="+r.host()+"\n"); err != nil {
		t.Fatal(err)
	}
	r.keep("auto", "hubot", "ghu_hubot", time.Hour)
	o, _ := origin.ParseURL(r.origin())
	r.stdout.Reset()
	if err := r.h.Logout(context.Background(), &o, "OctoCat"); err != nil {
		t.Fatal(err)
	}
	toks, _ := r.stores["auto"].List()
	if len(toks) != 1 || toks[0].Login != "hubot" {
		t.Errorf("left %+v, want only hubot", toks)
	}
	if out := r.stdout.String(); !strings.Contains(out, "signed out of "+r.host()+" (octocat); the token is revoked") {
		t.Errorf("logout said %q", out)
	}
}

// The one store decision: the flag, then ghapp.store, then the default.
func TestOpenStoreDecides(t *testing.T) {
	r := newRig(t)
	for _, tt := range []struct{ flag, configured, want string }{
		{"", "auto", "auto"},
		{"", "tmpfs", "tmpfs"},
		{"memory", "tmpfs", "memory"},
		{"", "", "auto"},
	} {
		r.h.StoreFlag, r.settings.Store = tt.flag, tt.configured
		if _, name, err := r.h.OpenStore(nil); err != nil || name != tt.want {
			t.Errorf("flag %q, ghapp.store %q: opened %q (%v), want %q", tt.flag, tt.configured, name, err, tt.want)
		}
	}
}

func TestHours(t *testing.T) {
	for d, want := range map[time.Duration]string{
		8 * time.Hour:                  "8h",
		8*time.Hour - 20*time.Second:   "8h",
		7*time.Hour + 42*time.Minute:   "7h42m",
		5*time.Minute + 10*time.Second: "5m",
		0:                              "0m",
	} {
		if got := Hours(d); got != want {
			t.Errorf("Hours(%v) = %q, want %q", d, got, want)
		}
	}
}

// With ghapp.appUrl set, every line that sends a person to the app names
// its install page: the prompt (which names the app by its name), the
// signed-in line and a hit's warning when no installation names the app,
// and the lines of a background sign-in.
func TestAppURLGivesTheInstallLink(t *testing.T) {
	t.Parallel()
	const appURL = "https://github.com/apps/octo-hub"
	const link = appURL + "/installations/new"
	r := newRig(t)
	r.srv.AddUser("newbie") // installed nowhere
	r.srv.AutoApprove("newbie")
	r.settings.AppURL = appURL
	a, err := r.get(t, "protocol=http\nhost="+r.host()+"\n")
	if err != nil {
		t.Fatal(testsupport.Redact(err.Error()))
	}
	out := r.stderr.String()
	for _, want := range []string{
		"(GitHub App octo-hub), open ",
		"git-credential-ghapp: install the app on your repositories first: " + link + "\n",
		"newbie cannot push anywhere yet: the GitHub App is not installed on any repository newbie can reach; install the app on your repositories at " + link + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stderr lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, r.srv.ClientID()) {
		t.Errorf("the prompt names the app by its client ID:\n%s", out)
	}
	toks, _ := r.stores["auto"].List()
	if len(toks) != 1 || toks[0].AppURL != appURL {
		t.Fatalf("the token does not carry the app's page: %+v", toks)
	}

	// A hit reads no configuration, and still has the link.
	r.stdout.Reset()
	before := len(r.stderr.String())
	reads := r.reads
	if b, err := r.get(t, "protocol=http\nhost="+r.host()+"\npath=newbie/project.git\n"); err != nil || b.Password != a.Password {
		t.Fatalf("hit: %v", err)
	}
	if r.reads != reads {
		t.Error("the hit read configuration")
	}
	if want := "newbie/project is not among the repositories the GitHub App lets newbie reach, so a push will be refused; grant it at " + link; !strings.Contains(r.stderr.String()[before:], want) {
		t.Errorf("the hit's warning lacks the link:\n%s", r.stderr.String()[before:])
	}

	// Without a terminal, beside the code.
	r2 := newRig(t)
	r2.settings.AppURL = appURL
	r2.settings.Interactive, r2.settings.Store = false, "memory"
	if _, err := r2.get(t, "protocol=http\nhost="+r2.host()+"\n"); err != nil {
		t.Fatal(err)
	}
	if want := "git-credential-ghapp: install the app on your repositories first: " + link + "\ngit-credential-ghapp: then run the git command again\n"; !strings.Contains(r2.stderr.String(), want) {
		t.Errorf("the background sign-in's lines lack the link:\n%s", r2.stderr.String())
	}
}
