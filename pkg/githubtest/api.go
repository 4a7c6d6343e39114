package githubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/standin"
)

// apiLogin returns the login of the live access token the request carries
// ("Bearer" or "token"), or answers 401 as GitHub does and returns "".
func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) string {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	now := s.opts.Now()
	s.mu.Lock()
	t := s.tokens[strings.TrimSpace(tok)]
	ok := (strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "token")) && t.live(now) && !t.refresh
	s.mu.Unlock()
	if !ok {
		s.logf("%s %s: 401 Bad credentials", r.Method, r.URL.Path)
		standin.WriteJSON(w, http.StatusUnauthorized, map[string]any{
			"message":           "Bad credentials",
			"documentation_url": "https://docs.github.com/rest",
		})
		return ""
	}
	return t.login
}

// signedIn serves h to requests with a live access token, with the login
// it acts as; others get apiLogin's 401.
func (s *Server) signedIn(h func(w http.ResponseWriter, r *http.Request, login string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if login := s.apiLogin(w, r); login != "" {
			h(w, r, login)
		}
	}
}

func (s *Server) handleUser(w http.ResponseWriter, r *http.Request, login string) {
	s.mu.Lock()
	a := s.accountLocked(login)
	s.mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, map[string]any{"login": a.login, "id": a.id, "type": "User"})
}

func (s *Server) handleInstallations(w http.ResponseWriter, r *http.Request, login string) {
	s.mu.Lock()
	all := s.visibleLocked(login)
	lo, hi := s.paginate(w, r, len(all))
	list := []map[string]any{}
	for _, in := range all[lo:hi] {
		selection := "all"
		if in.selected != nil {
			selection = "selected"
		}
		list = append(list, map[string]any{
			"id":                   in.id,
			"app_slug":             s.opts.AppSlug,
			"account":              accountJSON(in.account),
			"repository_selection": selection,
			"permissions":          map[string]string{"contents": in.contents, "metadata": "read"},
		})
	}
	s.mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, map[string]any{"total_count": len(all), "installations": list})
}

func (s *Server) handleInstallationRepos(w http.ResponseWriter, r *http.Request, login string) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	var inst *installation
	for _, in := range s.visibleLocked(login) {
		if in.id == id {
			inst = in
		}
	}
	if inst == nil {
		s.mu.Unlock()
		standin.WriteJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
		return
	}
	all := s.reposLocked(inst)
	lo, hi := s.paginate(w, r, len(all))
	list := []map[string]any{}
	for _, rp := range all[lo:hi] {
		list = append(list, map[string]any{
			"id":        rp.id,
			"name":      rp.name,
			"full_name": rp.fullName(),
			"private":   !rp.public,
			"owner":     accountJSON(rp.owner),
		})
	}
	s.mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, map[string]any{"total_count": len(all), "repositories": list})
}

func accountJSON(a *account) map[string]any {
	return map[string]any{"login": a.login, "id": a.id, "type": a.kind()}
}

// paginate reads per_page (default 30, at most 100) and page, sets a
// GitHub-style Link header, and returns the slice bounds of the page.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, n int) (lo, hi int) {
	q := r.URL.Query()
	perPage, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || perPage < 1 {
		perPage = 30
	}
	perPage = min(perPage, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	last := max(1, (n+perPage-1)/perPage)
	link := func(p int, rel string) string {
		q.Set("per_page", strconv.Itoa(perPage))
		q.Set("page", strconv.Itoa(p))
		return fmt.Sprintf(`<%s%s?%s>; rel="%s"`, s.URL, r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo = min((page-1)*perPage, n)
	return lo, min(lo+perPage, n)
}

// handleRevoke is POST /credentials/revoke: unauthenticated, as on GitHub.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Credentials []string `json:"credentials"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || len(body.Credentials) == 0 || len(body.Credentials) > 1000 {
		standin.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message":           "Invalid request: credentials must be a list of 1 to 1000 strings.",
			"documentation_url": "https://docs.github.com/rest/credentials/revoke",
		})
		return
	}
	for _, c := range body.Credentials {
		s.Revoke(c)
	}
	standin.WriteJSON(w, http.StatusAccepted, map[string]any{})
}
