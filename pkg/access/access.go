// Package access decides whether an account may read or push a repository
// on GitHub or GitLab, as a hub's hook asks before it starts a server for
// someone: from the server's own answers about the account, the repository
// and, for a GitHub App's user token, the app's installations.
//
// Check answers a Result, allowed or not, only when the server said enough
// to decide; anything else (the network, a timeout, a 5xx, a refused
// token, a missing scope) is an error, so a failure is never reported as a
// refusal.
package access

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// Need is what the caller wants to do with the repository.
type Need string

// The needs a check answers.
const (
	Read Need = "read"
	Push Need = "push"
)

// ParseNeed reads --need.
func ParseNeed(s string) (Need, error) {
	switch n := Need(strings.ToLower(strings.TrimSpace(s))); n {
	case Read, Push:
		return n, nil
	}
	return "", fmt.Errorf("--need %q is not read or push", safetext.Short(s, 40))
}

// Verb is the need as a sentence says it: "read", "push to".
func (n Need) Verb() string {
	if n == Push {
		return "push to"
	}
	return "read"
}

// Access levels, as Result.Access spells them.
const (
	None       = "none"
	ReadAccess = "read"
	PushAccess = "push"
)

// rank orders access levels.
func rank(access string) int {
	switch access {
	case PushAccess:
		return 2
	case ReadAccess:
		return 1
	}
	return 0
}

func lower(a, b string) string {
	if rank(a) < rank(b) {
		return a
	}
	return b
}

func covers(access string, need Need) bool {
	if need == Push {
		return access == PushAccess
	}
	return rank(access) >= rank(ReadAccess)
}

// Providers, as config.Settings.Provider names them.
const (
	GitHub = "github"
	GitLab = "gitlab"
)

// Request is one question: may the token's account do Need with
// Repository on Server?
type Request struct {
	Provider string // GitHub or GitLab
	// Server is the server's URL: scheme://host[:port], plus the path a
	// GitLab lives below, if any (https://example.org/gitlab).
	Server     string
	Repository string // owner/name on GitHub; group/subgroup/project on GitLab
	Need       Need
	Token      string
	HTTP       *http.Client // nil means http.DefaultClient; redirects are refused either way
	// AppInstall is the GitHub App's install page when configuration
	// names the app (config.InstallURL of ghapp.appUrl), for when no
	// installation the token sees names it; "" when unknown.
	AppInstall string
}

// Result is a decision. Its fields are what `check --json` prints.
type Result struct {
	Allowed    bool   `json:"allowed"`
	Need       Need   `json:"need"`
	Host       string `json:"host"`       // host[:port]
	Repository string `json:"repository"` // as the server spells it when it said
	Login      string `json:"login"`      // the account the token acts as
	Access     string `json:"access"`     // None, ReadAccess or PushAccess: what the token may do there
	// Reason says why in one line, safe to show; when the GitHub App is
	// not installed on the repository it carries the install link.
	Reason string `json:"reason"`
}

// Line is the decision as one sentence, safe to show: "ada may push to
// org/repo", or "ada may not push to org/repo: REASON".
func (r Result) Line() string {
	who := r.Login
	if who == "" {
		who = "the token"
	}
	if r.Allowed {
		return safetext.Line(fmt.Sprintf("%s may %s %s", who, r.Need.Verb(), r.Repository))
	}
	return safetext.Line(fmt.Sprintf("%s may not %s %s: %s", who, r.Need.Verb(), r.Repository, r.Reason))
}

// Check asks req.Server. An error means it cannot decide; its message is
// one line, safe to show, and never holds the token.
func Check(ctx context.Context, req Request) (Result, error) {
	if req.Need != Read && req.Need != Push {
		return Result{}, fmt.Errorf("need %q is not read or push", safetext.Short(string(req.Need), 40))
	}
	if !tokenShape(req.Token) {
		return Result{}, fmt.Errorf("the token is empty or not one word of printable characters")
	}
	switch req.Provider {
	case GitHub:
		return checkGitHub(ctx, req)
	case GitLab:
		return checkGitLab(ctx, req)
	}
	return Result{}, fmt.Errorf("provider %q is not github or gitlab", safetext.Short(req.Provider, 40))
}

// tokenShape accepts what can go in an Authorization header as it is:
// printable ASCII without spaces.
func tokenShape(tok string) bool {
	if tok == "" || len(tok) > 4096 {
		return false
	}
	for _, c := range []byte(tok) {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func (req Request) result(login, access, reason string) Result {
	return Result{
		Allowed:    covers(access, req.Need),
		Need:       req.Need,
		Host:       hostOf(req.Server),
		Repository: req.Repository,
		Login:      login,
		Access:     access,
		Reason:     safetext.Line(reason),
	}
}

// hostOf is host[:port] of a server URL.
func hostOf(server string) string {
	_, rest, ok := strings.Cut(server, "://")
	if !ok {
		rest = server
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}
