// Command floor is the fastest any Go credential helper with an HTTP client
// can answer: it links net/http, so that package's initialisation runs at
// every start as it does in git-credential-ghapp, then reads a credential
// request and writes a fixed answer. The benchmark measures the helper's
// cache hit against it.
package main

import (
	"bufio"
	"net/http"
	"os"
)

func main() {
	// Never true when benchmarked: it only keeps the HTTP client linked in,
	// as a helper that can sign in has it.
	if len(os.Args) > 2 {
		resp, err := http.Get(os.Args[2])
		if err == nil {
			resp.Body.Close()
		}
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() && sc.Text() != "" {
	}
	os.Stdout.WriteString("username=octocat\npassword=floor\n")
}
