package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/bbbfleet/bbbfleet/pkg/ssh"
)

// A push copies one local file to a path on servers, atomically, and says
// per server whether it changed.
//
// How the file travels: its content is streamed over the stdin of an exec
// session into a constant sh script (pushWriteScript) whose only inputs are
// its quoted arguments (the remote path, the expected sha256, the mode and
// the owner), run through "sudo -n" when asked. Not SFTP: an SFTP
// subsystem runs as the login user and cannot sudo, so root-owned paths
// (/etc/...) under a non-root login, the common case, would need a second
// path anyway; one path for every login keeps the behaviour the same, and
// the session is a Run like any other (deadline, cancel cleanup). The
// script writes a temporary file in the target directory, checks its
// sha256 against the expected one (a copy cut short or changed on the way
// is never installed), applies owner and mode, and renames it over the
// target (rename(2) within one directory: readers see the old file or the
// new one, never a part). A first, read-only session (pushStatScript)
// reads the target's sha256, mode and owner, so an unchanged file is not
// sent at all and --dry-run writes nothing.

// PushSpec is what to push.
type PushSpec struct {
	// Local is the local file (a regular file; read once per server).
	Local string
	// SHA256 and Size are the local file's, from PrepareLocal.
	SHA256 string
	Size   int64
	// Remote is the absolute path on the servers.
	Remote string
	// Mode, when not -1, is the mode to set (e.g. 0o644). Otherwise an
	// existing file keeps its mode and a new one gets 0644.
	Mode int
	// Owner, when set, is "user" or "user:group" to chown to. Otherwise
	// an existing file keeps its owner (when written as root) and a new
	// one belongs to the writing user.
	Owner string
	// Sudo writes as root through sudo -n under a non-root login.
	Sudo bool
	// DryRun reads the remote state only.
	DryRun bool
}

// FileState is a remote file as the push scripts report it.
type FileState struct {
	SHA256 string
	Mode   int
	UID    int
	GID    int
	User   string
	Group  string
}

// PushResult is the outcome of a push on one server.
type PushResult struct {
	// Before is the file before (nil: it did not exist); After is the
	// file after a write (nil for a dry run or when unchanged).
	Before, After *FileState
	// Changes lists what differs (or differed): "created", "content",
	// "mode", "owner". Empty: the server already had the file as asked.
	Changes []string
	// Written is true when the file was written (not a dry run, changes).
	Written bool
}

// PrepareLocal checks that local is a regular file and returns its size
// and sha256.
func PrepareLocal(local string) (size int64, sum string, err error) {
	f, err := os.Open(local)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, "", err
	}
	if !st.Mode().IsRegular() {
		return 0, "", fmt.Errorf("%s is not a regular file (%s)", local, fileKind(st.Mode()))
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("reading %s: %w", local, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return m.Type().String()
}

// CheckRemotePath refuses a remote path that is not absolute, names a
// directory, or holds control characters.
func CheckRemotePath(p string) error {
	switch {
	case !path.IsAbs(p):
		return fmt.Errorf("remote path %q is not absolute (start it with /)", p)
	case strings.HasSuffix(p, "/") || path.Clean(p) == "/":
		return fmt.Errorf("remote path %q names a directory; give the file's full path", p)
	case path.Clean(p) != p:
		return fmt.Errorf("remote path %q is not clean; write it as %q", p, path.Clean(p))
	}
	for _, r := range p {
		if unicode.IsControl(r) {
			return fmt.Errorf("remote path %q contains a control character", p)
		}
	}
	return nil
}

var ownerRE = regexp.MustCompile(`^([a-z_][a-z0-9_.-]*\$?|[0-9]+)(:([a-z_][a-z0-9_.-]*\$?|[0-9]+))?$`)

// CheckOwner validates "user" or "user:group" (names or numeric ids).
func CheckOwner(o string) error {
	if !ownerRE.MatchString(o) || len(o) > 65 {
		return fmt.Errorf("owner %q is not user or user:group (names or numeric ids)", o)
	}
	return nil
}

// ParseMode parses an octal mode such as 0644 or 755.
func ParseMode(s string) (int, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("mode %q is not an octal file mode such as 0644", s)
	}
	return int(m), nil
}

// pushStatScript prints the state of the file $1: "missing" (its
// directory exists) or "file SHA256 MODE UID GID USER GROUP". It refuses
// a symbolic link (a rename would replace the link, not its target) and
// anything but a regular file.
const pushStatScript = `d=$1
if [ -L "$d" ]; then echo "it is a symbolic link (to $(readlink "$d")): push to the file it points to" >&2; exit 3; fi
if [ -e "$d" ]; then
  [ -f "$d" ] || { echo "it exists and is not a regular file" >&2; exit 3; }
  s=$(sha256sum <"$d") || exit 4
  set -- $s
  st=$(stat -c '%a %u %g %U %G' "$d") || exit 4
  echo "file $1 $st"
else
  p=$(dirname "$d")
  [ -d "$p" ] || { echo "directory $p does not exist" >&2; exit 3; }
  echo missing
fi`

// pushWriteScript installs stdin as $1 if its sha256 is $2, with mode $3
// (octal; empty: keep the old file's, or 0644) and owner $4 (empty: keep
// the old file's when root, else the writer's), through a temporary file
// in the same directory renamed over it; then prints the state as
// pushStatScript does.
const pushWriteScript = `d=$1 want=$2 mode=$3 owner=$4
if [ -L "$d" ] || { [ -e "$d" ] && [ ! -f "$d" ]; }; then echo "it is not a regular file" >&2; exit 3; fi
t=$(mktemp "$(dirname "$d")/.bbbfleet-push.XXXXXX") || exit 4
trap 'rm -f "$t"' EXIT
trap 'exit 1' HUP INT TERM
cat >"$t" || exit 4
s=$(sha256sum <"$t") || exit 4
set -- $s
if [ "$1" != "$want" ]; then echo "the copy's sha256 is $1, not $want: it was cut short or changed on the way; nothing changed" >&2; exit 5; fi
if [ -n "$owner" ]; then chown "$owner" "$t" || exit 4
elif [ -e "$d" ] && [ "$(id -u)" = 0 ]; then chown "$(stat -c %u:%g "$d")" "$t" || exit 4; fi
if [ -n "$mode" ]; then chmod "$mode" "$t" || exit 4
elif [ -e "$d" ]; then chmod "$(stat -c %a "$d")" "$t" || exit 4
else chmod 0644 "$t" || exit 4; fi
mv -f "$t" "$d" || exit 4
s=$(sha256sum <"$d") || exit 4
set -- $s
st=$(stat -c '%a %u %g %U %G' "$d") || exit 4
echo "file $1 $st"`

// Push pushes p to s (see PushSpec and the notes above).
func (e *Env) Push(ctx context.Context, s Server, p PushSpec) (*PushResult, error) {
	res := &PushResult{}
	before, err := e.pushRun(ctx, s, p, ssh.Command{Argv: []string{"sh", "-c", pushStatScript, "bbbfleet-push", p.Remote}, Sudo: p.Sudo})
	if err != nil {
		return res, err
	}
	res.Before = before
	res.Changes = pushChanges(before, p)
	if p.DryRun || len(res.Changes) == 0 {
		return res, nil
	}
	f, err := os.Open(p.Local)
	if err != nil {
		return res, serverErr(s.Name, "push", err)
	}
	defer f.Close()
	mode := ""
	if p.Mode >= 0 {
		mode = fmt.Sprintf("%04o", p.Mode)
	}
	after, err := e.pushRun(ctx, s, p, ssh.Command{
		Argv:  []string{"sh", "-c", pushWriteScript, "bbbfleet-push", p.Remote, p.SHA256, mode, p.Owner},
		Sudo:  p.Sudo,
		Stdin: f,
	})
	if err != nil {
		return res, err
	}
	res.After, res.Written = after, true
	if after == nil || after.SHA256 != p.SHA256 {
		return res, serverErr(s.Name, "push", fmt.Errorf("%s does not hold the pushed content after the rename", p.Remote))
	}
	if p.Mode >= 0 && after.Mode != p.Mode {
		return res, serverErr(s.Name, "push", fmt.Errorf("%s has mode %04o after chmod %04o", p.Remote, after.Mode, p.Mode))
	}
	if p.Owner != "" && !ownerMatches(after, p.Owner) {
		return res, serverErr(s.Name, "push", fmt.Errorf("%s belongs to %s:%s after chown %s", p.Remote, after.User, after.Group, p.Owner))
	}
	return res, nil
}

// pushRun runs one push script and parses its report.
func (e *Env) pushRun(ctx context.Context, s Server, p PushSpec, cmd ssh.Command) (*FileState, error) {
	cmd.MaxOutput = 16 << 10
	r, err := e.Remote(ctx, s, cmd)
	if err != nil {
		var xe *ssh.ExitError
		if errors.As(err, &xe) && xe.Status >= 3 && xe.Status <= 5 && r != nil {
			msg := strings.TrimSpace(string(r.Stderr))
			if i := strings.IndexByte(msg, '\n'); i >= 0 {
				msg = msg[:i]
			}
			return nil, serverErr(s.Name, "push", fmt.Errorf("%s: %s", p.Remote, msg))
		}
		return nil, err
	}
	st, err := parseFileState(string(r.Stdout))
	if err != nil {
		return nil, serverErr(s.Name, "push", fmt.Errorf("%s: %w", p.Remote, err))
	}
	return st, nil
}

var hexRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// parseFileState reads a push script's last line of output.
func parseFileState(out string) (*FileState, error) {
	line := strings.TrimSpace(out)
	if line == "missing" {
		return nil, nil
	}
	f := strings.Fields(line)
	if len(f) != 7 || f[0] != "file" || !hexRE.MatchString(f[1]) {
		return nil, fmt.Errorf("unexpected answer from the server: %q", shorten(line, 120))
	}
	mode, err := strconv.ParseUint(f[2], 8, 32)
	uid, err2 := strconv.Atoi(f[3])
	gid, err3 := strconv.Atoi(f[4])
	if err != nil || err2 != nil || err3 != nil || mode > 0o7777 {
		return nil, fmt.Errorf("unexpected answer from the server: %q", shorten(line, 120))
	}
	return &FileState{SHA256: f[1], Mode: int(mode), UID: uid, GID: gid, User: f[5], Group: f[6]}, nil
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// pushChanges says what a push would change on a server in state before.
func pushChanges(before *FileState, p PushSpec) []string {
	if before == nil {
		return []string{"created"}
	}
	var c []string
	if before.SHA256 != p.SHA256 {
		c = append(c, "content")
	}
	if p.Mode >= 0 && before.Mode != p.Mode {
		c = append(c, "mode")
	}
	if p.Owner != "" && !ownerMatches(before, p.Owner) {
		c = append(c, "owner")
	}
	return c
}

// ownerMatches reports whether st belongs to owner ("user[:group]", names
// or ids).
func ownerMatches(st *FileState, owner string) bool {
	u, g, hasGroup := strings.Cut(owner, ":")
	match := func(want, name string, id int) bool {
		return want == name || want == strconv.Itoa(id)
	}
	return match(u, st.User, st.UID) && (!hasGroup || match(g, st.Group, st.GID))
}
