#!/usr/bin/env bash
# completion-startup.sh [BINARY...]: how long one TAB takes. Times
# `BINARY __complete servers ''` (what the shell runs on every TAB) on a
# 20-server config, next to a Go hello-world as the floor of any Go
# program. With no BINARY it builds bbbfleet from this checkout. Uses
# hyperfine when installed (apt install hyperfine), else a bounded loop.
# Also prints the package initialisation time (GODEBUG=inittrace=1).
#
#   bench/completion-startup.sh
#   bench/completion-startup.sh /tmp/bbbfleet-old bin/bbbfleet
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-200}

bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  go build -o "$work/bbbfleet" .
  bins=("$work/bbbfleet")
fi
for i in "${!bins[@]}"; do
  case ${bins[$i]} in /*) ;; *) bins[$i]=$root/${bins[$i]} ;; esac
done

mkdir -p "$work/hello"
cat >"$work/hello/main.go" <<'EOF'
package main

import "fmt"

func main() { fmt.Println("hello") }
EOF
(cd "$work/hello" && GO111MODULE=off GOFLAGS= go build -o "$work/hello-world" main.go)

{
  echo "servers:"
  for i in $(seq 1 20); do
    echo "  - {name: bbb$i, host: bbb$i.example.org, tags: [pool$((i % 3))]}"
  done
} >"$work/bbbfleet.yaml"
cd "$work"

for b in "${bins[@]}"; do
  if ! "$b" __complete servers '' | grep -q '^bbb1'; then
    echo "$b does not complete server names" >&2
    exit 1
  fi
done

if command -v hyperfine >/dev/null 2>&1; then
  cmds=("$work/hello-world")
  for b in "${bins[@]}"; do cmds+=("$b __complete servers ''"); done
  hyperfine -N --warmup 20 --runs "$runs" "${cmds[@]}"
else
  echo "hyperfine not installed: a loop of $runs runs each (mean wall time)"
  for c in "$work/hello-world" "${bins[@]}"; do
    args=()
    [ "$c" != "$work/hello-world" ] && args=(__complete servers '')
    start=$(date +%s%N)
    for _ in $(seq 1 "$runs"); do "$c" "${args[@]}" >/dev/null; done
    end=$(date +%s%N)
    awk -v ns=$((end - start)) -v n="$runs" -v c="$c" 'BEGIN { printf "%-50s %.2f ms\n", c, ns / n / 1e6 }'
  done
fi

for b in "${bins[@]}"; do
  for _ in $(seq 1 30); do
    GODEBUG=inittrace=1 "$b" __complete servers '' 2>&1 >/dev/null | awk '/^init / { s += $5 } END { print s }'
  done | awk -v b="$b" '{ s += $1 } END { printf "%s: package init %.2f ms (mean of %d runs)\n", b, s / NR, NR }'
done
