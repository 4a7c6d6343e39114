//go:build unix

package blob

import "syscall"

const noFollow = syscall.O_NOFOLLOW
