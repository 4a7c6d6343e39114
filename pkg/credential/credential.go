// Package credential reads and writes the key=value format that git speaks
// with credential helpers, as git-credential(1) defines it.
package credential

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxLine is the longest line git accepts, counting its LF (git ≥ 2.46).
const MaxLine = 65535

// maxInput bounds a whole request, so a runaway writer cannot make the
// helper buffer without end.
const maxInput = 1 << 20

// Request is what git asks a helper about. Unknown keys are ignored.
type Request struct {
	Protocol string
	Host     string // host, with ":port" when the URL had one
	Path     string // only sent with credential.useHttpPath=true
	Username string
	Password string
	// PasswordExpiryUTC is git's password_expiry_utc, zero when absent.
	PasswordExpiryUTC time.Time
	WWWAuth           []string // wwwauth[]
	Capabilities      []string // capability[]
}

// Read parses one request from r: key=value lines ending at a blank line
// or EOF. A line without '=', a NUL byte, an over-long line or a url=
// that is not a URL is an error, as it is for git.
func Read(r io.Reader) (*Request, error) {
	// A request is a few short lines: a small buffer, grown only for a
	// long line, keeps a cache hit from touching 64 KiB of fresh memory.
	br := bufio.NewReaderSize(io.LimitReader(r, maxInput), 512)
	req := &Request{}
	for n := 1; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("credential line %d is longer than %d bytes", n, MaxLine)
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading credential request: %v", err)
		}
		atEOF := err == io.EOF
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r")) // git's strbuf_getline drops CR too
		if len(line) == 0 {
			return req, nil
		}
		if err := req.set(line); err != nil {
			return nil, fmt.Errorf("credential line %d: %v", n, err)
		}
		if atEOF {
			return req, nil
		}
	}
}

// readLine is br.ReadSlice('\n') for lines of up to MaxLine+1 bytes (LF
// included) whatever br's size: a longer one is bufio.ErrBufferFull.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	long := append([]byte(nil), line...)
	for errors.Is(err, bufio.ErrBufferFull) && len(long) <= MaxLine {
		line, err = br.ReadSlice('\n')
		long = append(long, line...)
	}
	if len(long) > MaxLine+1 || len(long) == MaxLine+1 && long[MaxLine] != '\n' {
		return nil, bufio.ErrBufferFull
	}
	return long, err
}

func (req *Request) set(line []byte) error {
	if bytes.IndexByte(line, 0) >= 0 {
		return errors.New("contains a NUL byte")
	}
	// A CR inside a value (a trailing one was dropped with the LF) would
	// make the value end a line early wherever it is written or shown.
	if bytes.IndexByte(line, '\r') >= 0 {
		return errors.New("contains a CR byte")
	}
	k, v, ok := strings.Cut(string(line), "=")
	if !ok || k == "" {
		return errors.New("not of the form key=value") // the line itself may be a secret: not echoed
	}
	switch k {
	case "protocol":
		req.Protocol = v
	case "host":
		req.Host = v
	case "path":
		req.Path = v
	case "username":
		req.Username = v
	case "password":
		req.Password = v
	case "password_expiry_utc":
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			req.PasswordExpiryUTC = time.Unix(secs, 0)
		}
	case "url":
		return req.setURL(v)
	case "wwwauth[]":
		req.WWWAuth = appendOrClear(req.WWWAuth, v)
	case "capability[]":
		req.Capabilities = appendOrClear(req.Capabilities, v)
	}
	return nil
}

// appendOrClear follows git's rule for key[] lists: an empty value clears.
func appendOrClear(list []string, v string) []string {
	if v == "" {
		return nil
	}
	return append(list, v)
}

// setURL splits url= into its parts and, like git, first clears the parts
// that a URL can carry.
func (req *Request) setURL(raw string) error {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return errors.New("url has no scheme://")
	}
	req.Protocol, req.Host, req.Path, req.Username, req.Password = scheme, "", "", "", ""
	authority, path, _ := strings.Cut(rest, "/")
	var err error
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		user, pass, hasPass := strings.Cut(authority[:at], ":")
		if req.Username, err = unescape(user, "user name"); err != nil {
			return err
		}
		if hasPass {
			if req.Password, err = unescape(pass, "password"); err != nil {
				return err
			}
		}
		authority = authority[at+1:]
	}
	if req.Host, err = unescape(authority, "host"); err != nil {
		return err
	}
	if path != "" {
		if req.Path, err = unescape(path, "path"); err != nil {
			return err
		}
	}
	return nil
}

// unescape decodes one part of a url= value. Like git (which refuses
// %0a since CVE-2020-5260), it refuses a part that decodes to CR, LF or
// NUL: such a value would break the line it is later written on.
func unescape(part, name string) (string, error) {
	v, err := url.PathUnescape(part)
	if err != nil {
		return "", fmt.Errorf("url: bad %%-escape in the %s", name)
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return "", fmt.Errorf("url: the %s contains CR, LF or NUL", name)
	}
	return v, nil
}

// Answer is what the helper tells git on get.
type Answer struct {
	Username string
	Password string
	Expiry   time.Time // sent as password_expiry_utc when not zero
	// Quit, sent as quit=1, stops git from asking other helpers or the
	// person: after a helper that serves the host has said why it has no
	// credential, a password prompt would only invite the wrong secret.
	Quit bool
}

// WriteTo writes a in git's format. It refuses, writing nothing, a value
// that git would misread: one containing CR, LF or NUL.
func (a Answer) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, kv := range [][2]string{
		{"username", a.Username},
		{"password", a.Password},
	} {
		if kv[1] == "" {
			continue
		}
		if strings.ContainsAny(kv[1], "\r\n\x00") {
			return 0, fmt.Errorf("refusing to send a %s containing CR, LF or NUL", kv[0])
		}
		if len(kv[0])+len("=")+len(kv[1])+len("\n") > MaxLine {
			return 0, fmt.Errorf("refusing to send a %s longer than git accepts (%d bytes a line)", kv[0], MaxLine)
		}
		b.WriteString(kv[0] + "=" + kv[1] + "\n")
	}
	if !a.Expiry.IsZero() {
		b.WriteString("password_expiry_utc=" + strconv.FormatInt(a.Expiry.Unix(), 10) + "\n")
	}
	if a.Quit {
		b.WriteString("quit=1\n")
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
