package memory

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// backgroundWait bounds one renewal or one reach lookup.
const backgroundWait = 30 * time.Second

// defaultReachTTL is how long a token's Reach is trusted before the daemon
// looks it up again, as reach.TTL.
const defaultReachTTL = 5 * time.Minute

// tableOptions configure a table; only Now is required.
type tableOptions struct {
	Now      func() time.Time
	IdleExit time.Duration
	Refresh  func(ctx context.Context, t store.Token) (store.Token, error)
	Reach    func(ctx context.Context, t store.Token) (*store.Reach, error)
	ReachTTL time.Duration
	SignIn   func(ctx context.Context, req store.SignInRequest, show func(store.SignIn)) (store.Token, error)
}

// errClosed answers a put that comes after the daemon decided to exit.
var errClosed = errors.New("the token daemon is exiting")

// key names one account on one origin. Logins are kept folded, since
// GitHub and GitLab compare them without case.
type key struct{ origin, login string }

func keyOf(origin, login string) key { return key{origin, foldLogin(login)} }

// foldLogin maps logins that differ only in case to one spelling, as
// strings.EqualFold compares them.
func foldLogin(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 {
			return strings.ToLower(strings.ToUpper(s))
		} else if 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// waiter is one place in the queue for a sign-in lock; granted is closed
// once it holds the lock.
type waiter struct {
	k       key
	granted chan struct{}
}

// table is everything the daemon knows, apart from sockets: the tokens,
// the sign-in lock queues, the sign-ins it runs (signin.go), what is open
// and what runs in the background.
// It reads the time only through its Now, so that tests can drive it with
// a fake clock; Next says when it must be looked at again.
type table struct {
	opts   tableOptions
	ctx    context.Context // ends background work once the table closes
	cancel context.CancelFunc

	mu         sync.Mutex
	tokens     map[key]store.Token
	renewing   map[key]bool
	reaching   map[key]bool
	reachRetry map[key]time.Time    // no lookup for the key before this, after one failed
	locks      map[key][]*waiter    // [0] holds the lock; the rest wait in order
	signIns    map[key]*signIn      // the last sign-in per key: running, or failed and not yet told
	flows      map[*signIn]struct{} // sign-ins whose flow still runs, replaced ones too
	open       int                  // connections being served
	busy       int                  // renewals and lookups under way
	idleSince  time.Time
	closing    bool

	changed chan struct{} // poked when Next may answer differently
	work    sync.WaitGroup
}

func newTable(opts tableOptions) *table {
	if opts.IdleExit <= 0 {
		opts.IdleExit = 30 * time.Second
	}
	if opts.ReachTTL <= 0 {
		opts.ReachTTL = defaultReachTTL
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &table{
		opts:       opts,
		ctx:        ctx,
		cancel:     cancel,
		tokens:     map[key]store.Token{},
		renewing:   map[key]bool{},
		reaching:   map[key]bool{},
		reachRetry: map[key]time.Time{},
		locks:      map[key][]*waiter{},
		signIns:    map[key]*signIn{},
		flows:      map[*signIn]struct{}{},
		changed:    make(chan struct{}, 1),
	}
}

// Changed is poked whenever Next may give another answer than it last did.
func (tb *table) Changed() <-chan struct{} { return tb.changed }

func (tb *table) poke() {
	select {
	case tb.changed <- struct{}{}:
	default:
	}
}

// Get returns the token for origin and login, or with an empty login the
// one minted last on origin, without its refresh token: that never leaves
// the daemon. A token whose Reach is missing or older than ReachTTL is
// handed out as it is, and its Reach looked up in the background, so that
// a get never waits on the network.
func (tb *table) Get(origin, login string) (store.Token, bool) {
	now := tb.opts.Now()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	k, t, ok := tb.pick(origin, login, now)
	if !ok {
		return store.Token{}, false
	}
	tb.maybeLookUpReach(k, t, now)
	t.RefreshToken = ""
	return t, true
}

// pick finds the unexpired token for origin and login; tb.mu is held.
func (tb *table) pick(origin, login string, now time.Time) (key, store.Token, bool) {
	if login != "" {
		k := keyOf(origin, login)
		t, ok := tb.tokens[k]
		return k, t, ok && now.Before(t.Expiry)
	}
	var (
		best  store.Token
		bestK key
		found bool
	)
	for k, t := range tb.tokens {
		if k.origin == origin && now.Before(t.Expiry) && (!found || t.Minted.After(best.Minted)) {
			best, bestK, found = t, k, true
		}
	}
	return bestK, best, found
}

// Put keeps t by store.Store's rules: store.ErrStale, keeping what it has,
// when the kept token was minted after t; the kept refresh fields carried
// over when t is the same access token without them. An expired t still
// replaces the kept one, leaving nothing.
func (tb *table) Put(t store.Token) error {
	now := tb.opts.Now()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.putLocked(t, now)
}

// putLocked is Put with tb.mu held.
func (tb *table) putLocked(t store.Token, now time.Time) error {
	if tb.closing {
		return errClosed
	}
	k := keyOf(t.Origin, t.Login)
	if old, ok := tb.tokens[k]; ok && now.Before(old.Expiry) {
		if old.Minted.After(t.Minted) {
			return store.ErrStale
		}
		t = store.Merge(old, t)
	}
	if now.Before(t.Expiry) {
		tb.tokens[k] = t
	} else {
		delete(tb.tokens, k)
	}
	tb.poke() // its expiry or renewal may come before the next wake-up
	return nil
}

// Delete forgets origin's token for login, or every token on origin when
// login is empty.
func (tb *table) Delete(origin, login string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	fold := foldLogin(login)
	for k := range tb.tokens {
		if k.origin == origin && (login == "" || k.login == fold) {
			delete(tb.tokens, k)
		}
	}
	tb.pokeIfIdle()
}

// List returns every unexpired token, newest first, without refresh tokens.
func (tb *table) List() []store.Token {
	now := tb.opts.Now()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	toks := make([]store.Token, 0, len(tb.tokens))
	for _, t := range tb.tokens {
		if now.Before(t.Expiry) {
			t.RefreshToken = ""
			toks = append(toks, t)
		}
	}
	store.SortNewestFirst(toks)
	return toks
}

// Enter counts a connection as open, unless the table is closing: then the
// connection must be turned away.
func (tb *table) Enter() bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.closing {
		return false
	}
	tb.open++
	return true
}

// Leave ends what Enter started.
func (tb *table) Leave() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.open--
	tb.pokeIfIdle()
}

// Lock queues for the sign-in lock of origin and login; the waiter's
// granted channel is closed once it holds it. Every waiter must be passed
// to Unlock once its connection ends, holder or not.
func (tb *table) Lock(origin, login string) *waiter {
	w := &waiter{k: keyOf(origin, login), granted: make(chan struct{})}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.locks[w.k] = append(tb.locks[w.k], w)
	if len(tb.locks[w.k]) == 1 {
		close(w.granted)
	}
	return w
}

// Unlock takes w out of its queue; when w held the lock, the next in line
// gets it.
func (tb *table) Unlock(w *waiter) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	q := tb.locks[w.k]
	i := slices.Index(q, w)
	if i < 0 {
		return
	}
	q = slices.Delete(q, i, i+1)
	if len(q) == 0 {
		delete(tb.locks, w.k)
		tb.pokeIfIdle()
		return
	}
	tb.locks[w.k] = q
	if i == 0 {
		close(q[0].granted)
	}
}

// Next drops what has expired, starts the renewals that are due, ends the
// sign-ins that are due, and says when it must be called again (zero: only
// once Changed is poked) and whether the daemon should exit now: it has
// held no token, lock, waiter, connection, sign-in (running, or failed
// and not yet told) or background work for IdleExit. Once it says exit,
// the table is closed.
func (tb *table) Next() (wake time.Time, exit bool) {
	now := tb.opts.Now()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.closing {
		return time.Time{}, true
	}
	tb.sweep(now)
	wake = tb.nextSignIns(now)
	for k, t := range tb.tokens {
		wake = earliest(wake, t.Expiry)
		if tb.opts.Refresh == nil || tb.renewing[k] {
			continue
		}
		if due, ok := refreshDue(t, now); ok {
			if now.Before(due) {
				wake = earliest(wake, due)
			} else {
				tb.startRenewal(k, t)
			}
		}
	}
	if !tb.idle() {
		tb.idleSince = time.Time{}
		return wake, false
	}
	if tb.idleSince.IsZero() {
		tb.idleSince = now
	}
	exitAt := tb.idleSince.Add(tb.opts.IdleExit)
	if !now.Before(exitAt) {
		tb.closeLocked()
		return time.Time{}, true
	}
	return earliest(wake, exitAt), false
}

// Close drops every token and turns new connections away, so that nothing
// is handed out once the daemon has decided to exit. Background work,
// sign-ins included, is cancelled.
func (tb *table) Close() {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.closeLocked()
}

func (tb *table) closeLocked() {
	tb.closing = true
	clear(tb.tokens)
	tb.cancel()
}

// wait returns once no background work is under way; for tests.
func (tb *table) wait() { tb.work.Wait() }

// sweep drops expired tokens, refresh tokens past their RefreshUntil (they
// would not be used again), and lookup failures old enough to retry;
// tb.mu is held.
func (tb *table) sweep(now time.Time) {
	for k, t := range tb.tokens {
		switch {
		case !now.Before(t.Expiry):
			delete(tb.tokens, k)
		case t.RefreshToken != "" && !now.Before(t.RefreshUntil):
			t.RefreshToken = ""
			tb.tokens[k] = t
		}
	}
	for k, at := range tb.reachRetry {
		if !now.Before(at) {
			delete(tb.reachRetry, k)
		}
	}
}

// idle reports whether nothing keeps the daemon alive; tb.mu is held.
func (tb *table) idle() bool {
	return len(tb.tokens) == 0 && len(tb.locks) == 0 && tb.open == 0 && tb.busy == 0 &&
		len(tb.signIns) == 0 && len(tb.flows) == 0
}

// pokeIfIdle wakes Next when the table just became idle, so that the idle
// deadline starts now; while tokens are kept there is nothing to tell.
func (tb *table) pokeIfIdle() {
	if tb.idle() {
		tb.poke()
	}
}

// refreshDue is when the daemon renews t, and whether it will: early
// enough that a get never finds less than MinLifetime left, but not before
// half the token's life, so a short-lived token is not renewed in a loop.
func refreshDue(t store.Token, now time.Time) (time.Time, bool) {
	if t.RefreshToken == "" || !now.Before(t.RefreshUntil) {
		return time.Time{}, false
	}
	margin := min(t.MinLifetime+time.Minute, t.Expiry.Sub(t.Minted)/2)
	return t.Expiry.Add(-margin), true
}

// startRenewal renews t in the background; tb.mu is held.
func (tb *table) startRenewal(k key, t store.Token) {
	tb.renewing[k] = true
	tb.busy++
	tb.work.Add(1)
	go func() {
		defer tb.work.Done()
		ctx, cancel := context.WithTimeout(tb.ctx, backgroundWait)
		fresh, err := tb.opts.Refresh(ctx, t)
		cancel()
		tb.renewed(k, t, fresh, err)
	}()
}

// renewed keeps the outcome of renewing t, unless t was replaced meanwhile.
// A failed renewal is not retried, and the token is dropped with its
// refresh token: a refused refresh (GitLab's are single-use) may have
// taken the access token with it, and the little life it had left is not
// worth a push refused halfway. The next git command signs in.
func (tb *table) renewed(k key, t, fresh store.Token, err error) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	delete(tb.renewing, k)
	tb.busy--
	tb.poke()
	cur, ok := tb.tokens[k]
	if !ok || cur.AccessToken != t.AccessToken || tb.closing {
		return
	}
	if err != nil || fresh.AccessToken == "" {
		delete(tb.tokens, k)
		return
	}
	if fresh.Reach == nil {
		fresh.Reach = cur.Reach // the app's installations did not change with the token
	}
	delete(tb.tokens, k)
	tb.tokens[keyOf(fresh.Origin, fresh.Login)] = fresh
}

// maybeLookUpReach starts a background lookup of where t reaches when its
// Reach is missing or stale, unless one is under way for k or the last one
// failed less than ReachTTL ago; tb.mu is held.
func (tb *table) maybeLookUpReach(k key, t store.Token, now time.Time) {
	if tb.opts.Reach == nil || tb.reaching[k] || tb.closing {
		return
	}
	if t.Reach != nil && now.Sub(t.Reach.Checked) < tb.opts.ReachTTL {
		return
	}
	if retry, ok := tb.reachRetry[k]; ok && now.Before(retry) {
		return
	}
	tb.reaching[k] = true
	tb.busy++
	tb.work.Add(1)
	t.RefreshToken = "" // the lookup needs only the access token
	go func() {
		defer tb.work.Done()
		ctx, cancel := context.WithTimeout(tb.ctx, backgroundWait)
		r, err := tb.opts.Reach(ctx, t)
		cancel()
		tb.lookedUp(k, t, r, err)
	}()
}

// lookedUp keeps a looked-up Reach in the token it was looked up for, if
// that is still the token kept; after a failure it holds off further
// lookups for the key for ReachTTL, so that an API outage costs git nothing.
func (tb *table) lookedUp(k key, t store.Token, r *store.Reach, err error) {
	now := tb.opts.Now()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	delete(tb.reaching, k)
	tb.busy--
	tb.pokeIfIdle()
	if err != nil || r == nil {
		tb.reachRetry[k] = now.Add(tb.opts.ReachTTL)
		return
	}
	delete(tb.reachRetry, k)
	cur, ok := tb.tokens[k]
	if !ok || cur.AccessToken != t.AccessToken || tb.closing {
		return
	}
	if r.Checked.IsZero() {
		r.Checked = now
	}
	cur.Reach = r
	tb.tokens[k] = cur
}

// earliest returns the earlier of a and b, where zero means none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
