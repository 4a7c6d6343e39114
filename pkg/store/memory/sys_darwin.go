package memory

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// oNoFollow keeps openLockFile from following a planted symlink.
const oNoFollow = unix.O_NOFOLLOW

// hardenProcess keeps debuggers of the same user from attaching to the
// daemon, the nearest macOS has to PR_SET_DUMPABLE.
func hardenProcess() error {
	if err := unix.PtraceDenyAttach(); err != nil {
		return fmt.Errorf("cannot deny debugger attachment to the token daemon: %v", err)
	}
	return nil
}

// peer returns the user and process at the other end of a Unix socket.
func peer(fd int) (uid, pid int, err error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, -1, err
	}
	pid, err = unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	if err != nil {
		return -1, -1, err
	}
	return int(cred.Uid), pid, nil
}

// socketCloexec opens a Unix stream socket that no child inherits. macOS
// has no SOCK_CLOEXEC: ForkLock keeps a fork from slipping in between.
func socketCloexec() (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	return fd, err
}
