package memory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
	"github.com/ghapp-creds/git-credential-ghapp/pkg/store/internal/codec"
)

// Wire format, version 3. Client and daemon share this file and the token
// encoding of pkg/store/internal/codec, and nothing else. A change to what a token or a sign-in request carries is a new
// version: a daemon cannot skip a field it does not know. Version 3 added
// the app url and the provider to tokens, and the app url, provider,
// scopes and even-if-signed-in to sign-in requests.
//
// A client connects to <dir>/daemon.sock and sends exactly one request; the
// daemon sends one response. Each is a frame: a 4-byte big-endian length,
// then that many bytes of body. Bodies are binary, so that a cache hit
// costs neither side a JSON encoder (whose first use in a process costs
// more than the rest of the round trip):
//
//	request:  version op ...
//	  'g' get, 'd' delete, 'k' lock,
//	  'w' wait for a sign-in:        str origin, str login
//	  'p' put:                       token
//	  'i' start a sign-in:           sign-in request
//	  'l' list, 's' stop,
//	  'c' list pending sign-ins:     nothing
//	response: version status ...
//	  'o' ok:        uvarint n, then n tokens (1 for get and wait, all for
//	                 list, else 0)
//	  'e' error:     str message
//	  'n' not found, 's' stale (a put older than the token kept): nothing
//	  'i' sign-ins:  uvarint n, then n sign-ins (1 for start, the codes
//	                 waiting to be entered for pending)
//	  'f' failed:    str why the sign-in failed, one line (start, wait)
//	  'u' unsupported: nothing (start: this daemon runs no sign-ins)
//
// A wait is answered "not found" when no sign-in is under way and nothing
// is left to tell.
//
//	str, time, token = as pkg/store/internal/codec encodes them (a change
//	        to the token's encoding there is a new version here)
//	sign-in request = str origin, str login, str client id, str app url,
//	        varint min lifetime (ns), byte refresh (0 or 1), varint refresh for (ns),
//	        str provider, str scopes, byte even if signed in (0 or 1)
//	sign-in = str origin, str login, str user code, str verification uri,
//	        time expiry, byte off server (0 or 1), str ended
//
// A request over MaxRequest bytes, malformed, or of another version is
// answered with an error (when the connection still allows it) and the
// connection closed, except that a stop ([any version, 's']) is obeyed
// whatever its version, so that a client can always end a daemon of
// another version. An op the daemon does not know is answered with the
// error "bad request: unknown op": the sign-in ops came later within
// version 2, and a client that meets that answer knows the daemon for an
// older one. A client that meets a daemon of an earlier version (it
// answers in its own version) stops it with a version-1 stop, which
// every version obeys, and carries on as if none ran. Two ops keep the connection past the response: "lock"
// is answered only once the lock is granted, and the lock is held until
// the client closes the connection; "stop" is answered at once, and the
// daemon closes the connection when it no longer listens. "start" and
// "wait" hold it until they are answered, and a client closing it first
// stops the daemon waiting, not the sign-in.
//
// Version 1 was JSON; its bodies begin with '{'. A daemon obeys a version-1
// stop, and answers any other version-1 request with a version-1 error that
// such a client understands; a client that meets a daemon of an earlier
// version (1, or 2, which answers in its own version) stops it with the
// version-1 stop, which every version obeys, and carries on as if none ran.

// Where client and daemon meet, in the runtime directory: the daemon
// listens on sockName and holds an flock on lockName for its whole life.
const (
	sockName = "daemon.sock"
	lockName = "daemon.lock"
)

// ioTimeout bounds one request on both sides, so neither a stuck client
// nor a stuck daemon can hold the other.
const ioTimeout = 5 * time.Second

// openLockFile opens the file whose flock says which daemon serves dir.
func openLockFile(dir string) (*os.File, error) {
	name := filepath.Join(dir, lockName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|oNoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %v (remove it if it is not a plain file)", name, err)
	}
	return f, nil
}

// Version is the wire format version this package speaks.
const Version = 3

// MaxRequest is the largest request body the daemon reads.
const MaxRequest = 64 << 10

// maxResponse bounds what a client reads: a List answer can be larger than
// any request.
const maxResponse = 4 << 20

// Ops understood by the daemon.
const (
	OpGet    byte = 'g'
	OpPut    byte = 'p'
	OpDelete byte = 'd'
	OpList   byte = 'l'
	OpLock   byte = 'k'
	OpStop   byte = 's'

	OpStartSignIn    byte = 'i'
	OpWaitSignIn     byte = 'w'
	OpPendingSignIns byte = 'c'
)

// Request is one client request.
type Request struct {
	Op     byte
	Origin string
	Login  string
	Token  *store.Token         // put only
	SignIn *store.SignInRequest // start only

	legacy bool // of version 1, to be answered in version 1
}

// Response statuses.
const (
	statusOK       byte = 'o'
	statusNotFound byte = 'n'
	statusStale    byte = 's'
	statusError    byte = 'e'
	statusSignIns  byte = 'i'
	statusFailed   byte = 'f'
	statusNoSignIn byte = 'u'
	statusSignedIn byte = 'k' // StartSignIn: a usable token is kept
)

// Response is the daemon's answer to one request.
type Response struct {
	Status  byte
	Error   string // error, failed
	Tokens  []store.Token
	SignIns []store.SignIn
}

var (
	errTooLarge = errors.New("frame too large")
	// errLegacyDaemon is an answer of an earlier version (1 or 2): the
	// daemon predates this client.
	errLegacyDaemon = errors.New("the token daemon speaks an earlier wire version")
	errBadEncoding  = errors.New("request is malformed")
	errUnknownOp    = errors.New("unknown op")
)

// unknownOpRefusal is how a daemon of version 2 answers an op it does not
// know: an older one, for the ops added since.
var unknownOpRefusal = "bad request: " + errUnknownOp.Error()

// Version 1 bodies, byte for byte as version-1 programs wrote them.
const (
	legacyStop    = `{"v":1,"op":"stop"}`
	legacyStopped = `{"v":1,"status":"ok"}`
	legacyRefusal = `{"v":2,"status":"error","error":"the token daemon is of a newer version"}`
)

// encodeRequest returns req as a whole frame.
func encodeRequest(req Request) []byte {
	e := newEncoder(64)
	e.Byte(Version)
	e.Byte(req.Op)
	switch req.Op {
	case OpPut:
		e.Token(req.Token)
	case OpStartSignIn:
		encodeSignInRequest(e, req.SignIn)
	case OpList, OpStop, OpPendingSignIns:
	default:
		e.Str(req.Origin)
		e.Str(req.Login)
	}
	return sealFrame(e)
}

// DecodeRequest reads one framed request from r and checks that it is
// well formed for its op. Its errors never quote the request, which may
// hold a token.
func DecodeRequest(r io.Reader) (Request, error) {
	body, err := readFrame(r, MaxRequest)
	if err != nil {
		return Request{}, err
	}
	if len(body) > 0 && body[0] == '{' {
		if string(body) == legacyStop {
			return Request{Op: OpStop, legacy: true}, nil
		}
		return Request{legacy: true}, fmt.Errorf("unsupported wire version %d (this daemon speaks %d)", 1, Version)
	}
	if len(body) < 2 {
		return Request{}, errBadEncoding
	}
	if len(body) == 2 && body[1] == OpStop {
		return Request{Op: OpStop}, nil // whatever its version
	}
	if body[0] != Version {
		return Request{}, fmt.Errorf("unsupported wire version %d (this daemon speaks %d)", body[0], Version)
	}
	req := Request{Op: body[1]}
	d := codec.NewDecoder(body[2:])
	switch req.Op {
	case OpGet, OpDelete, OpLock, OpWaitSignIn:
		req.Origin, req.Login = d.Str(), d.Str()
	case OpPut:
		t := d.Token()
		req.Token = &t
	case OpStartSignIn:
		req.SignIn = decodeSignInRequest(d)
	case OpList, OpPendingSignIns:
	default:
		return Request{}, errUnknownOp
	}
	if d.End() != nil {
		return Request{}, errBadEncoding
	}
	switch req.Op {
	case OpGet, OpDelete, OpLock, OpWaitSignIn:
		if req.Origin == "" {
			return Request{}, fmt.Errorf("%s request without origin", opName(req.Op))
		}
	case OpStartSignIn:
		if req.SignIn.Origin == "" || req.SignIn.ClientID == "" {
			return Request{}, errors.New("sign-in request without origin or client id")
		}
	case OpPut:
		if req.Token.Origin == "" || req.Token.AccessToken == "" {
			return Request{}, errors.New("put request without token, origin or access token")
		}
	}
	return req, nil
}

func opName(op byte) string {
	switch op {
	case OpGet:
		return "get"
	case OpDelete:
		return "delete"
	case OpLock:
		return "lock"
	case OpWaitSignIn:
		return "wait"
	}
	return fmt.Sprintf("op %q", op)
}

// encodeResponse returns resp as a whole frame.
func encodeResponse(resp Response) []byte {
	e := newEncoder(256)
	e.Byte(Version)
	e.Byte(resp.Status)
	switch resp.Status {
	case statusOK:
		e.Uvarint(uint64(len(resp.Tokens)))
		for i := range resp.Tokens {
			e.Token(&resp.Tokens[i])
		}
	case statusError, statusFailed:
		e.Str(resp.Error)
	case statusSignIns:
		e.Uvarint(uint64(len(resp.SignIns)))
		for i := range resp.SignIns {
			encodeSignIn(e, &resp.SignIns[i])
		}
	}
	return sealFrame(e)
}

// decodeResponse reads one framed response from r.
func decodeResponse(r io.Reader) (Response, error) {
	body, err := readFrame(r, maxResponse)
	if err != nil {
		return Response{}, err
	}
	return parseResponse(body)
}

// parseResponse decodes the body of a response frame.
func parseResponse(body []byte) (Response, error) {
	if len(body) > 0 && (body[0] == '{' || body[0] < Version) {
		return Response{}, errLegacyDaemon
	}
	if len(body) < 2 {
		return Response{}, errors.New("the token daemon sent a malformed response")
	}
	if body[0] < Version {
		return Response{}, errLegacyDaemon
	}
	if body[0] != Version {
		return Response{}, fmt.Errorf("the token daemon speaks wire version %d, not %d (end it with: git credential-ghapp logout --all)", body[0], Version)
	}
	resp := Response{Status: body[1]}
	d := codec.NewDecoder(body[2:])
	switch resp.Status {
	case statusOK:
		n := d.Count()
		if n > 0 {
			resp.Tokens = make([]store.Token, n)
			for i := range resp.Tokens {
				resp.Tokens[i] = d.Token()
			}
		}
	case statusError, statusFailed:
		resp.Error = d.Str()
	case statusSignIns:
		n := d.Count()
		if n > 0 {
			resp.SignIns = make([]store.SignIn, n)
			for i := range resp.SignIns {
				resp.SignIns[i] = decodeSignIn(d)
			}
		}
	case statusNotFound, statusStale, statusNoSignIn, statusSignedIn:
	default:
		return Response{}, errors.New("the token daemon sent a malformed response")
	}
	if d.End() != nil {
		return Response{}, errors.New("the token daemon sent a malformed response")
	}
	return resp, nil
}

func readFrame(r io.Reader, limit int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > uint32(limit) {
		return nil, errTooLarge
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}

// writeFrame sends a frame from encodeRequest or encodeResponse in a
// single write, so a reader never sees a header without its body from a
// live writer.
func writeFrame(w io.Writer, frame []byte) error {
	_, err := w.Write(frame)
	return err
}

// rawFrame frames body as it is: for version-1 bodies.
func rawFrame(body string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// newEncoder starts a frame; its first four bytes are the length, filled
// in by sealFrame.
func newEncoder(size int) *codec.Encoder { return codec.NewEncoder(make([]byte, 4, size)) }

func sealFrame(e *codec.Encoder) []byte {
	b := e.Bytes()
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func encodeSignInRequest(e *codec.Encoder, r *store.SignInRequest) {
	e.Str(r.Origin)
	e.Str(r.Login)
	e.Str(r.ClientID)
	e.Str(r.AppURL)
	e.Varint(int64(r.MinLifetime))
	e.Flag(r.Refresh)
	e.Varint(int64(r.RefreshFor))
	e.Str(r.Provider)
	e.Str(r.Scopes)
	e.Flag(r.EvenIfSignedIn)
}

func encodeSignIn(e *codec.Encoder, s *store.SignIn) {
	e.Str(s.Origin)
	e.Str(s.Login)
	e.Str(s.UserCode)
	e.Str(s.VerificationURI)
	e.Time(s.Expiry)
	e.Flag(s.OffServer)
	e.Str(s.Ended)
}

func decodeSignInRequest(d *codec.Decoder) *store.SignInRequest {
	return &store.SignInRequest{
		Origin:         d.Str(),
		Login:          d.Str(),
		ClientID:       d.Str(),
		AppURL:         d.Str(),
		MinLifetime:    time.Duration(d.Varint()),
		Refresh:        d.Flag(),
		RefreshFor:     time.Duration(d.Varint()),
		Provider:       d.Str(),
		Scopes:         d.Str(),
		EvenIfSignedIn: d.Flag(),
	}
}

func decodeSignIn(d *codec.Decoder) store.SignIn {
	return store.SignIn{
		Origin:          d.Str(),
		Login:           d.Str(),
		UserCode:        d.Str(),
		VerificationURI: d.Str(),
		Expiry:          d.Time(),
		OffServer:       d.Flag(),
		Ended:           d.Str(),
	}
}
