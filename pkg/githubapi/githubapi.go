// Package githubapi calls the few GitHub REST endpoints the helper needs:
// who a token belongs to, where the app is installed, and revocation.
//
// Every request here carries a token, so none follows a redirect, whatever
// http.Client the caller hands in (see NoRedirects), and every answer is
// read through one size bound, MaxBody.
package githubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// MaxBody bounds how much of any one answer is read. A page of 100 full
// GitHub repository objects is well under 1 MiB.
const MaxBody = 4 << 20

// maxMessage bounds a server's "message" shown in an error.
const maxMessage = 120

// Client calls one GitHub server's REST API with one user access token.
type Client struct {
	API   string // API base URL, e.g. https://api.github.com or https://HOST/api/v3
	Token string
	HTTP  *http.Client // nil means http.DefaultClient; redirects are refused either way
}

// User is the account a token acts as.
type User struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
}

// User returns the account the token belongs to (GET /user).
func (c *Client) User(ctx context.Context) (User, error) {
	var u User
	if err := c.get(ctx, "/user", &u); err != nil {
		return User{}, err
	}
	if u.Login == "" {
		return User{}, fmt.Errorf("%s/user answered without a login", safetext.Line(c.API))
	}
	return u, nil
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	resp, err := c.do(ctx, c.API+path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := ReadBody(resp, safetext.Line(c.API)+path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s%s answered with something that is not JSON", safetext.Line(c.API), path)
	}
	return nil
}

// do GETs an absolute URL of the API with the token and returns a 2xx
// answer, its body unread; anything else becomes an error.
func (c *Client) do(ctx context.Context, target string) (*http.Response, error) {
	resp, err := Get(ctx, c.HTTP, c.API, target, c.Token, "application/vnd.github+json")
	if err != nil {
		return nil, err
	}
	if err := answerError(resp, target); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// Get sends a GET of target with token as a bearer token and accept as
// the Accept header, following no redirect (see NoRedirects; hc nil means
// http.DefaultClient). A failure to reach server is worded by
// Unreachable. The answer's body is left unread.
func Get(ctx context.Context, hc *http.Client, server, target, token, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, errors.New(safetext.Line(err.Error()))
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", accept)
	resp, err := NoRedirects(hc).Do(req)
	if err != nil {
		return nil, Unreachable(server, err)
	}
	return resp, nil
}

// ReadBody reads resp's body up to MaxBody; past it, reading fails, so a
// cut body is not mistaken for a short one. shown names the URL in the
// errors and must be safe to show.
func ReadBody(resp *http.Response, shown string) ([]byte, error) {
	body, err := io.ReadAll(bounded(resp.Body))
	if tooLarge(err) {
		return nil, tooLargeError(shown)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", shown, safetext.Line(err.Error()))
	}
	return body, nil
}

// answerError turns an answer other than success into an error, reading
// what it needs of the body.
func answerError(resp *http.Response, target string) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	if re := Redirected(resp); re != nil {
		return re
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	return &StatusError{URL: target, Status: resp.StatusCode, Message: message(body)}
}

// Revoke asks the server to revoke tokens (POST /credentials/revoke), which
// needs no client secret. hc nil means http.DefaultClient; redirects are
// refused either way, since the body carries the tokens.
func Revoke(ctx context.Context, hc *http.Client, api string, tokens ...string) error {
	body, _ := json.Marshal(map[string][]string{"credentials": tokens})
	target := api + "/credentials/revoke"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return errors.New(safetext.Line(err.Error()))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := NoRedirects(hc).Do(req)
	if err != nil {
		return Unreachable(api, err)
	}
	defer resp.Body.Close()
	if err := answerError(resp, target); err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBody))
	return nil
}

// StatusError is an API answer other than success.
type StatusError struct {
	URL     string
	Status  int
	Message string // GitHub's "message", if any, already made safe to show
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s answered HTTP %d", safetext.Line(e.URL), e.Status)
	if e.Message != "" {
		s += " (" + safetext.Line(e.Message) + ")"
	}
	return s
}

// message returns the "message" of a GitHub error body, safe to show.
func message(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	return safetext.Short(m.Message, maxMessage)
}

// RedirectError is a redirect the helper refused to follow: the request
// carried a token or a device code.
type RedirectError struct {
	// Location is where the server pointed, without user information,
	// query or fragment, and safe to show.
	Location string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("the server redirected to %s; the helper sends tokens only to the server they were minted for", e.Location)
}

// Redirected returns the redirect resp asks for, or nil. Answers net/http
// does not follow on its own (300, 304, a 307 whose body cannot be sent
// again) reach the caller, and are not to be followed either.
func Redirected(resp *http.Response) *RedirectError {
	if resp.StatusCode/100 != 3 {
		return nil
	}
	loc, err := resp.Location()
	if err != nil {
		return nil
	}
	return redirectTo(loc)
}

func redirectTo(u *url.URL) *RedirectError {
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return &RedirectError{Location: safetext.Short(shown.String(), 200)}
}

// NoRedirects returns a copy of hc (nil means http.DefaultClient) that
// refuses every redirect with a *RedirectError, so a token or a device
// code in a request never reaches a server it was not meant for: net/http
// keeps the Authorization header for another port on the same host, and
// resends the body on 307 and 308.
func NoRedirects(hc *http.Client) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := *hc
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		return redirectTo(req.URL)
	}
	return &c
}

// Unreachable words a transport failure as one line: which server, and why.
// A refused redirect comes back as its *RedirectError.
func Unreachable(server string, err error) error {
	var re *RedirectError
	if errors.As(err, &re) {
		return re
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if u, perr := url.Parse(server); perr == nil && u.Host != "" {
		server = u.Scheme + "://" + u.Host
	}
	server = safetext.Line(server)
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return fmt.Errorf("%s did not answer in time (check the network, proxy settings, or the server's status)", server)
	}
	return fmt.Errorf("cannot reach %s: %v (check the network or proxy settings)", server, safetext.Line(err.Error()))
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// bounded reads an answer's body up to MaxBody; past it, reading fails
// (see tooLarge), so a cut body is not mistaken for a short one.
func bounded(body io.ReadCloser) io.Reader {
	return http.MaxBytesReader(nil, body, MaxBody)
}

// tooLarge reports whether err is bounded's refusal to read on.
func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// tooLargeError says that the answer from shown, a URL safe to show, was
// too large.
func tooLargeError(shown string) error {
	return fmt.Errorf("%s answered with more than %d MiB; stopped reading", shown, MaxBody>>20)
}
