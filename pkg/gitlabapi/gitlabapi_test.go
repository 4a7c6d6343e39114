package gitlabapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/gitlabtest"
)

func TestUserUnderABasePath(t *testing.T) {
	srv := gitlabtest.NewServer(gitlabtest.Options{BasePath: "/gitlab"})
	defer srv.Close()
	tok, err := srv.SignIn("ada", "read_user")
	if err != nil {
		t.Fatal(err)
	}
	u, err := (&gitlabapi.Client{Base: srv.URL, Token: tok}).User(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "ada" || u.ID == 0 {
		t.Errorf("got %+v", u)
	}
}

func TestMissingScopeIsTold(t *testing.T) {
	srv := gitlabtest.NewServer(gitlabtest.Options{})
	defer srv.Close()
	tok, err := srv.SignIn("ada", "write_repository")
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&gitlabapi.Client{Base: srv.URL, Token: tok}).User(context.Background())
	var se *gitlabapi.StatusError
	if !errors.As(err, &se) || !se.InsufficientScope() {
		t.Fatalf("got %v, want an insufficient_scope StatusError", err)
	}
	if strings.Contains(err.Error(), tok) {
		t.Error("the error carries the token")
	}
}

func TestRevoke(t *testing.T) {
	srv := gitlabtest.NewServer(gitlabtest.Options{})
	defer srv.Close()
	tok, err := srv.SignIn("ada", "read_user")
	if err != nil {
		t.Fatal(err)
	}
	if err := gitlabapi.Revoke(context.Background(), nil, srv.URL, gitlabtest.DefaultClientID, tok); err != nil {
		t.Fatal(err)
	}
	_, err = (&gitlabapi.Client{Base: srv.URL, Token: tok}).User(context.Background())
	var se *gitlabapi.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Fatalf("after revoking: %v, want HTTP 401", err)
	}
}
