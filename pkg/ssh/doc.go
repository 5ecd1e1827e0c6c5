// Package ssh is one SSH connection to one server: dialing through goph,
// host-key policy, authentication, jump hosts, deadlines, sudo and shell
// quoting of remote commands.
//
// It must not know about BigBlueButton or the fleet config, must not print,
// and must never build a remote command by concatenating unquoted values.
//
// # Dialing
//
// Dial resolves Config against ~/.ssh/config (see Config for the
// precedence: explicit Config values, then ssh_config, then defaults),
// opens the TCP connection itself (net.Dialer with ctx), puts a deadline on
// the handshake so a server that accepts TCP but never sends a banner fails
// within Config.Timeout, and wraps the resulting *ssh.Client in a
// goph.Client. Jump hosts (ProxyJump) are dialled in order; each one's host
// key is checked against the same known_hosts, and the next hop is a
// direct-tcpip channel through it, under the same deadline. Each Client
// dialled with Dial has its own jump connections; a JumpPool shares one
// authenticated connection per jump host among the Clients dialled through
// it (JumpPool.Dial), so many servers behind one bastion make one login
// there, not one handshake each against its MaxStartups.
//
// # Host keys
//
// known_hosts (plain and hashed entries) is read with
// golang.org/x/crypto/ssh/knownhosts: the user's files (Config's, or
// UserKnownHostsFile, or ~/.ssh/known_hosts and ~/.ssh/known_hosts2) and,
// read only, the system-wide ones (GlobalKnownHostsFile, or
// /etc/ssh/ssh_known_hosts and /etc/ssh/ssh_known_hosts2); a key recorded
// in any of them counts. As in ssh(1), a host is looked up under its
// lower-cased name without a trailing dot (or under HostKeyAlias), plain
// patterns match in any case, and a line that does not parse is skipped
// (an unknown host's error names such lines). The host-key algorithms offered are
// those of the keys known_hosts holds for the host first, so a host known by
// its ed25519 key is not refused because the server prefers ecdsa
// (golang/go#49631). An unknown host is refused under the "strict" policy
// with its fingerprint and the ssh-keyscan command that trusts it, or
// appended to the first user file under "accept-new" (flock-ed, re-checked under
// the lock, so parallel dials neither corrupt the file nor record twice). A
// changed key is always refused with the file:line of the recorded key.
//
// # Authentication
//
// As ssh(1) orders them, so that the key the server accepts comes before
// sshd's MaxAuthTries runs out: the identity files' keys first, each
// signed by ssh-agent when the agent holds it (a passphrase-protected
// file then works, found by its public key), else by the file; then the
// agent's other keys (SSH_AUTH_SOCK, unless Config.NoAgent), none with
// ssh_config's IdentitiesOnly yes. The agent is asked under the dial's
// ctx and deadline. Nothing ever prompts: a passphrase-protected key file
// the agent does not hold is reported as such. When the server accepts
// none, the error lists every source tried.
//
// # Commands
//
// One Client is one TCP connection, reused by every Run; each Run opens
// one session and always closes it, and at most 8 run at once per Client
// (OpenSSH's MaxSessions is 10). Argv is quoted with Quote; Script is a
// trusted script built by the tool. With Command.Sudo and a non-root user
// the command runs as "sudo -n -- ARGV"; sudo asking for a password yields
// an error matching ErrSudoPassword. A non-zero exit yields *ExitError
// along with the Result.
//
// # Cancelling
//
// Cancelling ctx stops the remote command and Run returns promptly, with
// the output so far (see Run). The session gets SIGTERM, then SIGKILL.
// OpenSSH (up to at least 9.2) refuses session signals for root logins and
// for ForceCommand sessions, and says so when asked for a reply; and
// through sudo a signal reaches only the command itself, not its children.
// Then, if the cancelled Run was the only one active on the Client, Run
// opens one more session on the same connection, for at most 2 s, that
// runs a constant sh script (through sudo for a sudo command, first): it
// ends every process of every other session of this connection (each
// session's first process is a child of the per-connection sshd process
// and leads its own session), by session id and by descent, and does
// nothing unless its own session is one of sshd's. New Runs wait for it.
// With other Runs active it is skipped, as it would kill their commands
// too; best-effort, its errors are ignored.
//
// CommandLine is the one builder of remote command lines, sudo included:
// what Run sends is what --verbose and --dry-run show.
package ssh
