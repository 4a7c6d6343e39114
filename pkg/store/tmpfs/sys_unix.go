//go:build unix

package tmpfs

import (
	"io/fs"
	"os"
	"syscall"
)

const (
	supported = true
	noFollow  = syscall.O_NOFOLLOW
	// nonBlock keeps an open of a FIFO planted in place of a token file
	// from hanging; it changes nothing for a regular file.
	nonBlock = syscall.O_NONBLOCK
)

func ownedByUser(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}

// readFile reads path without following a symlink or waiting on a FIFO
// planted in its place, and reads the contents only of a file that
// passes the checks Read makes (a regular file of the user's, mode 0600;
// st says). It makes plain system calls: on a cache hit, registering the
// file with the runtime's poller would cost more than reading it.
func readFile(path string) (data []byte, st fileStat, err error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|noFollow|nonBlock, 0)
	if err != nil {
		return nil, st, err
	}
	defer syscall.Close(fd)
	var sys syscall.Stat_t
	if err := syscall.Fstat(fd, &sys); err != nil {
		return nil, st, err
	}
	st = fileStat{
		regular: sys.Mode&syscall.S_IFMT == syscall.S_IFREG,
		owned:   int(sys.Uid) == os.Getuid(),
		perm:    fs.FileMode(sys.Mode & 0o777),
	}
	if !st.regular || !st.owned || st.perm != 0o600 {
		return nil, st, nil
	}
	data = make([]byte, 0, sys.Size+1)
	for {
		n, err := syscall.Read(fd, data[len(data):cap(data)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, st, err
		}
		if n == 0 {
			return data, st, nil
		}
		data = data[:len(data)+n]
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}
