package auto

import "testing"

func TestKnownStore(t *testing.T) {
	for name, want := range map[string]bool{"auto": true, "memory": true, "tmpfs": true, "keyring": true, "or": false, "": false, "bogus": false, "Memory": false} {
		if Known(name) != want {
			t.Errorf("Known(%q) = %v", name, !want)
		}
	}
}

// The wording is in help, error messages and the docs: it must not drift.
func TestNameList(t *testing.T) {
	if got, want := NameList(), "auto, memory, tmpfs or keyring"; got != want {
		t.Errorf("NameList() = %q, want %q", got, want)
	}
}
