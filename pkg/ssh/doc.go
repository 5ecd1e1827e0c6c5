// Package ssh is one SSH connection to one server: dialing through goph,
// host-key policy, authentication, jump hosts, deadlines, sudo and shell
// quoting of remote commands.
//
// It must not know about BigBlueButton or the fleet config, must not print,
// and must never build a remote command by concatenating unquoted values.
package ssh
