package fleet

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// A config or secrets file decides where signed API calls go and which
// secrets are read, so bbbfleet uses one only when nobody else could have
// written it, as git's safe.directory does for repositories: the file must
// be owned by the user running bbbfleet or by root, and neither its group
// nor others may write to it. A symbolic link is judged by the file it
// points to (checked on the opened file, so it cannot be swapped between
// the check and the read), and the link itself must be owned by that user
// or root too: another user's link is refused whatever it points to.

// UntrustedFileError is a config or secrets file that another user could
// have written.
type UntrustedFileError struct {
	// What is "config" or "secrets file".
	What string
	Path string
	// UID and Owner are the file's owner (Owner "" when unknown).
	UID   int
	Owner string
	Mode  os.FileMode
	// SelfUID and Self are the user running bbbfleet.
	SelfUID int
	Self    string
	// OtherOwner is true when the owner is neither that user nor root;
	// otherwise group or others can write the file.
	OtherOwner bool
	// Link is true when Path is a symbolic link owned by another user.
	Link bool
}

func (e *UntrustedFileError) Error() string {
	if e.Link {
		return fmt.Sprintf("refusing the %s %s: it is a symbolic link owned by %s, not by you (%s) or root; "+
			"another user could point it anywhere: replace it with a file or link of your own",
			e.What, e.Path, describeUser(e.Owner, e.UID), selfUser(e.Self, e.SelfUID))
	}
	if e.OtherOwner {
		orRoot := " or root"
		if e.SelfUID == 0 {
			orRoot = ""
		}
		return fmt.Sprintf("refusing the %s %s: it is owned by %s, not by you (%s)%s, mode %04o; "+
			"another user could have written it: if you trust it, `chown %s %s`",
			e.What, e.Path, describeUser(e.Owner, e.UID), selfUser(e.Self, e.SelfUID), orRoot, e.Mode.Perm(), ownerArg(e.Self, e.SelfUID), e.Path)
	}
	return fmt.Sprintf("refusing the %s %s: group or others can write it (mode %04o, owner %s); if you trust it, `chmod go-w %s`",
		e.What, e.Path, e.Mode.Perm(), describeUser(e.Owner, e.UID), e.Path)
}

func describeUser(name string, uid int) string {
	if name == "" {
		return "uid " + strconv.Itoa(uid)
	}
	return fmt.Sprintf("%s (uid %d)", name, uid)
}

func selfUser(name string, uid int) string {
	if name == "" {
		return "uid " + strconv.Itoa(uid)
	}
	return fmt.Sprintf("%s, uid %d", name, uid)
}

func ownerArg(name string, uid int) string {
	if name == "" {
		return strconv.Itoa(uid)
	}
	return name
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return ""
}

// checkTrusted returns an *UntrustedFileError when fi, the stat of an
// opened file, is owned by another user than the current one or root, or
// is writable by group or others. It does nothing where files have no
// owner (see trust_other.go).
func checkTrusted(what, path string, fi os.FileInfo) error {
	uid, ok := fileOwner(fi)
	if !ok {
		return nil
	}
	self := os.Geteuid()
	other := uid != self && uid != 0
	if !other && fi.Mode().Perm()&0o022 == 0 {
		return nil
	}
	return &UntrustedFileError{What: what, Path: path, UID: uid, Owner: userName(uid), Mode: fi.Mode(),
		SelfUID: self, Self: userName(self), OtherOwner: other}
}

// checkLink refuses path when it is a symbolic link owned by another user
// than the current one or root.
func checkLink(what, path string) error {
	li, err := os.Lstat(path)
	if err != nil || li.Mode()&os.ModeSymlink == 0 {
		return nil // a missing file is the caller's business
	}
	uid, ok := fileOwner(li)
	if !ok || uid == os.Geteuid() || uid == 0 {
		return nil
	}
	self := os.Geteuid()
	return &UntrustedFileError{What: what, Path: path, UID: uid, Owner: userName(uid), Mode: li.Mode(),
		SelfUID: self, Self: userName(self), OtherOwner: true, Link: true}
}

// openTrusted opens a config or secrets file and returns it with its
// stat, after checking on the opened file that nobody else could have
// written it (see checkTrusted). The caller closes the file.
func openTrusted(what, path string) (*os.File, os.FileInfo, error) {
	if err := checkLink(what, path); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		// Not a file at all (a directory such as /tmp): say that, not
		// how to change its owner or mode.
		err = &notRegularError{What: what, Path: path, Dir: fi.IsDir()}
	}
	if err == nil {
		err = checkTrusted(what, path, fi)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// notRegularError is a config or secrets path that is not a regular file.
type notRegularError struct {
	What, Path string
	Dir        bool
}

func (e *notRegularError) Error() string { return e.Path + ": " + e.detail() }

// detail is the message without the path.
func (e *notRegularError) detail() string {
	if e.Dir {
		return fmt.Sprintf("a directory, not a %s file (give the file's path, e.g. %s)", e.What, filepath.Join(e.Path, "bbbfleet.yaml"))
	}
	return fmt.Sprintf("not a regular file, so it cannot be the %s file", e.What)
}
