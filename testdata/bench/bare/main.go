// Command bare is the floor without net/http: a static Go program that reads
// a credential request and writes a fixed answer. Set against the floor, it
// shows what net/http's initialisation costs every start.
package main

import (
	"bufio"
	"os"
)

func main() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() && sc.Text() != "" {
	}
	os.Stdout.WriteString("username=octocat\npassword=floor\n")
}
