package ssh

import "testing"

// SetSystemKnownHostsFiles replaces the default system-wide known_hosts
// files (/etc/ssh/ssh_known_hosts, /etc/ssh/ssh_known_hosts2) until t ends.
func SetSystemKnownHostsFiles(t testing.TB, files ...string) {
	old := systemKnownHostsFiles
	systemKnownHostsFiles = files
	t.Cleanup(func() { systemKnownHostsFiles = old })
}
