// Package sim emulates what a BigBlueButton 3.0 server answers, for
// `bbbfleet demo` and for tests.
//
// One emulation ([Host]) is used over several transports:
//
//   - [Host.Exec] interprets a command line as a POSIX shell would
//     (mvdan.cc/sh) and emulates the commands bbbfleet runs on a server:
//     sudo -n, bbb-conf, systemctl, cat of a few files, ls/find of the
//     recording status directories, df, free, nproc, uptime, date, hostname,
//     poweroff, and on a Scalelite host `docker exec CONTAINER bin/rake
//     servers|servers:cordon[ID]|...` (ops.go); for installs, a machine
//     without BBB and its facts (uname, getent, ss, dpkg-query,
//     /etc/os-release), wget/curl serving bbb-install.sh, the installer
//     stand-in, systemd-run/setsid running a command detached, systemctl
//     show and tail -F of its log (install.go).
//   - [Host.ServeSSH] is an in-process SSH server (golang.org/x/crypto/ssh)
//     that runs exec requests through [Host.Exec].
//   - The bbbsim command (internal/sim/bbbsim) is a ForceCommand for real
//     OpenSSH test servers; it runs [Host.Exec] on a file-backed state.
//   - [Host.APIHandler] and [Host.ServeAPI] answer the BBB HTTP API from the
//     same state, with checksums validated the way bbb-web does.
//
// Time-driven changes (a meeting ending by itself or after `end`, units
// activating after `bbb-conf --start` or a boot, recording work being
// processed, a machine booting) are applied lazily on every load of the
// state, so they work alike across processes sharing a file-backed state.
// The machine's power ([PowerState]) makes SSH and the API refuse
// connections while it is off or booting.
//
// The state of a host ([State]) lives in a [Store]: in memory ([MemStore]) or
// in DIR/state.json ([FileStore], flock-locked so several processes share it).
//
// In demo mode (Options.FallbackToRealExec false) no emulated command changes
// a real file or starts a real process: unknown commands answer
// "sh: 1: NAME: not found" with status 127, and output redirections to files
// other than /dev/null are discarded.
//
// The output formats follow /work/shared/reference/bbb.md and the sources it
// names (bigbluebutton-config/bin/bbb-conf, bbb-web's FreeMarker templates).
package sim
