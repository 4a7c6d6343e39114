// Package githubapi calls the few GitHub REST endpoints the helper needs:
// who a token belongs to, where the app is installed, and revocation.
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
	"strings"
)

// Client calls one GitHub server's REST API with one user access token.
type Client struct {
	API   string // API base URL, e.g. https://api.github.com or https://HOST/api/v3
	Token string
	HTTP  *http.Client // nil means http.DefaultClient
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
		return User{}, fmt.Errorf("%s/user answered without a login", c.API)
	}
	return u, nil
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.API+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := c.client().Do(req)
	if err != nil {
		return Unreachable(c.API, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("reading %s%s: %v", c.API, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return &StatusError{URL: c.API + path, Status: resp.StatusCode, Message: message(body)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s%s answered with something that is not JSON", c.API, path)
	}
	return nil
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Revoke asks the server to revoke tokens (POST /credentials/revoke), which
// needs no client secret.
func Revoke(ctx context.Context, hc *http.Client, api string, tokens ...string) error {
	body, _ := json.Marshal(map[string][]string{"credentials": tokens})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, api+"/credentials/revoke", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/vnd.github+json")
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Unreachable(api, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return &StatusError{URL: api + "/credentials/revoke", Status: resp.StatusCode}
	}
	return nil
}

// StatusError is an API answer other than success.
type StatusError struct {
	URL     string
	Status  int
	Message string // GitHub's "message", if any
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s answered HTTP %d", e.URL, e.Status)
	if e.Message != "" {
		s += " (" + e.Message + ")"
	}
	return s
}

func message(body []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	return oneLine(m.Message)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// Unreachable words a transport failure as one line: which server, and why.
func Unreachable(server string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if u, perr := url.Parse(server); perr == nil && u.Host != "" {
		server = u.Scheme + "://" + u.Host
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return fmt.Errorf("%s did not answer in time (check the network, proxy settings, or the server's status)", server)
	}
	return fmt.Errorf("cannot reach %s: %v (check the network or proxy settings)", server, err)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
