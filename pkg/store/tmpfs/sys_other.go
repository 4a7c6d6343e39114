//go:build !unix

package tmpfs

import "os"

// The store needs O_NOFOLLOW, file ownership and a memory file system;
// Open refuses to run without them.
const (
	supported = false
	noFollow  = 0
	nonBlock  = 0
)

func ownedByUser(os.FileInfo) bool { return false }
