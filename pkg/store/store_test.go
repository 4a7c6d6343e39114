package store

import (
	"errors"
	"testing"
	"time"
)

const gh = "https://github.com"

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func tk(login, access string, minted time.Time) Token {
	return Token{Origin: gh, Login: login, AccessToken: access, Expiry: minted.Add(8 * time.Hour), Minted: minted}
}

func logins(toks []Token) []string {
	var ls []string
	for _, t := range toks {
		ls = append(ls, t.Origin+" "+t.Login+" "+t.AccessToken)
	}
	return ls
}

func TestPickIgnoresLoginCase(t *testing.T) {
	toks := []Token{tk("octocat", "a", t0), tk("hubot", "b", t0.Add(time.Minute))}
	got, err := Pick(toks, gh, "OctoCat")
	if err != nil || got.Login != "octocat" {
		t.Errorf("Pick(OctoCat) = %q, %v; want octocat's token, spelt as put", got.Login, err)
	}
	if got, err := Pick(toks, gh, ""); err != nil || got.Login != "hubot" {
		t.Errorf("Pick(\"\") = %q, %v; want the newest, hubot", got.Login, err)
	}
	if _, err := Pick(toks, "https://GITHUB.com", "octocat"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Pick on another spelling of the origin: %v; want ErrNotFound (origins are compared as given)", err)
	}
}

func TestDropIgnoresLoginCase(t *testing.T) {
	other := Token{Origin: "https://ghes.example.test", Login: "octocat", AccessToken: "c"}
	toks := []Token{tk("octocat", "a", t0), tk("hubot", "b", t0), other}
	if got := Drop(toks, gh, "OCTOCAT"); len(got) != 2 || got[0].Login != "hubot" || got[1] != other {
		t.Errorf("Drop(OCTOCAT) left %q; want hubot's and the other origin's", logins(got))
	}
	if got := Drop(toks, gh, ""); len(got) != 1 || got[0] != other {
		t.Errorf("Drop(\"\") left %q; want only the other origin's", logins(got))
	}
}

func TestReplace(t *testing.T) {
	kept := []Token{tk("octocat", "a", t0), tk("hubot", "b", t0)}

	newer := tk("OctoCat", "a2", t0.Add(time.Minute))
	got, err := Replace(kept, newer)
	if err != nil {
		t.Fatalf("Replace with a newer token: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("Replace with a newer token under another case left %q; want one token an account", logins(got))
	}
	if p, _ := Pick(got, gh, "octocat"); p.AccessToken != "a2" || p.Login != "OctoCat" {
		t.Errorf("after Replace the account holds %q as %q; want a2 as OctoCat", p.AccessToken, p.Login)
	}

	same := tk("octocat", "a3", t0)
	if _, err := Replace(kept, same); err != nil {
		t.Errorf("Replace with a token minted at the same time: %v; want it kept", err)
	}

	older := tk("octocat", "old", t0.Add(-time.Minute))
	got, err = Replace(kept, older)
	if !errors.Is(err, ErrStale) {
		t.Fatalf("Replace with an older token: %v; want ErrStale", err)
	}
	if p, _ := Pick(got, gh, "octocat"); p.AccessToken != "a" || len(got) != 2 {
		t.Errorf("Replace refused with ErrStale but returned %q", logins(got))
	}

	if got, err := Replace(kept, tk("newcomer", "n", t0.Add(-time.Hour))); err != nil || len(got) != 3 {
		t.Errorf("Replace for a new account = %q, %v; want it added, however old", logins(got), err)
	}
}

func TestReplaceKeepsRefreshFields(t *testing.T) {
	until := t0.Add(30 * 24 * time.Hour)
	withRefresh := tk("octocat", "a", t0)
	withRefresh.RefreshToken, withRefresh.RefreshUntil = "ghr_fake", until
	kept := []Token{withRefresh}

	// A write-back of what Get returned: same access token, no refresh.
	back := tk("OCTOCAT", "a", t0)
	got, err := Replace(kept, back)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := Pick(got, gh, "octocat"); p.RefreshToken != "ghr_fake" || !p.RefreshUntil.Equal(until) {
		t.Errorf("a write-back without refresh fields lost them: %q until %v", p.RefreshToken, p.RefreshUntil)
	}

	// A renewal carries its own.
	renewed := tk("octocat", "a2", t0.Add(time.Hour))
	renewed.RefreshToken, renewed.RefreshUntil = "ghr_fake2", until.Add(time.Hour)
	got, _ = Replace(kept, renewed)
	if p, _ := Pick(got, gh, "octocat"); p.RefreshToken != "ghr_fake2" || !p.RefreshUntil.Equal(renewed.RefreshUntil) {
		t.Errorf("a renewal's refresh fields were not kept: %q", p.RefreshToken)
	}

	// Another access token without refresh fields is a new sign-in: the
	// old refresh token belongs to the old grant and goes.
	signin := tk("octocat", "b", t0.Add(time.Hour))
	got, _ = Replace(kept, signin)
	if p, _ := Pick(got, gh, "octocat"); p.RefreshToken != "" || !p.RefreshUntil.IsZero() {
		t.Errorf("a new access token inherited the old refresh token")
	}
}

func TestMerge(t *testing.T) {
	until := t0.Add(time.Hour)
	old := Token{AccessToken: "a", RefreshToken: "r", RefreshUntil: until}
	for _, c := range []struct {
		name      string
		t         Token
		wantToken string
		wantUntil time.Time
	}{
		{"same token without refresh", Token{AccessToken: "a"}, "r", until},
		{"same token with its own refresh", Token{AccessToken: "a", RefreshToken: "r2", RefreshUntil: t0}, "r2", t0},
		{"another token", Token{AccessToken: "b"}, "", time.Time{}},
	} {
		got := Merge(old, c.t)
		if got.RefreshToken != c.wantToken || !got.RefreshUntil.Equal(c.wantUntil) || got.AccessToken != c.t.AccessToken {
			t.Errorf("%s: Merge = %q/%q until %v; want %q until %v", c.name, got.AccessToken, got.RefreshToken, got.RefreshUntil, c.wantToken, c.wantUntil)
		}
	}
}
