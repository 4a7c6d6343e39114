package standin

import (
	"fmt"
	"net"
	"os"
)

// Listen opens the stand-in's listener on addr ("" means a free loopback
// port) and a temporary directory for its files. Errors start with pkg.
func Listen(pkg, addr string) (ln net.Listener, root string, err error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("%s: cannot listen on %s: %v", pkg, addr, err)
	}
	root, err = os.MkdirTemp("", pkg+"-")
	if err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("%s: cannot create a temporary directory: %v", pkg, err)
	}
	return ln, root, nil
}
