package deviceflow

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/githubapi"
)

// answer is one answer of the device-code or token endpoint, its body
// read up to githubapi.MaxBody.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// post sends form to target, asking for JSON, and reads the answer. It
// follows no redirect: a 3xx comes back as a *githubapi.RedirectError.
// Any other failure is the transport's error, for the caller to word.
func (f *Flow) post(ctx context.Context, target string, form url.Values) (*answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Without it GitHub answers form-encoded; with it, JSON.
	req.Header.Set("Accept", "application/json")
	resp, err := githubapi.NoRedirects(f.HTTP).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if rd := githubapi.Redirected(resp); rd != nil {
		return nil, rd
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, githubapi.MaxBody))
	if err != nil {
		return nil, err
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// form says whether the answer is form-encoded, as GitHub answers a
// client that does not ask for JSON (and as x/oauth2 reads text/plain).
func (a *answer) form() bool {
	mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded" || mt == "text/plain"
}

// wire is every field the flow reads from a JSON answer. A field of the
// wrong type makes the whole answer unreadable, as it does for x/oauth2.
type wire struct {
	Error                   string          `json:"error"`
	ErrorDescription        string          `json:"error_description"`
	DeviceCode              string          `json:"device_code"`
	UserCode                string          `json:"user_code"`
	VerificationURI         string          `json:"verification_uri"`
	VerificationURL         string          `json:"verification_url"`
	VerificationURIComplete string          `json:"verification_uri_complete"`
	AccessToken             string          `json:"access_token"`
	TokenType               string          `json:"token_type"`
	RefreshToken            string          `json:"refresh_token"`
	ExpiresIn               json.RawMessage `json:"expires_in"`
	Interval                json.RawMessage `json:"interval"`
}

// fields reads the answer, JSON or form-encoded, into its fields by name;
// numbers are kept as written. false: the body is neither.
func (a *answer) fields() (map[string]string, bool) {
	if a.form() {
		v, err := url.ParseQuery(string(a.body))
		if err != nil {
			return nil, false
		}
		fs := map[string]string{}
		for k := range v {
			fs[k] = v.Get(k)
		}
		return fs, true
	}
	var w wire
	if err := json.Unmarshal(a.body, &w); err != nil || !strings.HasPrefix(strings.TrimSpace(string(a.body)), "{") {
		return nil, false
	}
	fs := map[string]string{
		"error": w.Error, "error_description": w.ErrorDescription,
		"device_code": w.DeviceCode, "user_code": w.UserCode,
		"verification_uri": w.VerificationURI, "verification_url": w.VerificationURL,
		"verification_uri_complete": w.VerificationURIComplete,
		"access_token":              w.AccessToken, "token_type": w.TokenType, "refresh_token": w.RefreshToken,
		"expires_in": number(w.ExpiresIn), "interval": number(w.Interval),
	}
	return fs, true
}

// raw is the whole answer for oauth2.Token.WithExtra, shaped as x/oauth2
// shapes it, so that Extra("refresh_token_expires_in") works as before.
func (a *answer) raw() any {
	if a.form() {
		v, _ := url.ParseQuery(string(a.body))
		return v
	}
	var m map[string]any
	json.Unmarshal(a.body, &m)
	return m
}

// number is a JSON number, or a string holding one, as written; "" for
// null or nothing, and the raw text for anything else (which seconds
// then refuses).
func number(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if t := strings.TrimSpace(string(raw)); t != "null" {
		return t
	}
	return ""
}

// seconds reads a count of seconds, held within ±MaxInt32 (x/oauth2's
// bound) so that no Duration overflows.
func seconds(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return max(min(n, math.MaxInt32), -math.MaxInt32), true
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) {
		return 0, false
	}
	return int64(max(min(x, math.MaxInt32), -math.MaxInt32)), true
}
