//go:build linux || darwin

package memory

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// conn is the client's end of a connection to the daemon: a blocking
// socket driven by plain syscalls, bounded by SO_RCVTIMEO and SO_SNDTIMEO.
// A cache hit is one short exchange, and going without the runtime's
// poller spares it setting the poller up (epoll, an eventfd, a thread to
// wait in it) in a process that lives a few milliseconds.
type conn struct{ fd int }

// dialUnix connects to the Unix socket at path; each later read or write
// may block for at most timeout, as may the connect itself.
func dialUnix(path string, timeout time.Duration) (*conn, error) {
	fd, err := socketCloexec()
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("setsockopt", err)
	}
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		if err == unix.EAGAIN {
			err = os.ErrDeadlineExceeded // the daemon's backlog stayed full
		}
		return nil, os.NewSyscallError("connect", err)
	}
	return &conn{fd: fd}, nil
}

func (c *conn) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(c.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, os.ErrDeadlineExceeded
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (c *conn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(c.fd, p[done:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return done, os.ErrDeadlineExceeded
		case err != nil:
			return done, os.NewSyscallError("write", err)
		}
		done += n
	}
	return done, nil
}

func (c *conn) Close() error { return unix.Close(c.fd) }

// readFrame reads one frame of at most limit bytes: in one read, when the
// daemon's single write has arrived whole.
func (c *conn) readFrame(limit int) ([]byte, error) {
	var first [1024]byte
	n, err := io.ReadAtLeast(c, first[:], 4)
	if err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(first[:4])
	if size > uint32(limit) {
		return nil, errTooLarge
	}
	body := make([]byte, size)
	got := copy(body, first[4:n])
	if _, err := io.ReadFull(c, body[got:]); err != nil {
		return nil, err
	}
	return body, nil
}

// netConn hands the connection over to the runtime's poller, for a wait
// that a context must be able to end; c is closed either way.
func (c *conn) netConn() (net.Conn, error) {
	f := os.NewFile(uintptr(c.fd), "daemon.sock")
	defer f.Close()
	return net.FileConn(f)
}
