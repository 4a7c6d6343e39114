// Package config resolves the helper's settings for one remote from git
// config (with git's own URL matching), the environment and flags.
package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Settings are the ghapp.* values that apply to one remote URL.
type Settings struct {
	// ClientID is the GitHub App's client ID, from the first of: the
	// --client-id flag, $GHAPP_CLIENT_ID, $GH_SCOPED_CREDS_CLIENT_ID,
	// ghapp.clientId. Empty when none is set.
	ClientID string
	// HostConfigured is true when a ghapp.<url>.clientId matched the URL:
	// only that makes a host other than github.com served.
	HostConfigured bool
	MinLifetime    time.Duration // ghapp.minLifetime, default 60s
	Interactive    bool          // ghapp.interactive, default true; false under GIT_TERMINAL_PROMPT=0
	AllowDiskStore bool          // ghapp.allowDiskStore, default false
	Refresh        bool          // ghapp.refresh, default false: renew with a refresh token held in memory
	RefreshFor     time.Duration // ghapp.refreshFor, default 7 days after the last device flow
	Store          string        // $GHAPP_STORE, else ghapp.store, default "auto"
}

// DefaultMinLifetime is how much life a cached token must have left to be
// handed out: enough for one git command to finish with it.
const DefaultMinLifetime = 60 * time.Second

// DefaultRefreshFor is how long after a device flow ghapp.refresh may
// renew tokens before a person must sign in again.
const DefaultRefreshFor = 7 * 24 * time.Hour

// ClientIDSources names every way to set the client ID, for error messages.
const ClientIDSources = "--client-id, $GHAPP_CLIENT_ID, $GH_SCOPED_CREDS_CLIENT_ID or git config ghapp.clientId"

// spawnTimeout bounds each git spawn; git config answers in milliseconds.
const spawnTimeout = 10 * time.Second

// Load resolves the settings for url (scheme://host[:port][/path]) with a
// single `git config --get-urlmatch` spawn. flagClientID is --client-id.
// forGitHub is true for https://github.com, which is served without
// configuration.
func Load(url, flagClientID string, forGitHub bool) (Settings, error) {
	args := []string{"config", "-z", "--get-urlmatch", "ghapp", url}
	if !forGitHub {
		// An empty command-line ghapp.clientId outranks every plain one but
		// loses to any ghapp.<url>.clientId that matches, so an empty answer
		// means no URL-specific client ID: the host is not served.
		args = append([]string{"-c", "ghapp.clientId="}, args...)
	}
	keys, err := gitConfig(args...)
	if err != nil {
		return Settings{}, err
	}
	return resolve(keys, flagClientID, forGitHub)
}

func resolve(keys map[string]string, flagClientID string, forGitHub bool) (Settings, error) {
	s := Settings{MinLifetime: DefaultMinLifetime, Interactive: true, Store: "auto", RefreshFor: DefaultRefreshFor}
	cfgID := keys["ghapp.clientid"]
	s.HostConfigured = !forGitHub && cfgID != ""
	s.ClientID = firstNonEmpty(flagClientID, os.Getenv("GHAPP_CLIENT_ID"), os.Getenv("GH_SCOPED_CREDS_CLIENT_ID"), cfgID)
	s.ClientID = strings.TrimSpace(s.ClientID)

	if v, ok := keys["ghapp.minlifetime"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return s, fmt.Errorf("ghapp.minLifetime %q is not a duration like 60s or 5m (fix it with git config)", v)
		}
		s.MinLifetime = d
	}
	var err error
	if s.Interactive, err = boolKey(keys, "ghapp.interactive", "ghapp.interactive", true); err != nil {
		return s, err
	}
	if os.Getenv("GIT_TERMINAL_PROMPT") == "0" {
		s.Interactive = false
	}
	if s.AllowDiskStore, err = boolKey(keys, "ghapp.allowdiskstore", "ghapp.allowDiskStore", false); err != nil {
		return s, err
	}
	s.Store = firstNonEmpty(os.Getenv("GHAPP_STORE"), keys["ghapp.store"], "auto")
	if s.Refresh, err = boolKey(keys, "ghapp.refresh", "ghapp.refresh", false); err != nil {
		return s, err
	}
	if v, ok := keys["ghapp.refreshfor"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return s, fmt.Errorf("ghapp.refreshFor %q is not a duration like 168h (fix it with git config)", v)
		}
		s.RefreshFor = d
	}
	return s, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// boolKey parses a git boolean the way git does.
func boolKey(keys map[string]string, key, name string, def bool) (bool, error) {
	v, ok := keys[key]
	if !ok {
		return def, nil
	}
	if b, ok := parseBool(v); ok {
		return b, nil
	}
	return def, fmt.Errorf("%s %q is not a boolean (use true or false)", name, v)
}

// valueless marks a key written without "=" in a config file, which git
// reads as true.
const valueless = "\x00valueless"

// parseBool reads a git boolean: true/yes/on/1 and false/no/off/0/"".
func parseBool(v string) (b, ok bool) {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1", valueless:
		return true, true
	case "false", "no", "off", "0", "":
		return false, true
	}
	return false, false
}

// gitConfig runs git config and parses its -z output ("key\nvalue\0", or
// "key\0" for a valueless key). Exit status 1 means no key matched.
func gitConfig(args ...string) (map[string]string, error) {
	out, code, err := Git(context.Background(), args...)
	switch {
	case code == 1 && len(out) == 0:
		return map[string]string{}, nil
	case err != nil:
		return nil, fmt.Errorf("reading ghapp.* settings with git config failed: %v", err)
	}
	return parseZ(out), nil
}

// Git runs git (bounded by spawnTimeout) and returns its output and exit
// status; err carries the first line of git's complaint.
func Git(ctx context.Context, args ...string) (out []byte, code int, err error) {
	ctx, cancel := context.WithTimeout(ctx, spawnTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out, 0, nil
	case errors.Is(err, exec.ErrNotFound):
		return nil, -1, errors.New("git is not on PATH")
	case ctx.Err() != nil:
		return nil, -1, fmt.Errorf("git config did not finish within %s", spawnTimeout)
	case errors.As(err, &exit):
		msg := strings.TrimSpace(strings.SplitN(stderr.String(), "\n", 2)[0])
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "error: "), "fatal: ")
		if msg == "" {
			msg = fmt.Sprintf("git config exited with status %d", exit.ExitCode())
		}
		return out, exit.ExitCode(), errors.New(msg)
	}
	return nil, -1, err
}

func parseZ(out []byte) map[string]string {
	keys := map[string]string{}
	for _, rec := range strings.Split(string(out), "\x00") {
		if rec == "" {
			continue
		}
		k, v, ok := strings.Cut(rec, "\n")
		if !ok {
			v = valueless
		}
		keys[strings.ToLower(k)] = v
	}
	return keys
}
