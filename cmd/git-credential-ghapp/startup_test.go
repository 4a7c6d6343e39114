package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every git command pays the helper's start-up: no package of this module
// may build anything at initialisation (a compiled regexp, a large map)
// that a cache hit does not use. GODEBUG=inittrace=1 makes the runtime
// report each package's initialisation; its allocation count is a
// measure that does not depend on the machine's speed.
func TestNothingHeavyIsInitialisedAtStart(t *testing.T) {
	cmd := exec.Command(filepath.Join(binDir, "git-credential-ghapp"), "no-such-operation")
	cmd.Env = []string{"GODEBUG=inittrace=1", "HOME=" + t.TempDir()}
	out, _ := cmd.CombinedOutput()
	line := regexp.MustCompile(`(?m)^init (\S+) @.*, (\d+) allocs$`)
	const module = "github.com/ghapp-creds/git-credential-ghapp/"
	seen := 0
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		if !strings.HasPrefix(m[1], module) {
			continue
		}
		seen++
		if allocs, _ := strconv.Atoi(m[2]); allocs > 20 {
			t.Errorf("package %s allocates %d times while initialising; build it lazily instead", strings.TrimPrefix(m[1], module), allocs)
		}
	}
	if !strings.Contains(string(out), "init runtime") {
		t.Fatalf("no init trace in the output:\n%s", out)
	}
	t.Logf("%d of this module's packages run initialisation code", seen)
}
