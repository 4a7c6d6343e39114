package web

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Addr is where the page listens.
type Addr struct {
	// Network is "unix" or "tcp".
	Network string
	// Address is the socket's path for "unix", IP:PORT for "tcp".
	Address string
}

// String returns the address as --listen takes it.
func (a Addr) String() string {
	if a.Network == "unix" {
		return "unix:" + a.Address
	}
	return a.Address
}

// ParseAddr reads a --listen address: unix:PATH, or a loopback IP and a
// port (127.0.0.1:PORT, [::1]:PORT; port 0 picks a free one). Anything
// that other machines could reach is refused, because the page can start
// sign-ins and sign people out.
func ParseAddr(s string) (Addr, error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" {
			return Addr{}, fmt.Errorf("listen address %q has no socket path: use unix:PATH", s)
		}
		return Addr{Network: "unix", Address: path}, nil
	}
	if s == "" {
		return Addr{}, fmt.Errorf("no listen address: use unix:PATH, 127.0.0.1:PORT or [::1]:PORT")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return Addr{}, fmt.Errorf("listen address %q is neither unix:PATH nor IP:PORT: use unix:PATH, 127.0.0.1:PORT or [::1]:PORT", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || strconv.FormatUint(n, 10) != port {
		return Addr{}, fmt.Errorf("listen address %q: the port must be a number from 0 to 65535 (0 picks a free one)", s)
	}
	use := fmt.Sprintf("use 127.0.0.1:%s, [::1]:%s or unix:PATH", port, port)
	if host == "" {
		return Addr{}, fmt.Errorf("listen address %q listens on every network interface, where anyone who can reach this machine could open the page; %s", s, use)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return Addr{}, fmt.Errorf("listen address %q names a host, which may resolve to an address other machines can reach; %s", s, use)
	}
	switch {
	case ip.IsUnspecified():
		return Addr{}, fmt.Errorf("listen address %q: %s is every network interface, where anyone who can reach this machine could open the page; %s", s, host, use)
	case ip.Zone() != "" || ip.Is4In6() || !ip.IsLoopback():
		return Addr{}, fmt.Errorf("listen address %q: %s is not a loopback address, so other machines could open the page; %s", s, host, use)
	}
	return Addr{Network: "tcp", Address: net.JoinHostPort(ip.String(), port)}, nil
}
