package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/ghapp-creds/git-credential-ghapp/pkg/internal/peercred"
)

// Server bounds: a slow or stalled client cannot hold a connection.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = backendWait + 30*time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	shutdownWait      = 5 * time.Second
)

// Serve serves the page on addr (see ParseAddr) until ctx ends, then shuts
// down cleanly and returns nil.
//
// On TCP, the first and only line written to stdout is the page's address
// with its secret, http://127.0.0.1:PORT/?token=SECRET. On a Unix socket
// nothing is written: whoever chose the path knows it, and the socket is
// ready when it accepts connections.
func Serve(ctx context.Context, addr string, b Backend, stdout io.Writer) error {
	a, err := ParseAddr(addr)
	if err != nil {
		return err
	}
	var (
		ln   net.Listener
		opts []Option
	)
	switch a.Network {
	case "unix":
		if ln, err = listenUnix(a.Address); err != nil {
			return err
		}
	default:
		if ln, err = net.Listen("tcp", a.Address); err != nil {
			return fmt.Errorf("cannot listen on %s: %v", a.Address, unwrapSyscall(err))
		}
		secret := randomToken()
		opts = append(opts, Secret(secret))
		if _, err := fmt.Fprintf(stdout, "http://%s/?token=%s\n", ln.Addr(), secret); err != nil {
			ln.Close()
			return fmt.Errorf("cannot print the page's address: %v", err)
		}
	}
	srv := &http.Server{
		Handler:           Handler(b, opts...),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// The server's own log would print a handler's panic with its
		// stack; the person gets a cut-off answer instead.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("the page stopped serving: %v", unwrapSyscall(err))
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("the page stopped serving: %v", unwrapSyscall(err))
	}
	return nil
}

// listenUnix listens on path, readable and writable only by this user,
// and admits only peers of this user.
func listenUnix(path string) (net.Listener, error) {
	if !peercred.Supported {
		return nil, fmt.Errorf("unix:%s: this platform cannot tell who connects to a Unix socket; use 127.0.0.1:PORT", path)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("unix:%s: the path exists and is not a socket", path)
		}
		// A socket nobody answers on is left over from a server that
		// died; one that answers belongs to a server still running.
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("unix:%s: another server already listens there", path)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("unix:%s: cannot tell whether the socket there is in use: %v", path, unwrapSyscall(err))
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("unix:%s: cannot remove the stale socket: %v", path, unwrapSyscall(err))
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("cannot listen on unix:%s: %v", path, unwrapSyscall(err))
	}
	// The umask may leave the socket open to the group for a moment; the
	// peer check below refuses anyone else who connects in that window.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("cannot restrict unix:%s to its owner: %v", path, unwrapSyscall(err))
	}
	return &peerListener{UnixListener: ln, uid: os.Getuid()}, nil
}

// peerListener closes every connection from a process of another user.
type peerListener struct {
	*net.UnixListener
	uid int
}

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if uid, err := peercred.UID(c); err == nil && uid == l.uid {
			return c, nil
		}
		c.Close()
	}
}

// unwrapSyscall shortens "listen unix /p: bind: address already in use"
// style errors to their last part when the path is already in the message.
func unwrapSyscall(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		var sys *os.SyscallError
		if errors.As(op.Err, &sys) {
			return sys.Err
		}
		return op.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
