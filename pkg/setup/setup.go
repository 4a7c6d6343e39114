// Package setup writes, and takes back, the git configuration that makes
// git-credential-ghapp the credential helper for one GitHub server. It
// changes one git config file (system, global or a named one) through
// `git config` only, compares before it writes so that running it again
// changes nothing, and removes on undo only the values it adds.
package setup

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/config"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/helperchain"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/gitconfig"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
)

// Scope is the git config file to change: File if set, else the system
// file if System, else the user's global file.
type Scope struct {
	System bool
	File   string
}

func (s Scope) flags() gitconfig.Scope {
	switch {
	case s.File != "":
		return gitconfig.Scope{"--file", s.File}
	case s.System:
		return gitconfig.Scope{"--system"}
	}
	return gitconfig.Scope{"--global"}
}

// String names the file for messages: "your global git config", "the
// system git config", or the path given.
func (s Scope) String() string {
	switch {
	case s.File != "":
		return s.File
	case s.System:
		return "the system git config"
	}
	return "your global git config"
}

// fix says what to do when the file cannot be written.
func (s Scope) fix() string {
	switch {
	case s.File != "":
		return "check that its directory exists and that you may write there"
	case s.System:
		return "run it as root, as a Dockerfile RUN step does, or with sudo; or use --global to set up only yourself"
	}
	return "check that HOME is set and that your ~/.gitconfig is writable"
}

// Options say what to set up.
type Options struct {
	Scope  Scope
	Origin origin.Origin
	// ClientID is written as ghapp.<url>.clientId; "" leaves that key alone
	// (on undo: removes it whatever its value).
	ClientID string
	// Store is the token store the helper is told to use ("ghapp --store
	// S"); "" lets the helper choose.
	Store string
	// RemoveOtherHelpers has Apply remove, from the file it writes, the
	// other helpers git would call for Origin that keep what git gives
	// them, and record them for Undo.
	RemoveOtherHelpers bool
	// AppURL, the GitHub App's page, is written as ghapp.<url>.appUrl; ""
	// leaves that key alone (on undo: removes it whatever its value).
	AppURL string
	// Provider is "gitlab" to write ghapp.<url>.provider gitlab (undo
	// removes it); "" or "github" writes nothing.
	Provider string
}

// Change is one value written or removed.
type Change struct {
	Op       string // "set" (replaces), "add" (one more value) or "remove"
	Key      string
	Value    string
	Replaced bool   // Op "set" replaced Was
	Was      string // the value before, when Replaced
	// From is the file of another helper removed (Op "remove"), which
	// setup --undo puts back.
	From string
}

// String words the change as setup prints it, e.g.
// `set credential.https://github.com.helper = ""`.
func (c Change) String() string {
	s := fmt.Sprintf("%s %s = %s", c.Op, c.Key, show(c.Value))
	if c.Replaced {
		s += fmt.Sprintf(" (was %s)", show(c.Was))
	}
	if c.From != "" {
		s += fmt.Sprintf(" (from %s; setup --undo puts it back)", safetext.Line(c.From))
	}
	return s
}

// show words a value for a terminal: values found in the file, such as
// another helper's, may hold anything.
func show(v string) string {
	if v == "" {
		return `""`
	}
	return safetext.Line(v)
}

// Result is what Apply or Undo did.
type Result struct {
	Changes []Change
	// NeedClientID is set when github.com was set up without a client ID
	// in sight: not in the flag, the environment, this file or git's
	// configuration as a whole. The helper cannot sign in without one.
	NeedClientID bool
	// Notes are one-line remarks for the person about what was set up,
	// which the caller prints (as "note: …") when Apply succeeds.
	Notes []string
	// File is the absolute path of the file Apply wrote (or found already
	// set up), as git names it.
	File string
	// Others are the other helpers git still calls for the origin after
	// Apply, in git's order, for the caller to warn about.
	Others []helperchain.Helper
}

// FileLine names the file Apply wrote, as setup prints it.
func (r Result) FileLine() string { return "config file: " + safetext.Line(r.File) }

// The keys setup owns, for URL u.
func helperKey(u string) string   { return "credential." + u + ".helper" }
func httpPathKey(u string) string { return "credential." + u + ".useHttpPath" }
func clientIDKey(u string) string { return "ghapp." + u + ".clientId" }
func appURLKey(u string) string   { return "ghapp." + u + ".appUrl" }

// removedKey records, in the file setup wrote, each helper that
// --remove-other-helpers took out, as its key, a newline (which no key
// holds) and its value, in file order, for Undo to put back.
func removedKey(u string) string { return "ghapp." + u + ".removedHelper" }

func providerKey(u string) string { return "ghapp." + u + ".provider" }

// HelperValue is the credential.helper value for store: git runs it as
// `git credential-ghapp [--store S] <op>`.
func HelperValue(store string) string {
	if store == "" {
		return "ghapp"
	}
	return "ghapp --store " + store
}

// ours reports whether a credential.helper value runs this helper.
func ours(v string) bool { return v == "ghapp" || strings.HasPrefix(v, "ghapp ") }

// git runs the helper value through the shell: only plain names may go in.
var storeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`) })

// Client IDs are "Iv1." plus hex or "Iv23" plus letters and digits; the
// check keeps anything that is not a single plain word out of git config.
var clientIDChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`) })

func (o Options) check() error {
	if !o.Origin.SecureEnough() {
		return fmt.Errorf("%s uses plain http to another machine, where the helper never sends a token: use https://%s", o.Origin, o.Origin.HostPort())
	}
	if o.Store != "" && !storeName().MatchString(o.Store) {
		return fmt.Errorf("--store %q is not a store name", o.Store)
	}
	switch o.Provider {
	case "", config.GitHub, config.GitLab:
	default:
		return fmt.Errorf("--provider %q is not github or gitlab", o.Provider)
	}
	if o.Provider == config.GitLab && o.ClientID != "" && !clientIDChars().MatchString(o.ClientID) {
		return fmt.Errorf("--client-id %q does not look like a GitLab application ID (the Application ID on the application's page)", o.ClientID)
	}
	if o.Provider != config.GitLab && o.ClientID != "" && strings.Trim(o.ClientID, "0123456789") == "" {
		return fmt.Errorf("--client-id %s looks like an App ID; copy the Client ID (Iv…) from the app's settings", o.ClientID)
	}
	if o.ClientID != "" && !clientIDChars().MatchString(o.ClientID) {
		return fmt.Errorf("--client-id %q does not look like a GitHub App client ID (Iv1.… or Iv23…, shown on the app's settings page; not the numeric App ID)", o.ClientID)
	}
	if _, ok := config.CheckAppURL(o.AppURL); o.AppURL != "" && !ok {
		return fmt.Errorf("--app-url %q is not a GitHub App's page: use its https address, like https://github.com/apps/my-app", o.AppURL)
	}
	return nil
}

// Apply makes the helper the only one git asks for o.Origin, in the file
// o.Scope names: credential.<url>.helper gets "" (which drops helpers set
// before it) followed by the helper, credential.<url>.useHttpPath true
// (which a server below a path needs: only with it does git tell the
// helper the path), ghapp.<url>.provider for GitLab, ghapp.<url>.clientId
// when o.ClientID is set and ghapp.<url>.appUrl when o.AppURL is. What is
// already there is kept. On error, Result holds the changes already made.
func Apply(ctx context.Context, o Options) (Result, error) {
	var r Result
	if err := o.check(); err != nil {
		return r, err
	}
	u := o.Origin.String()
	g := gitConfig{scope: o.Scope}
	file, err := g.read(ctx, o.Scope.flags())
	if err != nil {
		return r, err
	}

	// Every check comes before the first write.
	if o.ClientID == "" {
		has, err := g.hasClientID(ctx, file, o.Origin)
		if err != nil {
			return r, err
		}
		switch {
		case has:
		case o.Provider == config.GitLab:
			return r, fmt.Errorf("%s needs its GitLab application's ID: run setup again with --client-id ID (the Application ID on the application's page)", o.Origin.Name())
		case o.Origin.IsGitHub():
			r.NeedClientID = true
		default:
			return r, fmt.Errorf("%s needs its GitHub App's client ID: run setup again with --client-id ID (shown on the app's settings page)", o.Origin.HostPort())
		}
	}

	if o.Origin.Scheme == "http" {
		// check let it through because it is this machine, but nothing
		// stops another local user from serving that port once it is free.
		r.Notes = append(r.Notes, plainHTTPNote(o.Origin))
	}

	// The client ID and useHttpPath go first and the helper last, so that
	// git never runs the helper for a host that is only half set up.
	if o.Provider == config.GitLab {
		if err := g.setSingle(ctx, &r, file, providerKey(u), config.GitLab, func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), config.GitLab) }); err != nil {
			return r, err
		}
	}
	if o.ClientID != "" {
		if err := g.setSingle(ctx, &r, file, clientIDKey(u), o.ClientID, func(v string) bool { return v == o.ClientID }); err != nil {
			return r, err
		}
	}
	if appURL, _ := config.CheckAppURL(o.AppURL); appURL != "" {
		if err := g.setSingle(ctx, &r, file, appURLKey(u), appURL, func(v string) bool { return v == appURL }); err != nil {
			return r, err
		}
	}
	if err := g.setSingle(ctx, &r, file, httpPathKey(u), "true", isTrue); err != nil {
		return r, err
	}

	if err := g.setHelper(ctx, &r, file, u, HelperValue(o.Store)); err != nil {
		return r, err
	}
	if r.File, err = gitconfig.FileOf(ctx, o.Scope.flags(), helperKey(u)); err != nil {
		return r, fmt.Errorf("cannot read %s: %v", o.Scope, err)
	}
	others, err := helperchain.Find(ctx, "", u)
	if err != nil {
		return r, fmt.Errorf("cannot read %s: %v", g.what(nil), err)
	}
	for _, h := range others {
		if !o.RemoveOtherHelpers || !h.Stores() || h.File != r.File {
			r.Others = append(r.Others, h)
		}
	}
	if o.RemoveOtherHelpers && len(r.Others) < len(others) {
		if err := g.removeOthers(ctx, &r, file, u, others); err != nil {
			return r, err
		}
	}
	return r, nil
}

// setHelper makes the last helpers of credential.<u>.helper "" and want.
func (g gitConfig) setHelper(ctx context.Context, r *Result, file entries, u, want string) error {
	vals := file.values(helperKey(u))
	if i := lastPair(vals); i >= 0 {
		if vals[i+1] == want {
			return nil
		}
		old := vals[i+1]
		if err := g.write(ctx, "--replace-all", helperKey(u), want, gitconfig.ExactValue(old)); err != nil {
			return err
		}
		r.Changes = append(r.Changes, Change{Op: "set", Key: helperKey(u), Value: want, Replaced: true, Was: old})
		return nil
	}
	if err := g.write(ctx, "--add", helperKey(u), ""); err != nil {
		return err
	}
	r.Changes = append(r.Changes, Change{Op: "set", Key: helperKey(u), Value: ""})
	if err := g.write(ctx, "--add", helperKey(u), want); err != nil {
		return err
	}
	r.Changes = append(r.Changes, Change{Op: "add", Key: helperKey(u), Value: want})
	return nil
}

// removeOthers removes from the file setup writes each helper of others
// there that stores, recording it first under removedKey(u). Removing a
// key's value removes every line of it with that value, so each such
// line in the file (in file order) is recorded, to come back as many
// times.
func (g gitConfig) removeOthers(ctx context.Context, r *Result, file entries, u string, others []helperchain.Helper) error {
	type kv struct{ key, value string }
	gone := map[kv]bool{}
	for _, h := range others {
		if h.Stores() && h.File == r.File {
			gone[kv{h.Key, h.Value}] = true
		}
	}
	var order []kv
	for _, e := range file {
		if k := (kv{e.Key, e.Value}); gone[k] && !e.Valueless {
			order = append(order, k)
		}
	}
	for _, k := range order {
		if err := g.write(ctx, "--add", removedKey(u), k.key+"\n"+k.value); err != nil {
			return err
		}
	}
	done := map[kv]bool{}
	for _, k := range order {
		if done[k] {
			continue
		}
		done[k] = true
		if err := g.write(ctx, "--unset-all", k.key, gitconfig.ExactValue(k.value)); err != nil {
			return err
		}
		r.Changes = append(r.Changes, Change{Op: "remove", Key: k.key, Value: k.value, From: r.File})
	}
	return nil
}

// plainHTTPNote says what setting up a loopback http server risks.
func plainHTTPNote(o origin.Origin) string {
	return fmt.Sprintf("%s is plain http: use it only for tests and demos on a single-user machine; on a shared host another user can take the port when the server stops and receive the token", o)
}

// Undo removes what Apply adds for o.Origin: each "" immediately followed
// by this helper in credential.<url>.helper, credential.<url>.useHttpPath
// when it is exactly "true" and such a pair was found, and
// ghapp.<url>.clientId and ghapp.<url>.appUrl (each only when it equals
// o.ClientID or o.AppURL, if that is set).
// Every other value stays, in its order. On error, Result holds the
// changes already made.
func Undo(ctx context.Context, o Options) (Result, error) {
	var r Result
	u := o.Origin.String()
	g := gitConfig{scope: o.Scope}
	file, err := g.read(ctx, o.Scope.flags())
	if err != nil {
		return r, err
	}

	vals := file.values(helperKey(u))
	var keep, removed []string
	for i := 0; i < len(vals); i++ {
		if i+1 < len(vals) && vals[i] == "" && ours(vals[i+1]) {
			removed = append(removed, vals[i], vals[i+1])
			i++
			continue
		}
		keep = append(keep, vals[i])
	}
	if len(removed) > 0 {
		if err := g.removeValues(ctx, helperKey(u), removed, keep); err != nil {
			return r, err
		}
		for _, v := range removed {
			r.Changes = append(r.Changes, Change{Op: "remove", Key: helperKey(u), Value: v})
		}
		// useHttpPath is a setting of git's, which the person may have
		// wanted anyway: take it back only along with the helper.
		if p := file.entries(httpPathKey(u)); len(p) == 1 && !p[0].Valueless && p[0].Value == "true" {
			if err := g.write(ctx, "--unset-all", httpPathKey(u), gitconfig.ExactValue("true")); err != nil {
				return r, err
			}
			r.Changes = append(r.Changes, Change{Op: "remove", Key: httpPathKey(u), Value: "true"})
		}
	}
	// As Apply writes it: without a trailing slash.
	appURL := strings.TrimRight(o.AppURL, "/")
	for _, k := range []struct{ key, only string }{{clientIDKey(u), o.ClientID}, {appURLKey(u), appURL}} {
		seen := map[string]bool{}
		for _, v := range file.values(k.key) {
			if (k.only != "" && v != k.only) || seen[v] {
				continue
			}
			seen[v] = true
			if err := g.write(ctx, "--unset-all", k.key, gitconfig.ExactValue(v)); err != nil {
				return r, err
			}
			r.Changes = append(r.Changes, Change{Op: "remove", Key: k.key, Value: v})
		}
	}
	if err := g.restoreOthers(ctx, &r, file, u); err != nil {
		return r, err
	}
	if p := file.entries(providerKey(u)); o.Provider == config.GitLab && len(p) == 1 && !p[0].Valueless && p[0].Value == config.GitLab {
		if err := g.write(ctx, "--unset-all", providerKey(u), gitconfig.ExactValue(config.GitLab)); err != nil {
			return r, err
		}
		r.Changes = append(r.Changes, Change{Op: "remove", Key: providerKey(u), Value: config.GitLab})
	}
	if len(r.Changes) > 0 {
		g.dropIfEmpty(ctx, "credential", u)
		g.dropIfEmpty(ctx, "ghapp", u)
	}
	return r, nil
}

// restoreOthers puts back, in their order, the helpers Apply removed
// (less any that are back already), and drops the record.
func (g gitConfig) restoreOthers(ctx context.Context, r *Result, file entries, u string) error {
	recs := file.values(removedKey(u))
	if len(recs) == 0 {
		return nil
	}
	present := map[string]int{}
	for _, e := range file {
		if !e.Valueless {
			present[e.Key+"\n"+e.Value]++
		}
	}
	for _, rec := range recs {
		key, value, ok := strings.Cut(rec, "\n")
		if !ok || !strings.HasPrefix(key, "credential.") {
			continue // not a record setup wrote
		}
		if present[rec] > 0 {
			present[rec]--
			continue
		}
		if err := g.write(ctx, "--add", key, value); err != nil {
			return err
		}
		r.Changes = append(r.Changes, Change{Op: "add", Key: key, Value: value})
	}
	return g.write(ctx, "--unset-all", removedKey(u))
}

// lastPair returns the index of the last "" that is immediately followed
// by this helper in vals, or -1.
func lastPair(vals []string) int {
	for i := len(vals) - 2; i >= 0; i-- {
		if vals[i] == "" && ours(vals[i+1]) {
			return i
		}
	}
	return -1
}

// isTrue reports whether v, written with "=", is a true git boolean.
func isTrue(v string) bool {
	b, ok := gitconfig.Entry{Value: v}.Bool()
	return ok && b
}

// entries are the lines of one or more config files, in file order.
type entries []gitconfig.Entry

// entries returns the lines for key (as spelled in this package).
func (es entries) entries(key string) []gitconfig.Entry {
	want := gitconfig.CanonicalKey(key)
	var out []gitconfig.Entry
	for _, e := range es {
		if e.Key == want {
			out = append(out, e)
		}
	}
	return out
}

func (es entries) values(key string) []string {
	var out []string
	for _, e := range es.entries(key) {
		if !e.Valueless {
			out = append(out, e.Value)
		}
	}
	return out
}

// gitConfig runs git config on one scope.
type gitConfig struct {
	scope Scope
}

// read returns every credential.* and ghapp.* line in the files scope
// names (nil: git's configuration as a whole), in file order.
func (g gitConfig) read(ctx context.Context, scope gitconfig.Scope) (entries, error) {
	es, err := gitconfig.Read(ctx, scope, "credential", "ghapp")
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %v", g.what(scope), err)
	}
	return es, nil
}

// what names the files scope reads, for messages.
func (g gitConfig) what(scope gitconfig.Scope) string {
	if scope == nil {
		return "git's configuration"
	}
	return g.scope.String()
}

// hasClientID reports whether a client ID for o is set in file or, for
// github.com, anywhere the helper would find one.
func (g gitConfig) hasClientID(ctx context.Context, file entries, o origin.Origin) (bool, error) {
	key := clientIDKey(o.String())
	if len(file.values(key)) > 0 {
		return true, nil
	}
	all, err := g.read(ctx, nil)
	if err != nil {
		return false, err
	}
	if len(all.values(key)) > 0 {
		return true, nil
	}
	if !o.IsGitHub() {
		// Only a ghapp.<url>.clientId makes another host served.
		return false, nil
	}
	// The file may not be one git reads by itself (--file): ask it, then
	// git's configuration as a whole, what the helper would use.
	for _, scope := range []gitconfig.Scope{g.scope.flags(), nil} {
		keys, err := gitconfig.URLMatch(ctx, scope, "ghapp", o.String())
		if err != nil {
			return false, fmt.Errorf("cannot read %s: %v", g.what(scope), err)
		}
		if config.ClientID("", keys["ghapp.clientid"].Value) != "" {
			return true, nil
		}
	}
	return false, nil
}

// setSingle makes key hold the single value want unless its one value
// already satisfies ok.
func (g gitConfig) setSingle(ctx context.Context, r *Result, file entries, key, want string, ok func(string) bool) error {
	es := file.entries(key)
	if len(es) == 1 && !es[0].Valueless && ok(es[0].Value) {
		return nil
	}
	if err := g.write(ctx, "--replace-all", key, want); err != nil {
		return err
	}
	c := Change{Op: "set", Key: key, Value: want}
	if len(es) > 0 {
		var was []string
		for _, e := range es {
			was = append(was, e.Value)
		}
		c.Replaced, c.Was = true, strings.Join(was, ", ")
	}
	r.Changes = append(r.Changes, c)
	return nil
}

// removeValues takes the removed values out of key, leaving keep in order.
// When no kept value could be mistaken for a removed one, each removed
// value is unset where it stands; otherwise the key is rewritten.
func (g gitConfig) removeValues(ctx context.Context, key string, removed, keep []string) error {
	clash := false
	for _, k := range keep {
		for _, r := range removed {
			clash = clash || k == r
		}
	}
	if !clash {
		done := map[string]bool{}
		for _, v := range removed {
			if done[v] {
				continue
			}
			done[v] = true
			if err := g.write(ctx, "--unset-all", key, gitconfig.ExactValue(v)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := g.write(ctx, "--unset-all", key); err != nil {
		return err
	}
	for _, v := range keep {
		if err := g.write(ctx, "--add", key, v); err != nil {
			return err
		}
	}
	return nil
}

// dropIfEmpty removes the section header [section "sub"] once it holds no
// keys. Recent git drops it by itself; when it did, remove-section finds
// nothing, which is fine, so its answer is not checked.
func (g gitConfig) dropIfEmpty(ctx context.Context, section, sub string) {
	es, err := g.read(ctx, g.scope.flags())
	if err != nil {
		return
	}
	prefix := section + "." + sub + "."
	for _, e := range es {
		if strings.HasPrefix(e.Key, prefix) && !strings.Contains(e.Key[len(prefix):], ".") {
			return
		}
	}
	gitconfig.Write(ctx, g.scope.flags(), "--remove-section", section+"."+sub)
}

// write runs one changing git config command on the scope.
func (g gitConfig) write(ctx context.Context, args ...string) error {
	if err := gitconfig.Write(ctx, g.scope.flags(), args...); err != nil {
		return fmt.Errorf("cannot change %s: %v (%s)", g.scope.String(), err, g.scope.fix())
	}
	return nil
}
