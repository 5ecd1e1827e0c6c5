//go:build unix

package cmd

import "syscall"

// oNoFollow makes open fail on a symbolic link at the final component.
const oNoFollow = syscall.O_NOFOLLOW
