//go:build unix

package runtimedir

import (
	"os"
	"syscall"
)

func owner(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// OnMemoryFS reports whether dir lives on a file system kept only in
// memory (tmpfs or ramfs), so that files in it never reach a disk.
func OnMemoryFS(dir string) (bool, error) {
	return onMemoryFS(dir)
}
