#!/usr/bin/env bash
# Compare `bbbfleet exec all -- true` with parallel-ssh and an Ansible ad-hoc
# command on the same N real sshd hosts (127.0.0.2 ...; started by
# bench/fleetup with the tests' harness; real shells, no ForceCommand).
#
#   bench/exec-compare.sh [-n HOSTS] [-r RUNS] [-u USER]
#
# Every tool runs once to warm up, then RUNS times; the median wall time of
# each is printed, with its ratio to bbbfleet's, and the logins per host per
# run counted in sshd's logs. All three open fresh connections every run
# (Ansible's ControlPersist is switched off) and check host keys strictly
# against the same known_hosts. Runs as root (starts sshd). Installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

N=20 RUNS=5 USER_=bbbfleet-test
while getopts "n:r:u:" o; do
  case $o in
    n) N=$OPTARG ;; r) RUNS=$OPTARG ;; u) USER_=$OPTARG ;;
    *) echo "usage: $0 [-n HOSTS] [-r RUNS] [-u USER]" >&2; exit 2 ;;
  esac
done

missing=() pkgs=()
command -v go >/dev/null || missing+=(go)
[ -x /usr/sbin/sshd ] || { missing+=(sshd); pkgs+=(openssh-server); }
command -v ssh >/dev/null || { missing+=(ssh); pkgs+=(openssh-client); }
command -v parallel-ssh >/dev/null || { missing+=(parallel-ssh); pkgs+=(pssh); }
command -v ansible >/dev/null || { missing+=(ansible); pkgs+=(ansible-core); }
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]}" >&2
  [ ${#pkgs[@]} -gt 0 ] && echo "install with: apt-get install -y ${pkgs[*]}" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "run as root: it starts sshd on 127.0.0.x and may create user $USER_" >&2
  exit 1
fi

tmp=$(mktemp -d /tmp/exec-compare.XXXXXX)
fleetpid=
cleanup() {
  exec 3>&- 2>/dev/null || true
  if [ -n "$fleetpid" ]; then wait "$fleetpid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/bbbfleet" .
go build -o "$tmp/fleetup" ./bench/fleetup
mkfifo "$tmp/ctl"
: >"$tmp/ansible.cfg" # no ansible.cfg of the current directory
"$tmp/fleetup" -n "$N" -dir "$tmp/f" -user "$USER_" <"$tmp/ctl" >"$tmp/fleetup.out" 2>&1 &
fleetpid=$!
exec 3>"$tmp/ctl" # fleetup runs until this closes
for _ in $(seq 1 300); do
  grep -q '^ready$' "$tmp/fleetup.out" 2>/dev/null && break
  kill -0 "$fleetpid" 2>/dev/null || { cat "$tmp/fleetup.out" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready$' "$tmp/fleetup.out" || { echo "fleetup: hosts not up after 30s" >&2; cat "$tmp/fleetup.out" >&2; exit 1; }
F=$tmp/f

logins() { local n=0 l; while read -r l; do n=$((n + $(grep -c "Accepted publickey" "$l" || true))); done <"$F/logs"; echo "$n"; }

run_bbbfleet() {
  BBBFLEET_SSH_CONFIG=none SSH_AUTH_SOCK= "$tmp/bbbfleet" -c "$F/fleet.yaml" -j "$N" exec all -- true >"$tmp/out" 2>&1 &&
    [ "$(grep -c '^── h[0-9]* (ok' "$tmp/out")" = "$N" ]
}
run_pssh() {
  SSH_AUTH_SOCK= parallel-ssh -h "$F/pssh_hosts" -p "$N" -t 60 \
    -O StrictHostKeyChecking=yes -O UserKnownHostsFile="$F/known_hosts" -O GlobalKnownHostsFile=/dev/null \
    -O BatchMode=yes -O IdentitiesOnly=yes -x "-F /dev/null -i $F/id_ed25519" true >"$tmp/out" 2>&1 &&
    [ "$(grep -c 'SUCCESS' "$tmp/out")" = "$N" ]
}
run_ansible() {
  SSH_AUTH_SOCK= ANSIBLE_CONFIG="$tmp/ansible.cfg" ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_SSH_ARGS="-o ControlMaster=no" \
    ANSIBLE_LOCAL_TEMP="$tmp/ansible-tmp" ANSIBLE_NOCOLOR=1 \
    ansible all -i "$F/inventory.ini" -m raw -a true -f "$N" --private-key "$F/id_ed25519" \
    --ssh-common-args "-F /dev/null -o UserKnownHostsFile=$F/known_hosts -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes" \
    >"$tmp/out" 2>&1 &&
    [ "$(grep -c 'CHANGED | rc=0' "$tmp/out")" = "$N" ]
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

declare -A med conns
for tool in bbbfleet pssh ansible; do
  if ! "run_$tool"; then
    echo "$tool failed on the warm-up run:" >&2; cat "$tmp/out" >&2; exit 1
  fi
  before=$(logins)
  : >"$tmp/times"
  for _ in $(seq 1 "$RUNS"); do
    t0=$(date +%s%N)
    "run_$tool" || { echo "$tool failed:" >&2; cat "$tmp/out" >&2; exit 1; }
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000)) >>"$tmp/times"
  done
  med[$tool]=$(median <"$tmp/times")
  conns[$tool]=$(awk -v a="$before" -v b="$(logins)" -v n="$N" -v r="$RUNS" 'BEGIN {printf "%.2f", (b-a)/(n*r)}')
  echo "$tool: runs (ms): $(tr '\n' ' ' <"$tmp/times")" >&2
done

printf '\n%d hosts, %d runs each, median wall time of `true` on all hosts (user %s)\n' "$N" "$RUNS" "$USER_"
printf '%-10s %10s %14s %16s\n' tool "median ms" "vs bbbfleet" "logins/host/run"
for tool in bbbfleet pssh ansible; do
  printf '%-10s %10s %13sx %16s\n' "$tool" "${med[$tool]}" \
    "$(awk -v a="${med[$tool]}" -v b="${med[bbbfleet]}" 'BEGIN {printf "%.2f", a/b}')" "${conns[$tool]}"
done
