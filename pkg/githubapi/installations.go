package githubapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Installation is one installation of the token's GitHub App that the
// token's user can reach.
type Installation struct {
	ID      int64   `json:"id"`
	AppSlug string  `json:"app_slug"`
	Account Account `json:"account"`
	// RepositorySelection is "all" (every repository of the account) or
	// "selected" (only those InstallationRepositories lists).
	RepositorySelection string            `json:"repository_selection"`
	Permissions         map[string]string `json:"permissions"` // e.g. "contents": "write"
}

// Account is the user or organization an app is installed on.
type Account struct {
	Login string `json:"login"`
	Type  string `json:"type"` // "User" or "Organization"
}

// Repository is one repository an installation covers.
type Repository struct {
	FullName string `json:"full_name"` // owner/name
	Private  bool   `json:"private"`
}

// perPage is the largest page GitHub serves, so lists take fewest requests.
const perPage = 100

// maxPages bounds a listing, so a server whose "next" links never end
// cannot keep the caller forever: 10,000 entries at 100 a page.
const maxPages = 100

// Installations lists the installations of the token's app that its user
// can reach (GET /user/installations), following pagination.
func (c *Client) Installations(ctx context.Context) ([]Installation, error) {
	var all []Installation
	err := c.list(ctx, "/user/installations", func(body []byte) (int, error) {
		var page struct {
			Installations []Installation `json:"installations"`
		}
		err := json.Unmarshal(body, &page)
		all = append(all, page.Installations...)
		return len(page.Installations), err
	})
	return all, err
}

// InstallationRepositories lists the repositories installation id covers
// that the token's user can reach (GET /user/installations/{id}/repositories),
// following pagination.
func (c *Client) InstallationRepositories(ctx context.Context, id int64) ([]Repository, error) {
	var all []Repository
	err := c.list(ctx, fmt.Sprintf("/user/installations/%d/repositories", id), func(body []byte) (int, error) {
		var page struct {
			Repositories []Repository `json:"repositories"`
		}
		err := json.Unmarshal(body, &page)
		all = append(all, page.Repositories...)
		return len(page.Repositories), err
	})
	return all, err
}

// InstallURL is the page where a person installs the app called appSlug
// on more accounts or repositories. web is the server's web root
// (origin.Endpoints().Web): github.com keeps apps under /apps, GitHub
// Enterprise Server under /github-apps.
func InstallURL(web, appSlug string) string {
	web = strings.TrimSuffix(web, "/")
	dir := "/github-apps/"
	if web == "https://github.com" {
		dir = "/apps/"
	}
	return web + dir + url.PathEscape(appSlug) + "/installations/new"
}

// list GETs path page by page, handing each page's body to decode, which
// returns how many entries the page held. It follows the Link header's
// "next" only while it stays on the API's own server: the request carries
// the token, which must never go anywhere else.
func (c *Client) list(ctx context.Context, path string, decode func(body []byte) (int, error)) error {
	base, err := url.Parse(c.API)
	if err != nil {
		return fmt.Errorf("API URL %q: %v", c.API, err)
	}
	next := c.API + path + "?per_page=" + fmt.Sprint(perPage)
	for page := 1; ; page++ {
		body, header, err := c.getPage(ctx, next)
		if err != nil {
			return err
		}
		n, err := decode(body)
		if err != nil {
			return fmt.Errorf("%s%s answered with something that is not the expected JSON", c.API, path)
		}
		link := nextLink(header.Get("Link"))
		if link == "" || n == 0 {
			return nil
		}
		u, err := base.Parse(link)
		if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
			return fmt.Errorf("%s%s pointed its next page at another server; stopped there so the token is not sent to it", c.API, path)
		}
		if page == maxPages {
			return fmt.Errorf("%s%s has more than %d pages; stopped there", c.API, path, maxPages)
		}
		next = u.String()
	}
}

// getPage GETs one absolute URL of the API and returns its body and headers.
func (c *Client) getPage(ctx context.Context, pageURL string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/vnd.github+json")
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, nil, Unreachable(c.API, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %v", pageURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, &StatusError{URL: pageURL, Status: resp.StatusCode, Message: message(body)}
	}
	return body, resp.Header, nil
}

var (
	linkSep = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`,\s*<`) })
	linkRel = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`;\s*rel\s*=\s*"?([^";]*)"?`) })
)

// nextLink returns the URL marked rel="next" in a Link header (RFC 8288),
// or "".
func nextLink(header string) string {
	for _, part := range linkSep().Split(strings.TrimSpace(header), -1) {
		target, params, ok := strings.Cut(strings.TrimPrefix(part, "<"), ">")
		if !ok {
			continue
		}
		if m := linkRel().FindStringSubmatch(params); m != nil {
			for _, rel := range strings.Fields(m[1]) {
				if strings.EqualFold(rel, "next") {
					return target
				}
			}
		}
	}
	return ""
}
