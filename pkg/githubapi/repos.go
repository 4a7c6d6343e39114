package githubapi

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// RepoAccess is what GET /repos/{owner}/{repo} tells the token's user
// about a repository it can see.
type RepoAccess struct {
	FullName    string `json:"full_name"`
	Private     bool   `json:"private"`
	Permissions struct {
		Admin bool `json:"admin"`
		Push  bool `json:"push"`
		Pull  bool `json:"pull"`
	} `json:"permissions"`
}

// Repo asks about the repository fullName (owner/name). GitHub answers a
// *StatusError with Status 404 both for a repository that does not exist
// and for a private one the token cannot see.
func (c *Client) Repo(ctx context.Context, fullName string) (RepoAccess, error) {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return RepoAccess{}, fmt.Errorf("%q is not OWNER/NAME", safetext.Short(fullName, 200))
	}
	var r RepoAccess
	if err := c.get(ctx, "/repos/"+url.PathEscape(owner)+"/"+url.PathEscape(name), &r); err != nil {
		return RepoAccess{}, err
	}
	if r.FullName == "" {
		r.FullName = fullName
	}
	return r, nil
}
