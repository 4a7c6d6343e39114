// Package peercred tells who is at the other end of a Unix socket, so a
// server that listens on one can refuse every user but its own even when
// the socket's file permissions were loosened.
package peercred

import (
	"fmt"
	"net"
)

// UID returns the user ID of the process at the other end of c, as the
// kernel recorded it when the connection was made.
func UID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("cannot read the peer's credentials: %v", err)
	}
	uid := -1
	var gerr error
	if err := raw.Control(func(fd uintptr) { uid, gerr = fdUID(int(fd)) }); err != nil {
		return -1, fmt.Errorf("cannot read the peer's credentials: %v", err)
	}
	if gerr != nil {
		return -1, fmt.Errorf("cannot read the peer's credentials: %v", gerr)
	}
	return uid, nil
}
