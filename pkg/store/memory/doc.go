// Package memory keeps tokens only in the memory of a per-user daemon, in
// the way of git's credential-cache daemon.
//
// The daemon (Serve) listens on <dir>/daemon.sock in the runtime directory,
// holds an flock on <dir>/daemon.lock for its whole life so that only one
// runs per directory, answers only peers of its own UID, drops each token
// at its expiry, and exits once it has held nothing for a while, or within
// a second, dropping every token, once its socket is removed or replaced
// (as when logind deletes $XDG_RUNTIME_DIR at logout). The client (Store)
// implements store.Store and store.SignIns over that socket and starts the
// daemon on the first Put, Lock or StartSignIn; reads never start it.
//
// The daemon is two parts: a table (table.go, signin.go) that knows the
// tokens, the sign-in locks, the device-flow sign-ins it runs for git
// commands that may not wait, and what runs in the background, and reads
// the time only through the clock it is given, so that its tests need no
// sockets and no sleeps; and a server (daemon.go) that owns the socket,
// the flock and the signals, and wakes when the table says. Client and
// server share only the wire format (wire.go).
package memory
