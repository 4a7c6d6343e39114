package deviceflow

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// GitHub takes 50 device-code submissions an hour per app. What it
// answers past that is undocumented: HTTP 429, a 403 that says the rate
// limit is used up, or slow_down after slow_down. A class signing in at
// once on one app meets it.

// maxRetryWait is the longest wait a server's rate-limit headers are
// believed for; past it the time is taken as unknown.
const maxRetryWait = 24 * time.Hour

// rateLimited says whether the answer refuses the request for a rate
// limit, and when the server says to come back (zero when it does not).
func rateLimited(a *answer, now time.Time) (bool, time.Time) {
	switch {
	case a.status == http.StatusTooManyRequests:
	case a.status == http.StatusForbidden && strings.TrimSpace(remaining(a.header)) == "0":
	default:
		return false, time.Time{}
	}
	return true, retryAt(a.header, now)
}

func remaining(h http.Header) string {
	if v := h.Get("X-RateLimit-Remaining"); v != "" {
		return v
	}
	return h.Get("RateLimit-Remaining") // GitLab's spelling
}

// retryAt reads Retry-After (seconds or an HTTP date), else
// X-RateLimit-Reset or GitLab's RateLimit-Reset (Unix seconds); zero when
// none is usable.
func retryAt(h http.Header, now time.Time) time.Time {
	var at time.Time
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n <= int64(maxRetryWait/time.Second) {
			at = now.Add(time.Duration(n) * time.Second)
		} else if t, err := http.ParseTime(v); err == nil {
			at = t
		}
	}
	if at.IsZero() {
		for _, name := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
			if n, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64); err == nil && n > 0 && n < math.MaxInt32*4 {
				at = time.Unix(n, 0)
				break
			}
		}
	}
	if at.IsZero() || at.Before(now) || at.Sub(now) > maxRetryWait {
		return time.Time{}
	}
	return at
}

// rateLimitError is the one line for a refusal: who refuses, when to try
// again, and what an administrator can do about it.
func (f *Flow) rateLimitError(at time.Time) error {
	when := "in a few minutes"
	if !at.IsZero() {
		mins := int(math.Ceil(at.Sub(f.now()).Minutes()))
		unit := "minutes"
		if mins <= 1 {
			mins, unit = 1, "minute"
		}
		when = fmt.Sprintf("at %s (in %d %s)", at.Local().Format("15:04"), mins, unit)
	}
	srv := host(f.DeviceCodeURL)
	return kinded{fmt.Errorf("%s is rate-limiting sign-ins for this %s; try again %s; administrators: see docs/github-app.md#sizing", srv, f.appKind(), when), ErrRateLimited}
}
