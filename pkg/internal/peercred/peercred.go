// Package peercred tells who is at the other end of a Unix socket, so a
// server that listens on one can refuse every user but its own even when
// the socket's file permissions were loosened.
package peercred

import "net"

// UID returns the user ID of the process at the other end of c, as the
// kernel recorded it when the connection was made. The error is the
// system's; the caller says what it was checking.
func UID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid := -1
	var gerr error
	if err := raw.Control(func(fd uintptr) { uid, gerr = fdUID(int(fd)) }); err != nil {
		return -1, err
	}
	return uid, gerr
}
