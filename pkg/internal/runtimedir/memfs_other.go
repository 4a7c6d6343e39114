//go:build unix && !linux

package runtimedir

// onMemoryFS cannot tell tmpfs apart portably outside Linux; the file store
// there needs ghapp.allowDiskStore=true, and the memory store is the default.
func onMemoryFS(dir string) (bool, error) { return false, nil }
