//go:build !unix

package blob

// Windows has no O_NOFOLLOW; its lock directory is in the user's profile.
const noFollow = 0
