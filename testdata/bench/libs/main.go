// Command libs is the floor (see ../floor) with the libraries the helper
// is built on linked in: urfave/cli v2, golang.org/x/oauth2 and go-keyring.
// Their package initialisation runs at every start whatever the program
// does, so the helper's cache hit measured against this shows what the
// helper's own code costs.
package main

import (
	"bufio"
	"net/http"
	"os"

	_ "github.com/urfave/cli/v2"
	_ "github.com/zalando/go-keyring"
	_ "golang.org/x/oauth2"
)

func main() {
	// Never true when benchmarked: it only keeps the HTTP client linked in.
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
