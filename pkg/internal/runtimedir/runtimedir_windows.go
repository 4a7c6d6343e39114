package runtimedir

import "os"

func owner(os.FileInfo) (int, bool) { return 0, false }

// OnMemoryFS is always false on Windows, which has no tmpfs.
func OnMemoryFS(string) (bool, error) { return false, nil }
