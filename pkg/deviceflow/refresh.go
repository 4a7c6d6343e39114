package deviceflow

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// Refresh trades a refresh token for a new access token and a new refresh
// token (GitHub rotates them: the old pair dies). Tokens from the device
// flow refresh without a client secret. The request, which carries the
// refresh token, follows no redirect.
func (f *Flow) Refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, githubapi.NoRedirects(f.HTTP))
	cfg := &oauth2.Config{
		ClientID: f.ClientID,
		Endpoint: oauth2.Endpoint{TokenURL: f.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
	tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
	var re *oauth2.RetrieveError
	if rd := redirect(err); rd != nil {
		return nil, rd
	}
	switch {
	case errors.As(err, &re):
		return nil, fmt.Errorf("%s refused to renew the token: %s", host(f.TokenURL), describe(re.ErrorCode, re.ErrorDescription))
	case err != nil:
		return nil, fmt.Errorf("renewing the token at %s failed: %v", host(f.TokenURL), safetext.Line(err.Error()))
	case tok.RefreshToken == "" || tok.RefreshToken == refreshToken:
		// Without rotation the next renewal would reuse a dead token.
		return nil, fmt.Errorf("%s renewed the token without a new refresh token", host(f.TokenURL))
	}
	return tok, nil
}
