package memory

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// oNoFollow keeps openLockFile from following a planted symlink.
const oNoFollow = unix.O_NOFOLLOW

// hardenProcess keeps other processes of the same user from ptracing the
// daemon or reading its memory through a core dump.
func hardenProcess() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("cannot make the token daemon non-dumpable: %v", err)
	}
	return nil
}

// peer returns the user and process at the other end of a Unix socket.
func peer(fd int) (uid, pid int, err error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return -1, -1, err
	}
	return int(cred.Uid), int(cred.Pid), nil
}

// socketCloexec opens a Unix stream socket that no child inherits.
func socketCloexec() (int, error) {
	return unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
}
