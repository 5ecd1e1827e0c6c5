//go:build unix

package ssh

import (
	"os"
	"syscall"
)

// oNoFollow makes open fail on a symbolic link at the final component.
const oNoFollow = syscall.O_NOFOLLOW

// fileOwner returns the uid that owns the file fi describes.
func fileOwner(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
