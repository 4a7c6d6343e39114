package status

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/origin"
)

// WriteText writes the report for people, e.g.
//
//	github.com: signed in as octocat (store auto)
//	  token expires in 7h42m, at 2025-01-02T11:04:05+01:00
//	  app my-app is installed on:
//	    octocat: selected repositories; contents: write, metadata: read
//	      octocat/hello
//	  install it on more repositories: https://github.com/apps/my-app/installations/new
func (r *Report) WriteText(w io.Writer, host *origin.Origin, now time.Time) {
	for _, p := range r.Pending {
		fmt.Fprintf(w, "%s: waiting for the code %s to be entered at %s (valid until %s)\n", p.Host, show(p.UserCode), show(p.VerificationURI), p.ExpiresAt.Local().Format("15:04"))
	}
	if len(r.Pending) > 0 && len(r.Accounts) > 0 {
		fmt.Fprintln(w)
	}
	if len(r.Accounts) == 0 {
		if len(r.Pending) > 0 {
			return
		}
		where := "to any GitHub server"
		if host != nil {
			where = "to " + host.HostPort()
		}
		fmt.Fprintf(w, "not signed in %s; sign in with: %s\n", where, r.SignIn)
		return
	}
	for i, a := range r.Accounts {
		if i > 0 {
			fmt.Fprintln(w)
		}
		on := ""
		if a.Provider == origin.GitLab {
			on = " on GitLab"
		}
		fmt.Fprintf(w, "%s: signed in as %s%s (store %s)\n", a.Host, show(a.Login), on, a.Store)
		at := a.ExpiresAt.Local().Format(time.RFC3339)
		if left := a.ExpiresAt.Sub(now); left > 0 {
			fmt.Fprintf(w, "  token expires %s, at %s\n", relative(left), at)
		} else {
			fmt.Fprintf(w, "  token expired at %s\n", at)
		}
		if !a.RefreshUntil.IsZero() {
			fmt.Fprintf(w, "  renewed before it expires until %s\n", a.RefreshUntil.Local().Format(time.RFC3339))
		}
		switch {
		case a.Provider == origin.GitLab:
		case len(a.Installations) > 0:
			fmt.Fprintf(w, "  app %s is installed on:\n", show(a.AppSlug))
			for _, in := range a.Installations {
				what := "all repositories"
				if in.RepositorySelection == "selected" {
					what = "selected repositories"
				}
				if p := permissions(in.Permissions); p != "" {
					what += "; " + p
				}
				fmt.Fprintf(w, "    %s: %s\n", show(in.Account), what)
				if in.RepositorySelection == "selected" && len(in.Repositories) == 0 {
					fmt.Fprintln(w, "      (none you can reach)")
				}
				for _, repo := range in.Repositories {
					fmt.Fprintf(w, "      %s\n", show(repo))
				}
			}
		case a.Error == "":
			fmt.Fprintln(w, "  the app is installed on no account you can reach, so git can reach no repository with this token: install the GitHub App on the repositories you need")
		}
		if a.Truncated {
			fmt.Fprintf(w, "  (the server listed more than %d installations or %d repositories; the list above is cut there)\n", githubapi.MaxInstallations, githubapi.MaxRepositories)
		}
		switch {
		case a.InstallURL != "" && len(a.Installations) == 0:
			fmt.Fprintf(w, "  install it on your repositories: %s\n", show(a.InstallURL))
		case a.InstallURL != "":
			fmt.Fprintf(w, "  install it on more repositories: %s\n", show(a.InstallURL))
		}
		if a.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", show(strings.Join(strings.Fields(a.Error), " ")))
		}
	}
}

// relative words how long is left: "in 7h42m", "in 5m", "in 30s".
func relative(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("in %ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("in %dm", int(d/time.Minute))
	}
	return fmt.Sprintf("in %dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

func permissions(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = show(k) + ": " + show(p[k])
	}
	return strings.Join(parts, ", ")
}

// show makes a server's text harmless on a terminal.
func show(s string) string { return safetext.Line(s) }
