package memory

import "errors"

// ErrUnavailable is matched (errors.Is) by the errors that say the daemon
// cannot be used at all: nothing could connect to its socket, or it could
// not be started. Only these may make a caller keep tokens elsewhere; a
// daemon that answers, even with a refusal, is there.
var ErrUnavailable = errors.New("the token daemon is unavailable")

// unavailableError reads as its own message and matches ErrUnavailable.
type unavailableError struct{ err error }

func (e unavailableError) Error() string   { return e.err.Error() }
func (e unavailableError) Unwrap() []error { return []error{e.err, ErrUnavailable} }

// unavailable marks err as meaning ErrUnavailable, keeping its message.
func unavailable(err error) error { return unavailableError{err} }
