// Package gitlabapi calls the few GitLab endpoints the helper needs: who a
// token acts as (REST API v4), what it may do with a project, and OAuth
// revocation. A GitLab may live below a path (https://example.org/gitlab);
// every URL here hangs below that base.
//
// As in githubapi, no request follows a redirect and every answer is read
// through one size bound.
package gitlabapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// maxMessage bounds a server's message shown in an error.
const maxMessage = 120

// Client calls one GitLab server's REST API v4 with one OAuth access token.
type Client struct {
	Base  string // the server's URL, e.g. https://gitlab.com or https://example.org/gitlab
	Token string
	HTTP  *http.Client // nil means http.DefaultClient; redirects are refused either way
}

// User is the account a token acts as.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// User returns the account the token belongs to (GET /api/v4/user, which
// needs the read_user scope).
func (c *Client) User(ctx context.Context) (User, error) {
	var u User
	if err := c.Get(ctx, "/user", &u); err != nil {
		return User{}, err
	}
	if u.Username == "" {
		return User{}, fmt.Errorf("%s/api/v4/user answered without a username", safetext.Line(c.Base))
	}
	return u, nil
}

// Get reads path below /api/v4 into v. An answer other than 2xx is a
// *StatusError.
func (c *Client) Get(ctx context.Context, path string, v any) error {
	target := c.Base + "/api/v4" + path
	resp, err := githubapi.Get(ctx, c.HTTP, c.Base, target, c.Token, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := githubapi.ReadBody(resp, shown(target))
	if err != nil {
		return err
	}
	if rd := githubapi.Redirected(resp); rd != nil {
		return rd
	}
	if resp.StatusCode/100 != 2 {
		return statusError(target, resp, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s answered with something that is not JSON", shown(target))
	}
	return nil
}

// Revoke asks the server to revoke an OAuth token (POST /oauth/revoke
// with client_id, as doorkeeper takes it from a public application).
func Revoke(ctx context.Context, hc *http.Client, base, clientID, token string) error {
	form := url.Values{"client_id": {clientID}, "token": {token}}
	target := base + "/oauth/revoke"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return errors.New(safetext.Line(err.Error()))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := githubapi.NoRedirects(hc).Do(req)
	if err != nil {
		return githubapi.Unreachable(base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, githubapi.MaxBody))
	if rd := githubapi.Redirected(resp); rd != nil {
		return rd
	}
	if resp.StatusCode/100 != 2 {
		return statusError(target, resp, body)
	}
	return nil
}

// StatusError is an answer other than success.
type StatusError struct {
	URL     string // without query, safe to show
	Status  int
	Code    string // OAuth "error" (e.g. insufficient_scope), if any
	Message string // GitLab's message or error_description, safe to show
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s answered HTTP %d", e.URL, e.Status)
	if m := strings.TrimSpace(e.Code + " " + e.Message); m != "" {
		s += " (" + m + ")"
	}
	return s
}

// InsufficientScope reports whether the token lacks a scope the call
// needs: GitLab answers 403 with error "insufficient_scope".
func (e *StatusError) InsufficientScope() bool {
	return e.Status == http.StatusForbidden && e.Code == "insufficient_scope"
}

func statusError(target string, resp *http.Response, body []byte) *StatusError {
	var m struct {
		Message     any    `json:"message"` // a string, or an object of field errors
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	e := &StatusError{URL: shown(target), Status: resp.StatusCode}
	if json.Unmarshal(body, &m) == nil {
		e.Code = safetext.Short(m.Error, 40)
		msg, _ := m.Message.(string)
		e.Message = safetext.Short(firstNonEmpty(msg, m.Description), maxMessage)
	}
	if e.Code == "" && resp.StatusCode == http.StatusForbidden && strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
		e.Code = "insufficient_scope"
	}
	return e
}

// shown is a URL without its query, safe to show.
func shown(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		raw = u.String()
	}
	return safetext.Short(raw, 200)
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
