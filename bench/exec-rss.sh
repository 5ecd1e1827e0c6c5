#!/usr/bin/env bash
# Peak memory of `bbbfleet exec -o json` when every server prints a lot:
# 2 servers printing 20 MB each and 20 servers printing 40 MB each (NUL
# bytes: the worst case for JSON, where one byte becomes \u0000), on real
# sshd hosts on 127.0.0.x (bench/fleetup: the tests' harness, real shells).
# Prints, per case, the peak RSS ("Maximum resident set size" of
# /usr/bin/time -v), the wall time and the size of the JSON document.
#
#   bench/exec-rss.sh                 # the current checkout
#   BASE=a872c63 bench/exec-rss.sh    # and, for comparison, revision BASE
#
# BASE's binary runs under an address-space limit of LIMIT_KB (default
# 6 GB), so that an unbounded build cannot take the machine's memory; a run
# stopped by it is reported as such. Runs as root (starts sshd).
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${BASE:-}
LIMIT_KB=${LIMIT_KB:-6000000}
if [ "$(id -u)" != 0 ]; then
  echo "run as root: it starts sshd on 127.0.0.x" >&2
  exit 1
fi
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/exec-rss.XXXXXX)
fleetpid=
cleanup() {
  exec 3>&- 2>/dev/null || true
  if [ -n "$fleetpid" ]; then wait "$fleetpid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/bbbfleet" .
go build -o "$tmp/fleetup" ./bench/fleetup
if [ -n "$BASE" ]; then
  mkdir "$tmp/base"
  git archive "$BASE" | tar -x -C "$tmp/base"
  (cd "$tmp/base" && go build -o "$tmp/bbbfleet-base" .)
fi

mkfifo "$tmp/ctl"
"$tmp/fleetup" -n 20 -dir "$tmp/f" -user root <"$tmp/ctl" >"$tmp/fleetup.out" 2>&1 &
fleetpid=$!
exec 3>"$tmp/ctl" # fleetup runs until this closes
for _ in $(seq 1 300); do
  grep -q '^ready$' "$tmp/fleetup.out" 2>/dev/null && break
  kill -0 "$fleetpid" 2>/dev/null || { cat "$tmp/fleetup.out" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready$' "$tmp/fleetup.out" || { echo "fleetup: hosts not up after 30s" >&2; exit 1; }
cfg=$tmp/f/fleet.yaml

# measure BINARY LIMIT TARGETS MB: one run, prints a result line
measure() {
  local bin=$1 limit=$2 targets=$3 mb=$4 rc=0
  (
    [ "$limit" = - ] || ulimit -v "$limit"
    BBBFLEET_SSH_CONFIG=none SSH_AUTH_SOCK= /usr/bin/time -v -o "$tmp/time" \
      "$bin" -c "$cfg" -j 20 --timeout 5m -o json exec "$targets" -- \
      head -c "${mb}000000" /dev/zero >"$tmp/out.json" 2>"$tmp/err"
  ) || rc=$?
  awk -F': ' -v rc="$rc" -v size="$(stat -c %s "$tmp/out.json")" '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = p[n] + (n > 1 ? p[n-1] * 60 : 0) }
    /Maximum resident set size/ { m = $2 }
    END { printf "max RSS %7.1f MB  wall %6.2fs  JSON %8.1f MB  exit %s\n", m / 1024, w, size / 1e6, rc }' "$tmp/time"
  if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then sed 's/^/    /' "$tmp/err" | tail -3; fi
}

for case in "h1,h2 20" "all 40"; do
  set -- $case
  n=2
  [ "$1" = all ] && n=20
  echo "$n servers x $2 MB of NUL bytes, exec -o json:"
  printf '  this checkout: '
  measure "$tmp/bbbfleet" - "$1" "$2"
  if [ -n "$BASE" ]; then
    printf '  %-13s  ' "$BASE:"
    measure "$tmp/bbbfleet-base" "$LIMIT_KB" "$1" "$2"
  fi
done
