#!/bin/sh
# Wall time of dial + `true` on 20 real sshd hosts (127.0.0.2-21, started by
# internal/sshtest): pkg/ssh on 1 vs 20 hosts, and pkg/ssh vs OpenSSH ssh,
# parallel-ssh and ansible -m raw (each skipped when not installed).
# Needs /usr/sbin/sshd; run as root to use the test user (no shell rc files).
set -eu
cd "$(dirname "$0")/.."
exec go test -run '^$' -bench 'RunTrue20Hosts|CompareTools20Hosts' -benchtime "${BENCHTIME:-5x}" ./pkg/ssh
