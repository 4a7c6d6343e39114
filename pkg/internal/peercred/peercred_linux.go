package peercred

import "golang.org/x/sys/unix"

func fdUID(fd int) (int, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}

// Supported reports whether UID works on this platform.
const Supported = true
