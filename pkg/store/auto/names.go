package auto

import (
	"slices"
	"strings"
)

// Known reports whether Open knows the store called name, so that a
// caller can refuse a name before writing it anywhere.
func Known(name string) bool { return slices.Contains(Names, name) }

// NameList words Names for help and error messages:
// "auto, memory, tmpfs or keyring".
func NameList() string {
	return strings.Join(Names[:len(Names)-1], ", ") + " or " + Names[len(Names)-1]
}
