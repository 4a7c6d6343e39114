package gitlabtest

import (
	"net/http"
	"slices"
	"strings"
)

// refresh rotates: the grant the refresh token belongs to dies, access
// token included, and a new pair is issued with the same scopes, or with
// fewer if the client asks.
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	s.mu.Lock()
	old := s.byRefresh[r.FormValue("refresh_token")]
	if old == nil || old.revoked {
		s.mu.Unlock()
		s.logf("refresh refused: unknown, used or revoked refresh token")
		s.tokenError(w, "invalid_grant")
		return
	}
	scopes := old.scopes
	if asked := strings.Fields(r.FormValue("scope")); len(asked) > 0 {
		scopes = nil
		for _, sc := range asked {
			if !slices.Contains(old.scopes, sc) {
				s.mu.Unlock()
				s.logf("refresh refused: scope %q was not granted", logSafe(sc))
				s.tokenError(w, "invalid_scope")
				return
			}
			if !slices.Contains(scopes, sc) {
				scopes = append(scopes, sc)
			}
		}
	}
	old.revoked = true
	reply := s.issueLocked(old.user, scopes, now)
	s.mu.Unlock()
	s.logf("token of %s refreshed; the old access and refresh tokens are revoked", old.user.username)
	writeOAuth(w, http.StatusOK, reply)
}

// handleRevoke is doorkeeper's POST /oauth/revoke for a public client: an
// unknown token is not an error, a known one dies with its pair.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if !s.clientOK(r) {
		s.logf("revocation refused: %s", s.clientProblem(r))
		s.oauthError(w, "unauthorized_client", http.StatusForbidden)
		return
	}
	s.Revoke(r.FormValue("token"))
	writeOAuth(w, http.StatusOK, map[string]any{})
}

// Revoke kills an access or refresh token; unknown tokens are ignored.
// As in doorkeeper, an access token and its refresh token are one record:
// revoking either kills both.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.byAccess[token]
	if g == nil {
		g = s.byRefresh[token]
	}
	if g != nil && !g.revoked {
		g.revoked = true
		s.logf("a token of %s was revoked", g.user.username)
	}
}

// RevokeAll kills every token issued so far.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.byAccess {
		g.revoked = true
	}
	s.logf("all tokens revoked")
}
