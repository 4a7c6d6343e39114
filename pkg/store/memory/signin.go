package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// Sign-ins the daemon runs for git commands that may not wait on the
// device flow. They are keyed exactly by origin and folded login, as
// tokens are: a sign-in for "any account" (login "") is apart from one for
// a named account, and neither ends the other's waiters, even when both
// sign in the same person. A token either brings is kept by Put's rules.

const (
	// signInLimit bounds a whole flow, the wait for its code included.
	signInLimit = 16 * time.Minute
	// signInMargin is how long a flow may go on after its code expired:
	// a code entered at the last moment is still redeemed on the next poll.
	signInMargin = 30 * time.Second
	// signInForget is how long a failure nobody was told about is kept,
	// and keeps the daemon alive, for the next git command to report.
	signInForget = 15 * time.Minute
)

var (
	errNoSignIns = errors.New("the token daemon runs no sign-ins")
	errNoCode    = fmt.Errorf("the server gave no sign-in code within %v", signInLimit)
)

// signIn is one device flow run by the table. Its fields are guarded by
// the table's mu.
type signIn struct {
	k       key
	req     store.SignInRequest
	started time.Time
	cancel  context.CancelFunc

	shown   chan struct{} // closed once the code is known or the outcome is
	hasCode bool
	code    store.SignIn
	// before is how the sign-in this one replaced failed, for the first
	// caller handed this one's code; "" once told.
	before string

	done    chan struct{} // closed once the outcome is known
	tok     store.Token   // the kept token, without its refresh token
	err     error         // or why the sign-in failed, as one line
	endedAt time.Time
}

func (si *signIn) decided() bool {
	select {
	case <-si.done:
		return true
	default:
		return false
	}
}

// StartSignIn returns the code of the sign-in under way for req's origin
// and login, starting one when there is none or the last one ended; see
// store.SignIns. A caller that finds a sign-in still waiting for its code
// waits for it too, so that one code serves them all. It returns the
// flow's error when the flow fails before it has a code, ctx's when the
// caller gives up first; the flow goes on either way.
func (tb *table) StartSignIn(ctx context.Context, req store.SignInRequest) (store.SignIn, error) {
	if tb.opts.SignIn == nil {
		return store.SignIn{}, errNoSignIns
	}
	k := keyOf(req.Origin, req.Login)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for {
		if tb.closing {
			return store.SignIn{}, errClosed
		}
		if err := ctx.Err(); err != nil {
			return store.SignIn{}, err
		}
		now := tb.opts.Now()
		tb.expireSignIns(now)
		si := tb.signIns[k]
		if si == nil || si.decided() {
			// The caller looked before a sign-in that just ended kept its
			// token: a new code would only be a second one to enter.
			if _, t, ok := tb.pick(req.Origin, req.Login, now); ok && t.Usable(now) && !req.EvenIfSignedIn {
				return store.SignIn{}, store.ErrSignedIn
			}
			si = tb.startSignIn(k, req, si, now)
		}
		if !si.hasCode && !si.decided() {
			if err := tb.waitUnlocked(ctx, si.shown); err != nil {
				return store.SignIn{}, err
			}
		}
		switch {
		case si.hasCode && (!si.decided() || si.err == nil):
			// Ended only on the rare success between the code and this
			// caller's turn: the token is kept, and the code still says
			// which sign-in it was.
			state := si.code
			state.Ended, si.before = si.before, ""
			return state, nil
		case si.decided() && !si.hasCode:
			tb.told(si)
			return store.SignIn{}, si.err
		}
		// It failed after showing its code, before this caller's turn:
		// start over, reporting that failure as the one before.
	}
}

// startSignIn runs a flow for k; last is the sign-in it replaces, ended,
// or nil. tb.mu is held.
func (tb *table) startSignIn(k key, req store.SignInRequest, last *signIn, now time.Time) *signIn {
	si := &signIn{
		k:       k,
		req:     req,
		started: now,
		shown:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	if last != nil && last.err != nil {
		si.before = last.err.Error()
	}
	ctx, cancel := context.WithTimeout(tb.ctx, signInLimit)
	si.cancel = cancel
	tb.signIns[k] = si
	tb.flows[si] = struct{}{}
	tb.work.Add(1)
	tb.poke()
	go func() {
		defer tb.work.Done()
		t, err := tb.opts.SignIn(ctx, req, func(s store.SignIn) { tb.shown(si, s) })
		cut := ctx.Err() != nil
		cancel()
		tb.signedIn(si, t, err, cut)
	}()
	return si
}

// shown records si's code, the first time its flow reports one.
func (tb *table) shown(si *signIn, s store.SignIn) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if si.hasCode || si.decided() {
		return
	}
	s.Origin, s.Login, s.Ended = si.req.Origin, si.req.Login, ""
	if s.Expiry.IsZero() {
		s.Expiry = si.started.Add(signInLimit) // no code outlives its flow
	}
	si.code, si.hasCode = s, true
	close(si.shown)
	tb.poke() // its expiry is a wake-up
}

// signedIn records how si's flow ended; cut says its context had ended,
// at its limit or the table's close. A token is kept even when the table
// already gave the sign-in up as expired: it is the newest there is.
func (tb *table) signedIn(si *signIn, t store.Token, err error, cut bool) {
	now := tb.opts.Now()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	delete(tb.flows, si)
	tb.poke()
	switch {
	case tb.closing:
		err = errClosed
	case err == nil && (t.AccessToken == "" || t.Origin == ""):
		err = errors.New("the sign-in ended without a token")
	case err != nil && cut && si.hasCode:
		err = si.expired()
	case err != nil && cut:
		err = errNoCode
	case err != nil:
		err = errors.New(oneLine(err.Error()))
	default:
		if perr := tb.putLocked(t, now); errors.Is(perr, store.ErrStale) {
			_, t, _ = tb.pick(t.Origin, t.Login, now) // the newer one is the answer
		} else if perr != nil {
			err = perr
		}
		t.RefreshToken = ""
	}
	if si.decided() {
		return
	}
	tb.decide(si, t, err, now)
}

// decide ends si with its outcome; tb.mu is held. A success leaves
// nothing to tell: the kept token says it.
func (tb *table) decide(si *signIn, t store.Token, err error, now time.Time) {
	si.tok, si.err, si.endedAt = t, err, now
	close(si.done)
	if !si.hasCode {
		close(si.shown)
	}
	if err == nil && tb.signIns[si.k] == si {
		delete(tb.signIns, si.k)
	}
}

// told forgets si's failure once a caller has it; tb.mu is held.
func (tb *table) told(si *signIn) {
	if tb.signIns[si.k] == si {
		delete(tb.signIns, si.k)
		tb.pokeIfIdle()
	}
}

// WaitSignIn waits until the sign-in under way for origin and login ends,
// ctx ends or the table closes; see store.SignIns. Giving up leaves the
// flow running.
func (tb *table) WaitSignIn(ctx context.Context, origin, login string) (store.Token, error) {
	k := keyOf(origin, login)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.closing {
		return store.Token{}, errClosed
	}
	now := tb.opts.Now()
	tb.expireSignIns(now)
	si := tb.signIns[k]
	if si == nil || si.decided() {
		if _, t, ok := tb.pick(origin, login, now); ok {
			t.RefreshToken = ""
			return t, nil
		}
		if si == nil {
			return store.Token{}, store.ErrNoSignIn
		}
	}
	if err := tb.waitUnlocked(ctx, si.done); err != nil {
		return store.Token{}, err
	}
	if si.err != nil {
		tb.told(si)
		return store.Token{}, si.err
	}
	return si.tok, nil
}

// waitUnlocked releases tb.mu until ch is closed, ctx ends or the table
// closes.
func (tb *table) waitUnlocked(ctx context.Context, ch <-chan struct{}) error {
	tb.mu.Unlock()
	defer tb.mu.Lock()
	select {
	case <-ch:
		return nil
	default:
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-tb.ctx.Done():
		return errClosed
	}
}

// PendingSignIns returns the codes waiting to be entered, the one that
// expires first first.
func (tb *table) PendingSignIns() []store.SignIn {
	now := tb.opts.Now()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.expireSignIns(now)
	var codes []store.SignIn
	for _, si := range tb.signIns {
		if si.hasCode && !si.decided() {
			s := si.code
			s.Ended = ""
			codes = append(codes, s)
		}
	}
	slices.SortFunc(codes, func(a, b store.SignIn) int {
		return cmp.Or(a.Expiry.Compare(b.Expiry), cmp.Compare(a.Origin, b.Origin), cmp.Compare(a.Login, b.Login))
	})
	return codes
}

// expireSignIns ends every sign-in whose code has expired, for its
// waiters and for the next StartSignIn, while its flow runs on for
// signInMargin; tb.mu is held.
func (tb *table) expireSignIns(now time.Time) {
	for _, si := range tb.signIns {
		if si.hasCode && !si.decided() && !now.Before(si.code.Expiry) {
			tb.decide(si, store.Token{}, si.expired(), now)
		}
	}
}

func (si *signIn) expired() error {
	// The device flow's own words for it, so that a person reads one
	// message for one thing, whichever process noticed first.
	return errors.New("device code expired before it was entered; run the git command again for a new code")
}

// nextSignIns ends what is due among the sign-ins (codes expired, flows
// past their limit, failures nobody asked about) and returns the next time
// one is due, or zero; tb.mu is held.
func (tb *table) nextSignIns(now time.Time) (wake time.Time) {
	tb.expireSignIns(now)
	for si := range tb.flows {
		limit := si.started.Add(signInLimit)
		if si.hasCode {
			limit = si.code.Expiry.Add(signInMargin)
		}
		if now.Before(limit) {
			wake = earliest(wake, limit)
		} else {
			si.cancel() // its end pokes the table
		}
	}
	for k, si := range tb.signIns {
		switch {
		case !si.decided():
			if si.hasCode {
				wake = earliest(wake, si.code.Expiry)
			}
		case now.Before(si.endedAt.Add(signInForget)):
			wake = earliest(wake, si.endedAt.Add(signInForget))
		default:
			delete(tb.signIns, k)
		}
	}
	return wake
}

// oneLine is the first line of a message, as a one-line reason.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if s = strings.TrimSpace(s); s == "" {
		return "the sign-in failed"
	}
	return s
}
