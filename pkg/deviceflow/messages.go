package deviceflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/safetext"
)

// kinded is a message that is also one of the package's errors without
// starting with its text.
type kinded struct {
	error
	kind error
}

func (e kinded) Unwrap() []error { return []error{e.error, e.kind} }

// codeError explains a device-code answer that is not a code.
func (f *Flow) codeError(a *answer) error {
	fs, ok := a.fields()
	code, desc := fs["error"], fs["error_description"]
	if !ok {
		code, desc = errorFields(a.body)
	}
	srv := host(f.DeviceCodeURL)
	switch {
	case code == "device_flow_disabled":
		return f.disabled(srv)
	case code == "invalid_client" || code == "incorrect_client_credentials" || code == "Not Found" || (a.status == http.StatusNotFound && !f.gitlab()):
		return f.clientIDError(srv)
	case a.status == http.StatusNotFound:
		// GitLab before 17.2 (or 17.2 without the feature flag) has no
		// device grant, so its router answers 404.
		return fmt.Errorf("%s answered HTTP 404 to the device-code request: GitLab offers the device authorization grant from version 17.3 (17.2 with the feature flag oauth2_device_grant_flow); check the server's version and URL", srv)
	case a.status >= 500:
		return fmt.Errorf("%s answered HTTP %d to the device-code request: the server is having trouble; try again later", srv, a.status)
	case code != "":
		return fmt.Errorf("%s refused the device-code request: %s; check ghapp.clientId and the app's settings", srv, describe(code, desc))
	case a.status/100 != 2:
		return fmt.Errorf("%s answered HTTP %d to the device-code request; check that it is a %s server", srv, a.status, f.serverKind())
	}
	return fmt.Errorf("%s answered the device-code request with something that is not a device code; check that it is a %s server", srv, f.serverKind())
}

func (f *Flow) disabled(srv string) error {
	return fmt.Errorf("%w for this %s on %s: enable \"Device Flow\" in the app's settings (General > Identifying and authorizing users)", ErrDisabled, f.appKind(), srv)
}

func (f *Flow) clientIDError(srv string) error {
	if f.gitlab() {
		// GitLab answers invalid_client both for an unknown application
		// and for a confidential one, which is the usual cause.
		return kinded{fmt.Errorf("%s refused the application %s (invalid_client): the GitLab application must be non-confidential (untick \"Confidential\") and allow the device authorization grant; fix it under Preferences > Applications (or Admin > Applications) and check ghapp.<url>.clientId", srv, safetext.Short(f.ClientID, maxDescription)), ErrClientID}
	}
	return fmt.Errorf("%w: %q is not the client ID of a %s on %s; copy the Client ID (not the App ID) from the app's settings into ghapp.clientId", ErrClientID, f.ClientID, f.appKind(), srv)
}

// pollError explains an error code that ended the polling.
func (f *Flow) pollError(code, desc string) error {
	srv := host(f.TokenURL)
	switch code {
	case "access_denied":
		return fmt.Errorf("%w: the sign-in was cancelled on %s; run the git command again to retry", ErrDenied, srv)
	case "expired_token":
		return f.expired(throttle{})
	case "device_flow_disabled":
		return f.disabled(srv)
	case "incorrect_client_credentials", "invalid_client":
		return f.clientIDError(srv)
	case "incorrect_device_code", "unsupported_grant_type", "invalid_grant":
		return fmt.Errorf("%s rejected the device code (%s); run the git command again", srv, code)
	}
	return fmt.Errorf("%s ended the sign-in: %s; run the git command again", srv, describe(code, desc))
}

// expired says the code ran out, and whose doing that was when the server
// kept holding the polls back.
func (f *Flow) expired(held throttle) error {
	if held.storm() {
		return kinded{fmt.Errorf("%w while %s was slowing sign-ins down (%s); run the git command again for a new code, and if this keeps happening, too many people sign in to this %s at once (administrators: see docs/github-app.md#sizing)", ErrExpired, host(f.TokenURL), held, f.appKind()), ErrRateLimited}
	}
	return fmt.Errorf("%w before it was entered; run the git command again for a new code", ErrExpired)
}

// describe shows a server's error code and description as one short,
// printable line.
func describe(code, desc string) string {
	code, desc = safetext.Short(code, maxDescription), safetext.Short(desc, maxDescription)
	if desc == "" {
		return code
	}
	return code + " (" + desc + ")"
}

// errorFields reads "error" and "error_description" from a JSON or
// form-encoded body, whatever its content type says.
func errorFields(body []byte) (code, desc string) {
	var j struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &j) == nil {
		return j.Error, j.Description
	}
	if v, err := url.ParseQuery(string(body)); err == nil {
		return v.Get("error"), v.Get("error_description")
	}
	return "", ""
}

// host names the server of a configured URL, safe to show.
func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return safetext.Short(raw, maxURI)
	}
	return safetext.Line(u.Host)
}

// redirect returns the redirect that ended an x/oauth2 request, or nil:
// one refused by the client, or a 3xx answer net/http left alone.
func redirect(err error) *githubapi.RedirectError {
	var rd *githubapi.RedirectError
	if errors.As(err, &rd) {
		return rd
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return githubapi.Redirected(re.Response)
	}
	return nil
}
