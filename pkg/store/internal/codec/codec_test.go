package codec

import (
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/storetest"
)

func encode(t store.Token) []byte {
	e := NewEncoder(nil)
	e.Token(&t)
	return e.Bytes()
}

func decode(b []byte) (store.Token, error) {
	d := NewDecoder(b)
	t := d.Token()
	return t, d.End()
}

// inUTC is what a round trip gives: every time in UTC, the zero time kept.
func inUTC(t store.Token) store.Token {
	for _, tm := range []*time.Time{&t.Expiry, &t.Minted, &t.RefreshUntil} {
		if !tm.IsZero() {
			*tm = tm.UTC()
		}
	}
	if t.Reach != nil {
		r := *t.Reach
		if !r.Checked.IsZero() {
			r.Checked = r.Checked.UTC()
		}
		t.Reach = &r
	}
	return t
}

func TestTokenRoundTrip(t *testing.T) {
	local := storetest.FullToken()
	local.Minted = local.Minted.In(time.FixedZone("somewhere", 3600))
	for name, tk := range map[string]store.Token{
		"every field":        storetest.FullToken(),
		"zero values":        {},
		"reach without list": {Origin: "o", Reach: &store.Reach{}},
		"another time zone":  local,
		"before 1970":        {Expiry: time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC)},
	} {
		got, err := decode(encode(tk))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if want := inUTC(tk); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: round trip gave\n%+v\nwant\n%+v", name, got, want)
		}
		if got.Expiry.Location() != time.UTC {
			t.Errorf("%s: decoded a time in %v; want UTC", name, got.Expiry.Location())
		}
	}
}

// The encoding is the memory store's wire format and the tmpfs store's
// file format: its bytes change only with both.
func TestTokenBytesAreFixed(t *testing.T) {
	tk := store.Token{
		Origin: "o", Login: "l", AccessToken: "a",
		Expiry:      time.Unix(1800000000, 5).UTC(),
		MinLifetime: time.Second,
		AppURL:      "u",
		Reach:       &store.Reach{AppSlug: "s", Repos: []string{"r"}, Omitted: 2},
		Provider:    "p",
	}
	const zeroTime = "ffdb8ff9ce03" + "00"
	const want = "016f" + "016c" + "0161" + "80c8ceb40d" + "05" + "80a8d6b907" + "00" + "00" + zeroTime +
		"00" + zeroTime + "0175" + "01" + zeroTime + "0173" + "00" + "010172" + "02" + "0170"
	if got := hex.EncodeToString(encode(tk)); got != want {
		t.Errorf("token encodes as\n%s\nwant\n%s", got, want)
	}
}

func TestDecoderRefusesWhatNoEncoderWrote(t *testing.T) {
	full := encode(storetest.FullToken())
	// Cut anywhere, a token is refused, never misread.
	for n := range len(full) {
		if _, err := decode(full[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("a token cut to %d of %d bytes: %v; want ErrMalformed", n, len(full), err)
		}
	}
	if _, err := decode(append(full, 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("a token with a byte left over: %v; want ErrMalformed", err)
	}
	reachFlag := len(encode(store.Token{})) - 2 // before the empty provider
	noReach := encode(store.Token{})
	noReach[reachFlag] = 2
	if _, err := decode(noReach); !errors.Is(err, ErrMalformed) {
		t.Errorf("a reach flag of 2: %v; want ErrMalformed", err)
	}
	for name, b := range map[string][]byte{
		"nanoseconds out of range": {0x00, 0x80, 0x94, 0xeb, 0xdc, 0x03}, // 1e9
		"varint too long":          {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	} {
		d := NewDecoder(b)
		if d.Time(); !errors.Is(d.End(), ErrMalformed) {
			t.Errorf("%s: %v; want ErrMalformed", name, d.Err())
		}
	}
}

func TestCountRefusesForgedLengths(t *testing.T) {
	// A list of 2^40 strings in five bytes: refused before any allocation.
	e := NewEncoder(nil)
	e.Uvarint(1 << 40)
	d := NewDecoder(e.Bytes())
	if ss := d.Strs(); ss != nil || !errors.Is(d.Err(), ErrMalformed) {
		t.Errorf("Strs of a forged count = %d strings, %v; want none and ErrMalformed", len(ss), d.Err())
	}
	d = NewDecoder([]byte{5, 'a', 'b'})
	if s := d.Str(); s != "" || !errors.Is(d.Err(), ErrMalformed) {
		t.Errorf("Str longer than its input = %q, %v", s, d.Err())
	}
}

func TestFirstErrorSticks(t *testing.T) {
	e := NewEncoder(nil)
	e.Byte(7) // not a flag
	e.Str("after")
	d := NewDecoder(e.Bytes())
	if d.Flag() || d.Err() == nil {
		t.Fatal("a flag of 7 was accepted")
	}
	if s := d.Str(); s != "" {
		t.Errorf("a read after an error returned %q; want the zero value", s)
	}
	if !errors.Is(d.End(), ErrMalformed) {
		t.Errorf("End after an error = %v", d.End())
	}
}

func TestZeroTimeRoundTrips(t *testing.T) {
	e := NewEncoder(nil)
	e.Time(time.Time{})
	d := NewDecoder(e.Bytes())
	if got := d.Time(); got != (time.Time{}) || d.End() != nil {
		t.Errorf("the zero time came back as %v, %v", got, d.End())
	}
}
