// Package blob keeps each origin's tokens as one list in a Medium, for the
// stores that write them outside the process (files on tmpfs, keychain
// items). It implements store.Store once, so that those stores differ only
// in where the bytes live and in the form of the list: JSON, or binary
// (see Options.Binary).
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/internal/codec"
)

// signinPoll is how often Lock retries: sign-ins take seconds to minutes.
const signinPoll = 50 * time.Millisecond

// Medium is where the bytes live. Its methods need not be safe against
// concurrent writers: the Store calls Write and Remove only under its
// store-wide lock, and readers rely on each Write replacing an item whole.
type Medium interface {
	// Key names the item that holds origin's tokens. Origins may share
	// an item: each token carries its origin.
	Key(origin string) string
	// Read returns the item's bytes, or an error that matches
	// fs.ErrNotExist when there is no such item.
	Read(key string) ([]byte, error)
	// Write replaces the item with data.
	Write(key string, data []byte) error
	// Remove deletes the item; a missing item is not an error.
	Remove(key string) error
	// Keys returns the keys of the items that may exist.
	Keys() ([]string, error)
}

// Options say where a Store's locks live and how they are named.
type Options struct {
	LockDir string
	// Prepare, if set, readies LockDir before each lock is taken, so a
	// store that only reads never creates it.
	Prepare func(dir string) error
	// WriteLock is the name, in LockDir, of the store-wide write lock.
	WriteLock string
	// WriteWait bounds the wait for the write lock, tried every WritePoll.
	WriteWait, WritePoll time.Duration
	// Name is how messages name the store, as in "the keyring store".
	Name string
	// Binary writes lists in the binary form: a cache hit then decodes
	// its token without encoding/json, whose first use in a process costs
	// more than the rest of the hit. Without it lists are written as JSON,
	// for media that hold text. Either form is read whatever the option,
	// so that what an earlier version wrote is still read.
	Binary bool
}

// Store keeps tokens in a Medium, one list per item.
type Store struct {
	m Medium
	o Options
}

var _ store.Store = (*Store)(nil)

// New returns the store kept in m.
func New(m Medium, o Options) *Store { return &Store{m: m, o: o} }

// Get returns the token for origin and login, or the newest on origin if
// login is empty. Expired tokens met on the way are erased.
func (s *Store) Get(origin, login string) (store.Token, error) {
	key := s.m.Key(origin)
	toks, err := s.read(key)
	if err != nil {
		return store.Token{}, err
	}
	if live := store.Unexpired(toks, time.Now()); len(live) < len(toks) {
		if err := s.update(key, keep); err != nil {
			return store.Token{}, err
		}
		toks = live
	}
	return store.Pick(toks, origin, login)
}

// Put keeps t by store.Replace's rules, without its refresh fields.
func (s *Store) Put(t store.Token) error {
	if t.Origin == "" || t.Login == "" {
		return errors.New("refusing to keep a token without an origin and a login")
	}
	// A refresh token outlives the session by months: never in a file or
	// a keychain, whatever the caller asks.
	t.RefreshToken, t.RefreshUntil = "", time.Time{}
	return s.update(s.m.Key(t.Origin), func(ts []store.Token) ([]store.Token, error) {
		return store.Replace(ts, t)
	})
}

// Delete forgets the token for origin and login, or every token on origin
// if login is empty.
func (s *Store) Delete(origin, login string) error {
	return s.update(s.m.Key(origin), func(ts []store.Token) ([]store.Token, error) {
		return store.Drop(ts, origin, login), nil
	})
}

// List returns every unexpired token, newest first.
func (s *Store) List() ([]store.Token, error) {
	keys, err := s.m.Keys()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var all []store.Token
	for _, key := range keys {
		toks, err := s.read(key)
		if err != nil {
			return nil, err
		}
		live := store.Unexpired(toks, now)
		if len(live) < len(toks) {
			if err := s.update(key, keep); err != nil {
				return nil, err
			}
		}
		all = append(all, live...)
	}
	store.SortNewestFirst(all)
	return all, nil
}

// Lock holds an advisory lock on a file named after origin and login; the
// kernel releases it when the holder exits, however it exits. Logins that
// differ only in case are one account, so they share the lock.
func (s *Store) Lock(ctx context.Context, origin, login string) (func(), error) {
	return s.lock(ctx, "signin-"+Hash(origin+"\n"+strings.ToLower(login))+".lock", signinPoll)
}

func (s *Store) lock(ctx context.Context, name string, poll time.Duration) (func(), error) {
	if s.o.Prepare != nil {
		if err := s.o.Prepare(s.o.LockDir); err != nil {
			return nil, err
		}
	}
	return lockFile(ctx, filepath.Join(s.o.LockDir, name), poll)
}

// keep changes nothing: update then only erases what has expired.
func keep(ts []store.Token) ([]store.Token, error) { return ts, nil }

// update replaces the item at key with change applied to its unexpired
// tokens, under the store-wide lock so that concurrent writers don't lose
// each other's changes. Readers need no lock: each write is whole.
func (s *Store) update(key string, change func([]store.Token) ([]store.Token, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.WriteWait)
	defer cancel()
	unlock, err := s.lock(ctx, s.o.WriteLock, s.o.WritePoll)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s stayed locked for %v; another git-credential-ghapp seems stuck (end it and retry)", s.o.Name, s.o.WriteWait)
	}
	if err != nil {
		return err
	}
	defer unlock()

	toks, err := s.read(key)
	if err != nil {
		return err
	}
	toks, err = change(store.Unexpired(toks, time.Now()))
	if err != nil {
		return err
	}
	if len(toks) == 0 {
		return s.m.Remove(key)
	}
	data, err := s.encode(toks)
	if err != nil {
		return err
	}
	return s.m.Write(key, data)
}

// read returns the tokens at key: none if the item is missing or does not
// parse (the next write replaces it).
func (s *Store) read(key string) ([]store.Token, error) {
	data, err := s.m.Read(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	toks, err := decode(data)
	if err != nil {
		return nil, nil
	}
	// Put never writes refresh fields; one found was put there by
	// something else, and is not handed on.
	for i := range toks {
		toks[i].RefreshToken, toks[i].RefreshUntil = "", time.Time{}
	}
	return toks, nil
}

// binaryForm is the first byte of a list in the binary form: uvarint n,
// then n tokens as pkg/store/internal/codec encodes them. No JSON text
// begins with it.
const binaryForm = 0x01

func (s *Store) encode(toks []store.Token) ([]byte, error) {
	if !s.o.Binary {
		return json.Marshal(toks)
	}
	e := codec.NewEncoder(make([]byte, 0, 512))
	e.Byte(binaryForm)
	e.Uvarint(uint64(len(toks)))
	for i := range toks {
		e.Token(&toks[i])
	}
	return e.Bytes(), nil
}

// decode reads a list in either form.
func decode(data []byte) ([]store.Token, error) {
	if len(data) == 0 || data[0] != binaryForm {
		var toks []store.Token
		err := json.Unmarshal(data, &toks)
		return toks, err
	}
	d := codec.NewDecoder(data[1:])
	n := d.Count()
	var toks []store.Token
	if n > 0 {
		toks = make([]store.Token, n)
		for i := range toks {
			toks[i] = d.Token()
		}
	}
	return toks, d.End()
}

// Hash names s in a file name: stable, short, and free of path syntax.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
