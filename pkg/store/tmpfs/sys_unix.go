//go:build unix

package tmpfs

import (
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
