package standin

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// CodeState is how far a device code has come.
type CodeState int

const (
	CodePending CodeState = iota
	CodeApproved
	CodeDenied
	CodeUsed // redeemed, or (GitLab) reported expired or denied: polls with it get an unknown-code error
)

// DeviceCode is one device code. U is the forge's user.
type DeviceCode[U any] struct {
	Device, User string // the secret the client polls with; what the person types
	Expires      time.Time
	LastPoll     time.Time // the forges differ on where it starts and when it moves
	Interval     int       // seconds between polls (GitHub raises it with each slow_down)
	Scopes       []string  // what the code grants (GitLab)
	State        CodeState
	Approver     U // who authorized it
}

// Pending says whether the code still waits for the person.
func (c *DeviceCode[U]) Pending(now time.Time) bool {
	return c.State == CodePending && now.Before(c.Expires)
}

// DeviceRules is what Devices needs of the server holding it. Its
// functions are called with Mu held.
type DeviceRules[U any] struct {
	Pkg           string      // starts error messages: "githubtest"
	Mu            *sync.Mutex // the server's lock, which guards the codes too
	Now           func() time.Time
	Logf          func(format string, args ...any) // must never be given a token
	TokenLifetime time.Duration                    // of access tokens, until SetTokenLifetime

	NewUserCode       func() string               // a fresh user code in the forge's format
	NormalizeUserCode func(typed string) string   // a user code as a person may type it, as issued
	User              func(name string) (U, bool) // the existing user called name
	MakeUser          func(name string) U         // makes name a user if it is not one
	UserName          func(U) string
}

// Devices keeps what the device flow of a stand-in has issued: device
// codes and the tokens minted. The server's handlers use it; tests steer
// it through Controls.
type Devices[U any] struct {
	rules         DeviceRules[U]
	codes         map[string]*DeviceCode[U] // by device code
	userCodes     map[string]*DeviceCode[U] // by user code
	order         []*DeviceCode[U]
	issued        []string // tokens, oldest first
	tokenLifetime time.Duration
	autoApprove   *U // nil: off
	autoDeny      bool
	onCode        func(userCode string)
}

// NewDevices returns the bookkeeping and the controls over it that the
// server embeds.
func NewDevices[U any](rules DeviceRules[U]) (*Devices[U], Controls[U]) {
	d := &Devices[U]{
		rules:         rules,
		codes:         map[string]*DeviceCode[U]{},
		userCodes:     map[string]*DeviceCode[U]{},
		tokenLifetime: rules.TokenLifetime,
	}
	return d, Controls[U]{d}
}

// Issue files c, whose device code the caller has set, under a fresh user
// code, settles it at once if AutoApprove or AutoDeny is on, and calls the
// OnDeviceCode hook. issued ends the log line, e.g. "issued, valid for 5m0s".
func (d *Devices[U]) Issue(c *DeviceCode[U], issued string) {
	d.rules.Mu.Lock()
	for c.User == "" || d.userCodes[c.User] != nil {
		c.User = d.rules.NewUserCode()
	}
	d.codes[c.Device], d.userCodes[c.User] = c, c
	d.order = append(d.order, c)
	switch {
	case d.autoDeny:
		c.State = CodeDenied
	case d.autoApprove != nil:
		c.State, c.Approver = CodeApproved, *d.autoApprove
	}
	state, approver, hook := c.State, c.Approver, d.onCode
	d.rules.Mu.Unlock()

	d.rules.Logf("device code %s %s", c.User, issued)
	switch state {
	case CodeDenied:
		d.rules.Logf("device code %s denied (auto-deny)", c.User)
	case CodeApproved:
		d.rules.Logf("device code %s authorized by %s (auto-approve)", c.User, d.rules.UserName(approver))
	}
	// Synchronous, so that the hook has seen the code before the client has.
	if hook != nil {
		hook(c.User)
	}
}

// CodeLocked returns the code the client polls with, or nil.
func (d *Devices[U]) CodeLocked(device string) *DeviceCode[U] {
	return d.codes[device]
}

// MintedLocked records a token the server has just minted.
func (d *Devices[U]) MintedLocked(token string) {
	d.issued = append(d.issued, token)
}

// TokenLifetimeLocked is the lifetime of access tokens issued now.
func (d *Devices[U]) TokenLifetimeLocked() time.Duration {
	return d.tokenLifetime
}

// DeviceSecrets returns every device code ever issued (the secret the
// client polls with), oldest first.
func (d *Devices[U]) DeviceSecrets() []string {
	d.rules.Mu.Lock()
	defer d.rules.Mu.Unlock()
	out := make([]string, len(d.order))
	for i, c := range d.order {
		out[i] = c.Device
	}
	return out
}

// Controls are the methods a test steers a stand-in's device flow with.
// The server embeds them, so they are its own.
type Controls[U any] struct{ d *Devices[U] }

func (c Controls[U]) lock() func() {
	c.d.rules.Mu.Lock()
	return c.d.rules.Mu.Unlock
}

// AutoApprove makes every device code issued from now on authorized as
// name at once, as if the person confirmed it immediately. name becomes a
// user if it was not one. "" turns auto-approval off. It turns AutoDeny
// off.
func (c Controls[U]) AutoApprove(name string) {
	defer c.lock()()
	if name == "" {
		c.d.autoApprove = nil
		return
	}
	u := c.d.rules.MakeUser(name)
	c.d.autoApprove, c.d.autoDeny = &u, false
}

// AutoDeny makes every device code issued from now on refused by the
// person. Turning it on turns AutoApprove off.
func (c Controls[U]) AutoDeny(on bool) {
	defer c.lock()()
	c.d.autoDeny = on
	if on {
		c.d.autoApprove = nil
	}
}

// Approve authorizes a pending device code as name, as the person would on
// the device page. The code may be typed as a person types it: case,
// spaces and dashes do not matter.
func (c Controls[U]) Approve(userCode, name string) error {
	defer c.lock()()
	u, ok := c.d.rules.User(name)
	if !ok {
		return fmt.Errorf("%s: no user %q (add it with AddUser)", c.d.rules.Pkg, name)
	}
	code, err := c.pendingLocked(userCode)
	if err != nil {
		return err
	}
	code.State, code.Approver = CodeApproved, u
	c.d.rules.Logf("device code %s authorized by %s", code.User, c.d.rules.UserName(u))
	return nil
}

// Deny refuses a pending device code, as the person pressing the page's
// cancel button would; the client's next poll gets access_denied.
func (c Controls[U]) Deny(userCode string) error {
	defer c.lock()()
	code, err := c.pendingLocked(userCode)
	if err != nil {
		return err
	}
	code.State = CodeDenied
	c.d.rules.Logf("device code %s denied", code.User)
	return nil
}

func (c Controls[U]) pendingLocked(userCode string) (*DeviceCode[U], error) {
	code := c.d.userCodes[c.d.rules.NormalizeUserCode(userCode)]
	if code == nil {
		return nil, fmt.Errorf("%s: no device code %q was issued", c.d.rules.Pkg, userCode)
	}
	if !code.Pending(c.d.rules.Now()) {
		return nil, fmt.Errorf("%s: device code %s is no longer pending (authorized, denied or expired)", c.d.rules.Pkg, code.User)
	}
	return code, nil
}

// PendingCodes returns the user codes not yet authorized, denied or
// expired, oldest first.
func (c Controls[U]) PendingCodes() []string {
	now := c.d.rules.Now()
	defer c.lock()()
	var out []string
	for _, code := range c.d.order {
		if code.Pending(now) {
			out = append(out, code.User)
		}
	}
	return out
}

// OnDeviceCode sets a hook called with each user code as it is issued,
// before the client receives it, on the request's goroutine: a hook that
// blocks delays the answer. nil removes it.
func (c Controls[U]) OnDeviceCode(f func(userCode string)) {
	defer c.lock()()
	c.d.onCode = f
}

// DeviceCodesIssued returns how many device codes have been issued.
func (c Controls[U]) DeviceCodesIssued() int {
	defer c.lock()()
	return len(c.d.order)
}

// IssuedTokens returns every access and refresh token ever issued, oldest
// first, so that tests can look for them where they must not be.
func (c Controls[U]) IssuedTokens() []string {
	defer c.lock()()
	return append([]string(nil), c.d.issued...)
}

// SetTokenLifetime sets the lifetime of access tokens issued from now on.
func (c Controls[U]) SetTokenLifetime(d time.Duration) {
	defer c.lock()()
	c.d.tokenLifetime = d
}

// DefaultTiming fills in the timing a stand-in's options leave unset: a
// poll interval of 5 s, the forge's code and token lifetimes, the real
// clock.
func DefaultTiming(interval *int, codeLifetime, tokenLifetime *time.Duration, now *func() time.Time, forgeCode, forgeToken time.Duration) {
	if *interval <= 0 {
		*interval = 5
	}
	if *codeLifetime <= 0 {
		*codeLifetime = forgeCode
	}
	if *tokenLifetime <= 0 {
		*tokenLifetime = forgeToken
	}
	if *now == nil {
		*now = time.Now
	}
}

// The grant types of the token endpoint.
const (
	GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	GrantRefresh    = "refresh_token"
)

// ByGrant hands a token request to the handler of its grant_type:
// redeem for the device code grant, refresh for refresh_token, other for
// any other.
func ByGrant(w http.ResponseWriter, r *http.Request, redeem, refresh, other http.HandlerFunc) {
	switch r.FormValue("grant_type") {
	case GrantDeviceCode:
		redeem(w, r)
	case GrantRefresh:
		refresh(w, r)
	default:
		other(w, r)
	}
}
