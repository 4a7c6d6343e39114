package memory

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/store"
)

// Wire format, version 1.
//
// A client connects to <dir>/daemon.sock and sends exactly one request; the
// daemon sends one response. Each is a frame: a 4-byte big-endian length,
// then that many bytes of JSON.
//
//	request:  {"v":1,"op":"get","origin":"https://github.com","login":"octocat"}
//	          {"v":1,"op":"put","token":{...store.Token...}}
//	          {"v":1,"op":"delete","origin":"...","login":""}
//	          {"v":1,"op":"list"}
//	          {"v":1,"op":"lock","origin":"...","login":"..."}
//	          {"v":1,"op":"stop"}
//	response: {"v":1,"status":"ok"|"not_found"|"stale"|"error","error":"...",
//	           "token":{...},"tokens":[...]}
//
// A request over MaxRequest bytes, malformed, or of another version is
// answered with status "error" (when the connection still allows it) and
// the connection closed. Two ops keep the connection past the response:
// "lock" is answered only once the lock is granted, and the lock is held
// until the client closes the connection; "stop" is answered at once, and
// the daemon closes the connection when it no longer listens.

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
const Version = 1

// MaxRequest is the largest request body the daemon reads.
const MaxRequest = 64 << 10

// maxResponse bounds what a client reads: a List answer can be larger than
// any request.
const maxResponse = 4 << 20

// Ops understood by the daemon.
const (
	OpGet    = "get"
	OpPut    = "put"
	OpDelete = "delete"
	OpList   = "list"
	OpLock   = "lock"
	OpStop   = "stop"
)

// Request is one client request.
type Request struct {
	V      int          `json:"v"`
	Op     string       `json:"op"`
	Origin string       `json:"origin,omitempty"`
	Login  string       `json:"login,omitempty"`
	Token  *store.Token `json:"token,omitempty"`
}

// Response statuses.
const (
	statusOK       = "ok"
	statusNotFound = "not_found"
	statusStale    = "stale" // a put of a token older than the one kept
	statusError    = "error"
)

// Response is the daemon's answer to one request.
type Response struct {
	V      int           `json:"v"`
	Status string        `json:"status"`
	Error  string        `json:"error,omitempty"`
	Token  *store.Token  `json:"token,omitempty"`
	Tokens []store.Token `json:"tokens,omitempty"`
}

var errTooLarge = errors.New("frame too large")

// DecodeRequest reads one framed request from r and checks that it is
// well formed for its op. Its errors never quote the request, which may
// hold a token.
func DecodeRequest(r io.Reader) (Request, error) {
	var req Request
	body, err := readFrame(r, MaxRequest)
	if err != nil {
		return req, err
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return Request{}, errors.New("request is not valid JSON")
	}
	if req.V != Version {
		return Request{}, fmt.Errorf("unsupported wire version %d (this daemon speaks %d)", req.V, Version)
	}
	switch req.Op {
	case OpGet, OpDelete, OpLock:
		if req.Origin == "" {
			return Request{}, fmt.Errorf("%s request without origin", req.Op)
		}
	case OpPut:
		if req.Token == nil || req.Token.Origin == "" || req.Token.AccessToken == "" {
			return Request{}, errors.New("put request without token, origin or access token")
		}
	case OpList, OpStop:
	default:
		return Request{}, errors.New("unknown op")
	}
	return req, nil
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

// writeFrame sends v as one frame in a single write, so a reader never
// sees a header without its body from a live writer.
func writeFrame(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	_, err = w.Write(append(buf, body...))
	return err
}

func decodeResponse(r io.Reader) (Response, error) {
	var resp Response
	body, err := readFrame(r, maxResponse)
	if err != nil {
		return resp, err
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return Response{}, errors.New("the token daemon sent a malformed response")
	}
	if resp.V != Version {
		return Response{}, fmt.Errorf("the token daemon speaks wire version %d, not %d (end it with: git credential-ghapp logout --all)", resp.V, Version)
	}
	return resp, nil
}
