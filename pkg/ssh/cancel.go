package ssh

import (
	"context"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// How a cancelled Run stops its remote command; see Run.
const (
	// termGrace is how long a cancelled command has between SIGTERM and
	// SIGKILL.
	termGrace = 250 * time.Millisecond
	// replyWait bounds the wait for sshd's answer to the SIGTERM request;
	// a healthy server answers at once.
	replyWait = 500 * time.Millisecond
	// cleanupTimeout bounds the cleanup session (opening it, running
	// cleanupScript) so that cancellation stays prompt.
	cleanupTimeout = 2 * time.Second
	// maxEnterWaits bounds how often a Run waits for cleanups in turn.
	maxEnterWaits = 100
)

// cleanupScript is the constant, trusted POSIX sh script the cleanup
// session runs. In OpenSSH every session's first process is a child of
// the per-connection sshd process ("sshd: root@notty", or for a non-root
// login the unprivileged "sshd: user@notty" child) and leads its own
// session (setsid). The script finds its own session (that of its first
// argument, a process of the cleanup session, else its own), and that
// session's leader's parent: the connection's sshd process. It does
// nothing unless that is an sshd process (comm "sshd" or "sshd-session"),
// i.e. unless it runs in a session of an sshd connection: never under
// init, another shell, or a ForceCommand that starts its own session. It
// then ends every process of every other session of this connection:
// those whose session id is another child of sshd, and the descendants of
// such a child (in case one started a session of its own). Both are found
// before the first signal, so a process whose parent dies of the SIGTERM
// (the child of a shell that sudo relays SIGTERM to) is still reached.
// They are stopped (SIGSTOP) before SIGTERM and continued after it, so
// that none runs on between two kills (a shell whose child died first
// would run its next command); SIGKILL follows 200 ms later, to those and
// to any found then. Its own
// session and its descendants are spared. Behind a ForceCommand that runs
// the command in a shell (or an interpreter) of the same session, this
// reaches the other sessions' forced commands and all they started.
// Without awk it falls back to the process group of every other child of
// sshd.
//
// Run through sudo (cleanupLine) its argument is the login shell itself,
// so the session is found even if sudo runs the script in a session of
// its own, and it may end the processes the command runs as root.
const cleanupScript = `me=$(ps -o sid= -p "${1:-$$}" 2>/dev/null | tr -dc 0-9)
case $me in ''|0|1) exit 0;; esac
p=$(ps -o ppid= -p "$me" 2>/dev/null | tr -dc 0-9)
case $p in ''|0|1) exit 0;; esac
n=$(cat /proc/$p/comm 2>/dev/null || ps -o comm= -p $p 2>/dev/null)
case $n in sshd|sshd-session) ;; *) exit 0;; esac
list() {
  ps -e -o pid= -o ppid= -o sid= 2>/dev/null | awk -v p="$p" -v me="$me" '
    { par[$1] = $2; sid[$1] = $3 }
    END {
      for (x in par) if (par[x] == p && x != me) lead[x] = 1
      for (x in par) {
        if (x == me || sid[x] == me) continue
        if (sid[x] in lead) { print x; continue }
        y = x
        for (i = 0; i < 64 && (y in par); i++) {
          if (par[y] == p) { if (y in lead) print x; break }
          y = par[y]
        }
      }
    }'
}
if command -v awk >/dev/null 2>&1; then
  l=$(list)
  [ -n "$l" ] || exit 0
  kill -s STOP $l 2>/dev/null
  kill -s TERM $l 2>/dev/null
  kill -s CONT $l 2>/dev/null
  sleep 0.2 2>/dev/null || sleep 1
  kill -s KILL $l $(list) 2>/dev/null
  exit 0
fi
l=$(ps -o pid= --ppid $p 2>/dev/null || pgrep -P $p 2>/dev/null)
for s in TERM KILL; do
  for c in $l; do
    case $c in ''|*[!0-9]*|0|1) continue;; esac
    [ "$c" = "$me" ] && continue
    kill -s $s -- -$c 2>/dev/null || kill -s $s $c 2>/dev/null
  done
  if [ $s = TERM ]; then sleep 0.2 2>/dev/null || sleep 1; fi
done
exit 0`

// cleanupLine is the command line of the cleanup session: cleanupScript
// as is, or, to reach a command run through sudo, through sudo with the
// login shell's pid ($$, expanded by that shell) as its argument.
func cleanupLine(sudo bool) string {
	if !sudo {
		return cleanupScript
	}
	return Quote(SudoArgv([]string{"sh", "-c", cleanupScript, "sh"})) + ` "$$"`
}

// enter registers a Run as active, first waiting (under ctx) for a
// cleanup in progress to end.
func (c *Client) enter(ctx context.Context) error {
	for i := 0; ; i++ {
		c.runMu.Lock()
		ch := c.cleaning
		if ch == nil || i >= maxEnterWaits {
			c.runs++
			c.runMu.Unlock()
			return nil
		}
		c.runMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// leave unregisters a Run.
func (c *Client) leave() {
	c.runMu.Lock()
	c.runs--
	c.runMu.Unlock()
}

// beginCleanup reports whether the calling Run is the only active one and
// no cleanup runs; if so, it blocks new Runs until endCleanup.
func (c *Client) beginCleanup() bool {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	if c.runs != 1 || c.cleaning != nil {
		return false
	}
	c.cleaning = make(chan struct{})
	return true
}

func (c *Client) endCleanup() {
	c.runMu.Lock()
	close(c.cleaning)
	c.cleaning = nil
	c.runMu.Unlock()
}

// signalAnswer is what sshd answered to a signal request.
type signalAnswer int

const (
	signalUnknown   signalAnswer = iota // no answer in time
	signalDelivered                     // SSH_MSG_CHANNEL_SUCCESS
	signalRefused                       // SSH_MSG_CHANNEL_FAILURE
	signalGone                          // the channel is closing: the command ended
)

// signal sends sig to the session's command as a request with want-reply
// set (RFC 4254 makes it false, but OpenSSH answers either way when asked:
// failure for root logins and forced commands), and waits a bounded time
// for the answer.
func signal(sess *gossh.Session, sig gossh.Signal) signalAnswer {
	ch := make(chan signalAnswer, 1)
	go func() {
		ok, err := sess.SendRequest("signal", true, gossh.Marshal(&struct{ Signal string }{string(sig)}))
		switch {
		case err != nil:
			ch <- signalGone
		case ok:
			ch <- signalDelivered
		default:
			ch <- signalRefused
		}
	}()
	t := time.NewTimer(replyWait)
	defer t.Stop()
	select {
	case a := <-ch:
		return a
	case <-t.C:
		return signalUnknown
	}
}

// cleanup runs cleanupLine(sudo) in a new session, within cleanupTimeout.
// Best-effort: every error is ignored. The caller holds beginCleanup.
func (c *Client) cleanup(sudo bool) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	s, err := c.openSessionCtx(ctx, nil)
	if err != nil {
		return
	}
	defer s.Close()
	if err := s.Start(cleanupLine(sudo)); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		_ = s.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.Close() // Wait then returns once the server confirms, or the connection dies
	}
}
