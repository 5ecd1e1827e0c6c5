package cmd

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// fileUID is the owner of a file (-1 when unknown).
func fileUID(st os.FileInfo) int {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid)
	}
	return -1
}

// fileOwner is the user name owning a file.
func fileOwner(st os.FileInfo) string {
	u, err := user.LookupId(strconv.Itoa(fileUID(st)))
	if err != nil {
		return "?"
	}
	return u.Username
}

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
