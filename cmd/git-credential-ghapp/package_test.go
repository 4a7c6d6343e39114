package main

// scripts/package.sh, run for real: the four cross-built binaries and the
// Linux packages, and (as root, with dpkg) the .deb installed, used and
// removed.

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

const packageVersion = "1.2.3-test"

// What the .deb installs.
var installedFiles = []string{
	"/usr/bin/git-credential-ghapp",
	"/usr/share/man/man1/git-credential-ghapp.1.gz",
	"/usr/share/bash-completion/completions/git-credential-ghapp",
	"/usr/share/zsh/vendor-completions/_git-credential-ghapp",
	"/usr/share/fish/vendor_completions.d/git-credential-ghapp.fish",
}

// TestPackage runs scripts/package.sh, which builds the static binaries
// for linux/amd64, linux/arm64, darwin/arm64 and windows/amd64 with the
// release flags and the .deb and .rpm packages, and checks what it made.
// Building nfpm the first time needs the Go module proxy; -short skips
// the test.
func TestPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four binaries and four packages; skipped with -short")
	}
	if _, err := exec.LookPath("gzip"); err != nil {
		t.Skip("no gzip")
	}
	dist := t.TempDir()
	start := time.Now()
	cmd := exec.Command("bash", "scripts/package.sh", "v"+packageVersion)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "DIST="+dist)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/package.sh: %v\n%s", err, out)
	}
	t.Logf("scripts/package.sh took %v", time.Since(start).Round(100*time.Millisecond))

	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		name   string
		format func(t *testing.T, path string)
	}{
		{"git-credential-ghapp-linux-amd64", linuxBinary(elf.EM_X86_64)},
		{"git-credential-ghapp-linux-arm64", linuxBinary(elf.EM_AARCH64)},
		{"git-credential-ghapp-darwin-arm64", darwinBinary(macho.CpuArm64)},
		{"git-credential-ghapp-windows-amd64.exe", windowsBinary(pe.IMAGE_FILE_MACHINE_AMD64)},
	} {
		t.Run(b.name, func(t *testing.T) {
			path := filepath.Join(dist, b.name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b.format(t, path)
			if !bytes.Contains(data, []byte(packageVersion)) {
				t.Errorf("the version %s is not stamped into it", packageVersion)
			}
			if bytes.Contains(data, []byte(root)) {
				t.Errorf("it holds the build directory %s: not built with -trimpath", root)
			}
		})
	}
	if runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") {
		out, err := exec.Command(filepath.Join(dist, "git-credential-ghapp-linux-"+runtime.GOARCH), "--version").CombinedOutput()
		if want := "git-credential-ghapp version " + packageVersion + "\n"; err != nil || string(out) != want {
			t.Errorf("--version printed %q (%v), want %q", out, err, want)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		debs, _ := filepath.Glob(filepath.Join(dist, "git-credential-ghapp_*_"+arch+".deb"))
		if len(debs) != 1 {
			t.Errorf("want one .deb for %s, found %q", arch, debs)
		}
		rpmArch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[arch]
		rpms, _ := filepath.Glob(filepath.Join(dist, "git-credential-ghapp-*."+rpmArch+".rpm"))
		if len(rpms) != 1 {
			t.Errorf("want one .rpm for %s, found %q", rpmArch, rpms)
			continue
		}
		// The RPM lead starts with this magic number.
		if data, err := os.ReadFile(rpms[0]); err != nil || !bytes.HasPrefix(data, []byte{0xed, 0xab, 0xee, 0xdb}) {
			t.Errorf("%s is not an RPM package (%v)", rpms[0], err)
		}
	}

	t.Run("deb", func(t *testing.T) { testDeb(t, dist) })
}

func linuxBinary(machine elf.Machine) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Machine != machine {
			t.Errorf("machine %v, want %v", f.Machine, machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("dynamically linked (%v): not built with CGO_ENABLED=0", p.Type)
			}
		}
		if f.Section(".symtab") != nil {
			t.Error("has a symbol table: not built with -ldflags -s")
		}
	}
}

func darwinBinary(cpu macho.Cpu) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		f, err := macho.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Cpu != cpu {
			t.Errorf("CPU %v, want %v", f.Cpu, cpu)
		}
	}
}

func windowsBinary(machine uint16) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		f, err := pe.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Machine != machine {
			t.Errorf("machine %#x, want %#x", f.Machine, machine)
		}
	}
}

// testDeb installs the .deb for this machine, uses it, and removes it.
func testDeb(t *testing.T, dist string) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("installing a .deb needs root on Linux")
	}
	for _, tool := range []string{"dpkg", "dpkg-query", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	// Never replace or remove a git-credential-ghapp someone installed.
	if debInstalled() {
		t.Skip("the git-credential-ghapp package is installed on this machine; not touching it")
	}
	for _, f := range installedFiles {
		if _, err := os.Lstat(f); err == nil {
			t.Skipf("%s exists; not touching it", f)
		}
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "git-credential-ghapp_*_"+runtime.GOARCH+".deb"))
	if len(debs) != 1 {
		t.Skipf("no .deb for %s", runtime.GOARCH)
	}

	dpkg := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("dpkg", args...).CombinedOutput(); err != nil {
			t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	dpkg("-i", debs[0])
	removed := false
	t.Cleanup(func() {
		if !removed {
			exec.Command("dpkg", "-r", "git-credential-ghapp").Run()
		}
	})

	for _, f := range installedFiles {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if out, err := exec.Command("/usr/bin/git-credential-ghapp", "--version").CombinedOutput(); err != nil || string(out) != "git-credential-ghapp version "+packageVersion+"\n" {
		t.Errorf("--version printed %q (%v)", out, err)
	}

	// git finds the helper on PATH; a host it does not serve gets no
	// answer and no message, so git would ask its next helper.
	home := t.TempDir()
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "GHAPP_RUNTIME_DIR=" + filepath.Join(home, "rt")}
	get := exec.Command("git", "credential-ghapp", "get")
	get.Env = env
	get.Stdin = strings.NewReader("protocol=https\nhost=example.com\n\n")
	var stdout, stderr bytes.Buffer
	get.Stdout, get.Stderr = &stdout, &stderr
	if err := get.Run(); err != nil || stdout.Len() > 0 || stderr.Len() > 0 {
		t.Errorf("git credential-ghapp get for example.com: %v, stdout %q, stderr %q; want exit 0 and silence", err, stdout.String(), stderr.String())
	}

	if _, err := exec.LookPath("man"); err == nil {
		out, err := exec.Command("man", "-w", "git-credential-ghapp").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "/usr/share/man/man1/git-credential-ghapp.1.gz" {
			t.Errorf("man -w git-credential-ghapp: %q (%v)", out, err)
		}
	}
	if _, err := exec.LookPath("bash"); err == nil {
		checkBashCompletion(t, "/usr/share/bash-completion/completions/git-credential-ghapp", "/usr/bin:/bin")
	}

	dpkg("-r", "git-credential-ghapp")
	removed = true
	for _, f := range installedFiles {
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("%s is still there after dpkg -r", f)
		}
	}
	if debInstalled() {
		t.Error("dpkg still lists the package as installed after dpkg -r")
	}
}

// debInstalled reports whether dpkg has the git-credential-ghapp package
// installed ("install ok installed").
func debInstalled() bool {
	out, _ := exec.Command("dpkg-query", "-W", "-f", "${Status}", "git-credential-ghapp").Output()
	return strings.HasSuffix(strings.TrimSpace(string(out)), " installed")
}
