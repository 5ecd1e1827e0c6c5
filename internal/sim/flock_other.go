//go:build !unix

package sim

import "os"

// Without flock the FileStore only orders goroutines of one process.
func flock(*os.File, bool) error { return nil }

func funlock(*os.File) {}
