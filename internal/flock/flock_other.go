//go:build !unix

package flock

import "os"

const oNoFollow = 0

// Without flock the lock only orders what the caller orders itself.
func tryLock(*os.File, bool) error { return nil }

func unlock(*os.File) {}
