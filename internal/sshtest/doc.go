// Package sshtest starts real OpenSSH sshd processes on loopback addresses
// (127.0.0.2, 127.0.0.3, ...) for integration tests and benchmarks.
//
// Each host has its own directory, its own host key(s), a free port, a log
// file at LogLevel VERBOSE (so tests can count "Accepted publickey" lines)
// and an optional ForceCommand. All hosts accept one generated ed25519
// client key, for root (when the tests run as root) and for a non-root
// user. Every sshd is stopped on t.Cleanup.
//
// Tests call Require (Start does too): without /usr/sbin/sshd they skip,
// unless BBBFLEET_REQUIRE_SSHD=1, when they fail.
//
// It is for tests and benchmarks only: the product must not import it, and
// it listens on loopback addresses only.
package sshtest
