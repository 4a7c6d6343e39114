package githubapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
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
// cannot keep the caller forever.
const maxPages = 100

// A listing keeps at most this many entries, however many the server
// offers, so a hostile or huge answer cannot fill memory: more
// installations than a person can read through, and more repositories
// than a store keeps for one token.
const (
	MaxInstallations = 100
	MaxRepositories  = 1000
)

// Installations lists the installations of the token's app that its user
// can reach (GET /user/installations), following pagination. It keeps at
// most MaxInstallations; truncated reports that the server had more.
func (c *Client) Installations(ctx context.Context) (list []Installation, truncated bool, err error) {
	return listAll[Installation](ctx, c, "/user/installations", "installations", MaxInstallations)
}

// InstallationRepositories lists the repositories installation id covers
// that the token's user can reach (GET /user/installations/{id}/repositories),
// following pagination. It keeps at most MaxRepositories; truncated reports
// that the server had more.
func (c *Client) InstallationRepositories(ctx context.Context, id int64) (list []Repository, truncated bool, err error) {
	return listAll[Repository](ctx, c, fmt.Sprintf("/user/installations/%d/repositories", id), "repositories", MaxRepositories)
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

// listAll GETs path page by page and collects the entries of each page's
// array named field, at most limit of them. It follows the Link header's
// "next" only while it stays on the API's own server: the request carries
// the token, which must never go anywhere else. On an error it returns
// what it collected so far.
func listAll[T any](ctx context.Context, c *Client, path, field string, limit int) (all []T, truncated bool, err error) {
	base, err := url.Parse(c.API)
	if err != nil {
		return nil, false, fmt.Errorf("API URL %q: %v", c.API, safetext.Line(err.Error()))
	}
	api := safetext.Line(c.API)
	next := c.API + path + "?per_page=" + fmt.Sprint(perPage)
	for page := 1; ; page++ {
		n, more, link, err := getPage(ctx, c, next, path, field, limit-len(all), &all)
		switch {
		case err != nil:
			return all, false, err
		case more:
			return all, true, nil
		case link == "" || n == 0:
			return all, false, nil
		}
		u, err := base.Parse(link)
		if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
			return all, false, fmt.Errorf("%s%s pointed its next page at another server; stopped there so the token is not sent to it", api, path)
		}
		if page == maxPages {
			return all, false, fmt.Errorf("%s%s has more than %d pages; stopped there", api, path, maxPages)
		}
		if len(all) == limit {
			return all, true, nil
		}
		next = u.String()
	}
}

// getPage GETs one page and appends at most room entries of its array
// field to out. It reports how many it appended, whether the page held
// more than room, and the page's "next" link. path names the listing in
// errors.
func getPage[T any](ctx context.Context, c *Client, target, path, field string, room int, out *[]T) (n int, more bool, next string, err error) {
	resp, err := c.do(ctx, target)
	if err != nil {
		return 0, false, "", err
	}
	defer resp.Body.Close()
	n, more, err = decodePage(bounded(resp.Body), field, room, out)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return n, more, nextLink(resp.Header.Get("Link")), nil
	case tooLarge(err):
		return n, false, "", tooLargeError(safetext.Line(c.API) + path)
	case errors.As(err, &syntax), errors.As(err, &typ), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return n, false, "", fmt.Errorf("%s%s answered with something that is not the expected JSON", safetext.Line(c.API), path)
	}
	return n, false, "", fmt.Errorf("reading %s: %v", safetext.Line(target), safetext.Line(err.Error()))
}

// decodePage reads a page, {..., "FIELD": [entry, ...], ...}, as a stream:
// it decodes entries one at a time and stops at room, so a page listing
// thousands of entries costs no more than room of them.
func decodePage[T any](r io.Reader, field string, room int, out *[]T) (n int, more bool, err error) {
	dec := json.NewDecoder(r)
	if err := delim(dec, '{', reflect.TypeFor[map[string]any]()); err != nil {
		return 0, false, err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return n, false, err
		}
		if key != field {
			if err := skip(dec); err != nil {
				return n, false, err
			}
			continue
		}
		tok, err := dec.Token()
		if err != nil {
			return n, false, err
		}
		if tok == nil { // null: an empty list
			continue
		}
		if tok != json.Delim('[') {
			return n, false, &json.UnmarshalTypeError{Value: fmt.Sprint(tok), Type: reflect.TypeFor[[]T](), Field: field}
		}
		for dec.More() {
			if n == room {
				return n, true, nil
			}
			var v T
			if err := dec.Decode(&v); err != nil {
				return n, false, err
			}
			*out = append(*out, v)
			n++
		}
		if err := delim(dec, ']', reflect.TypeFor[[]T]()); err != nil {
			return n, false, err
		}
	}
	return n, false, delim(dec, '}', reflect.TypeFor[map[string]any]())
}

// delim reads the next token, which must be d, the edge of a value of
// type t.
func delim(dec *json.Decoder, d json.Delim, t reflect.Type) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return &json.UnmarshalTypeError{Value: fmt.Sprint(tok), Type: t}
	}
	return nil
}

// skip reads past one value of any kind, token by token, so a large value
// beside the list is never held whole.
func skip(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
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
