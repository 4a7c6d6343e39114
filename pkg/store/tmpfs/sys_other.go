//go:build !unix

package tmpfs

import (
	"errors"
	"os"
)

// The store needs O_NOFOLLOW, file ownership and a memory file system;
// Open refuses to run without them.
const (
	supported = false
	noFollow  = 0
	nonBlock  = 0
)

func ownedByUser(os.FileInfo) bool { return false }

func readFile(string) ([]byte, fileStat, error) {
	return nil, fileStat{}, errors.New("the tmpfs token store is not supported here")
}
