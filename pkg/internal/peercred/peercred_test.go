//go:build linux || darwin

package peercred

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// pair connects a client to a listener on a fresh socket and returns both
// ends.
func pair(t *testing.T) (client, server *net.UnixConn) {
	t.Helper()
	addr := &net.UnixAddr{Name: filepath.Join(t.TempDir(), "s"), Net: "unix"}
	ln, err := net.ListenUnix("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.DialUnix("unix", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.AcceptUnix()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestUIDIsOurs(t *testing.T) {
	client, server := pair(t)
	for name, c := range map[string]*net.UnixConn{"server side": server, "client side": client} {
		uid, err := UID(c)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if uid != os.Getuid() {
			t.Errorf("%s: UID = %d, want %d", name, uid, os.Getuid())
		}
	}
}

func TestUIDOfClosedConn(t *testing.T) {
	_, server := pair(t)
	server.Close()
	if uid, err := UID(server); err == nil {
		t.Errorf("UID of a closed connection = %d, want an error", uid)
	}
}
