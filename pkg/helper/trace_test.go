package helper

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/testsupport"
)

// The trace says why a lookup missed, and never shows the token.
func TestLookupVerdict(t *testing.T) {
	now := testsupport.Epoch
	o := origin.Origin{Scheme: "https", Host: "github.com"}
	const secret = "ghu_secretsecretsecret"
	tok := func(login string, left time.Duration) store.Token {
		return store.Token{Origin: o.String(), Login: login, AccessToken: secret, Expiry: now.Add(left), MinLifetime: time.Minute}
	}
	none := func() (store.Token, error) { return store.Token{}, store.ErrNotFound }
	octocat := func() (store.Token, error) { return tok("octocat", time.Hour), nil }
	for _, tt := range []struct {
		login string
		tok   store.Token
		err   error
		kept  func() (store.Token, error)
		want  string
	}{
		{"", tok("octocat", 8*time.Hour), nil, none, "hit for https://github.com: octocat, 8h0m0s left"},
		{"", store.Token{}, store.ErrNotFound, none, "miss for https://github.com: none kept"},
		{"bob", store.Token{}, store.ErrNotFound, none, "miss for https://github.com as bob: none kept"},
		{"bob", store.Token{}, store.ErrNotFound, octocat, "miss for https://github.com: login mismatch, the token kept is octocat's, the request names bob"},
		{"", tok("octocat", -time.Second), nil, none, "miss for https://github.com: octocat's token expired at "},
		{"", tok("octocat", 30*time.Second), nil, none, "miss for https://github.com: too little life left in octocat's token (30s, minLifetime 1m0s)"},
		{"", store.Token{}, errors.New("cannot read token file " + secret), none, "lookup for https://github.com failed"},
	} {
		got := lookupVerdict(o, tt.login, tt.tok, tt.err, tt.kept, now)
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("got %q, want %q", got, tt.want)
		}
		if strings.Contains(got, "secret") {
			t.Errorf("%q shows the token", got)
		}
	}
}
