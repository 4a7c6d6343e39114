// Package codec is the one binary encoding of a store.Token, shared by the
// memory store's wire format and the token files of the tmpfs store. It
// costs a reader no reflection: a cache hit decodes its token in
// microseconds, where the first use of encoding/json in a process costs
// more than the rest of the hit.
//
// Every value is a sequence of these, in the order the fields are read:
//
//	uvarint, varint = as encoding/binary appends them
//	byte            = one byte; a flag is a byte 0 or 1
//	str   = uvarint length, bytes
//	strs  = uvarint n, n str
//	time  = varint Unix seconds, uvarint nanoseconds (the zero time as
//	        time.Time{}.Unix(), 0)
//	token = str origin, str login, str access token, time expiry,
//	        varint min lifetime (ns), str api, str client id, time minted,
//	        str refresh token, time refresh until, str app url,
//	        reach: byte 0, or byte 1 then time checked, str app slug,
//	        strs accounts, strs repos, uvarint omitted,
//	        str provider
//
// A change to it changes the memory store's wire version and the tmpfs
// store's file format alike.
package codec

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// ErrMalformed is what a Decoder reports for input that an Encoder did not
// write: cut short, with bytes left over, or out of range. It never quotes
// the input, which may hold a token.
var ErrMalformed = errors.New("malformed encoding")

// Encoder appends values to a byte slice.
type Encoder struct{ b []byte }

// NewEncoder returns an encoder that appends to b (which may hold a header
// its caller fills in later).
func NewEncoder(b []byte) *Encoder { return &Encoder{b: b} }

// Bytes returns the slice given to NewEncoder with everything appended.
func (e *Encoder) Bytes() []byte { return e.b }

// The methods append one value each, as the package comment spells it.

func (e *Encoder) Byte(c byte)      { e.b = append(e.b, c) }
func (e *Encoder) Uvarint(u uint64) { e.b = binary.AppendUvarint(e.b, u) }
func (e *Encoder) Varint(i int64)   { e.b = binary.AppendVarint(e.b, i) }

func (e *Encoder) Str(s string) {
	e.Uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *Encoder) Strs(ss []string) {
	e.Uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.Str(s)
	}
}

func (e *Encoder) Time(t time.Time) {
	e.Varint(t.Unix())
	e.Uvarint(uint64(t.Nanosecond()))
}

func (e *Encoder) Flag(b bool) {
	if b {
		e.Byte(1)
	} else {
		e.Byte(0)
	}
}

// Token appends every field of t, the refresh fields included: a caller
// that must not keep them clears them first.
func (e *Encoder) Token(t *store.Token) {
	e.Str(t.Origin)
	e.Str(t.Login)
	e.Str(t.AccessToken)
	e.Time(t.Expiry)
	e.Varint(int64(t.MinLifetime))
	e.Str(t.API)
	e.Str(t.ClientID)
	e.Time(t.Minted)
	e.Str(t.RefreshToken)
	e.Time(t.RefreshUntil)
	e.Str(t.AppURL)
	if r := t.Reach; r == nil {
		e.Byte(0)
	} else {
		e.Byte(1)
		e.Time(r.Checked)
		e.Str(r.AppSlug)
		e.Strs(r.Accounts)
		e.Strs(r.Repos)
		e.Uvarint(uint64(r.Omitted))
	}
	e.Str(t.Provider)
}

// Decoder reads what an Encoder wrote. The first error sticks: later reads
// return zero values, and End and Err report it.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder returns a decoder of b. It keeps no reference to b in what it
// returns: strings are copies.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

func (d *Decoder) fail() {
	if d.err == nil {
		d.err = ErrMalformed
	}
	d.b = nil
}

// Err reports the first error met so far.
func (d *Decoder) Err() error { return d.err }

// End reports the first error met, or ErrMalformed if bytes are left over.
func (d *Decoder) End() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	return d.err
}

// The methods read one value each; after an error they return zero values.

func (d *Decoder) Uvarint() uint64 {
	u, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return u
}

func (d *Decoder) Varint() int64 {
	i, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return i
}

func (d *Decoder) Byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// Count reads a number of items to come, each at least one byte long, so
// that a forged count cannot make the reader allocate more than it read.
func (d *Decoder) Count() int {
	n := d.Uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *Decoder) Str() string {
	n := d.Count()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// Strs returns nil for an empty list.
func (d *Decoder) Strs() []string {
	n := d.Count()
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.Str()
	}
	return ss
}

// unixZero is time.Time{}.Unix(): the zero time decodes as time.Time{}.
const unixZero = -62135596800

func (d *Decoder) Time() time.Time {
	sec := d.Varint()
	nsec := d.Uvarint()
	if nsec >= 1e9 {
		d.fail()
		return time.Time{}
	}
	if sec == unixZero && nsec == 0 {
		return time.Time{}
	}
	// In UTC, as JSON had it: a Local time would make the hit path load
	// the time zone database.
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *Decoder) Flag() bool {
	switch d.Byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail()
	return false
}

func (d *Decoder) Token() store.Token {
	t := store.Token{
		Origin:      d.Str(),
		Login:       d.Str(),
		AccessToken: d.Str(),
		Expiry:      d.Time(),
		MinLifetime: time.Duration(d.Varint()),
		API:         d.Str(),
		ClientID:    d.Str(),
		Minted:      d.Time(),
	}
	t.RefreshToken = d.Str()
	t.RefreshUntil = d.Time()
	t.AppURL = d.Str()
	switch d.Byte() {
	case 0:
	case 1:
		t.Reach = &store.Reach{Checked: d.Time(), AppSlug: d.Str(), Accounts: d.Strs(), Repos: d.Strs()}
		omitted := d.Uvarint()
		if omitted > 1<<31 {
			d.fail()
		}
		t.Reach.Omitted = int(omitted)
	default:
		d.fail()
	}
	t.Provider = d.Str()
	return t
}
