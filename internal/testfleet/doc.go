// Package testfleet starts a fleet of real OpenSSH sshd hosts on 127.0.0.x
// that answer as BBB 3.0 servers (the bbbsim stand-in as ForceCommand, with
// per-host state) plus an API stand-in per host sharing that state, and
// writes a fleet config, secrets and known_hosts for bbbfleet to use.
//
// It is for tests only: it must not be imported by the product's code, and
// it never targets anything but loopback addresses.
package testfleet
