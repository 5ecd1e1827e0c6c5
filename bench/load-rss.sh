#!/bin/sh
# Measures `bbbfleet load` as a built binary over N API stand-ins that each
# answer after SLOW: wall time of N servers against one, and peak RSS
# ("Maximum resident set size" of /usr/bin/time -v), median of REPS runs.
#
#   bench/load-rss.sh                      # 50 stand-ins, 100ms, no meetings
#   MEETINGS=8 USERS=60 bench/load-rss.sh  # with generated meetings
#   J=16 bench/load-rss.sh                 # with -j 16
set -eu
N=${N:-50}
SLOW=${SLOW:-100ms}
MEETINGS=${MEETINGS:-0}
USERS=${USERS:-0}
REPS=${REPS:-7}
J=${J:-}
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/bbbfleet-load-rss.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
go build -o "$dir/bbbfleet" .
go build -o "$dir/simapi" ./bench/simapi
"$dir/simapi" -n "$N" -slow "$SLOW" -meetings "$MEETINGS" -users "$USERS" -dir "$dir/fleet" -for 10m >"$dir/simapi.log" 2>&1 &
pid=$!
i=0
while [ ! -f "$dir/fleet/ready" ]; do
	i=$((i + 1))
	if [ "$i" -gt 200 ]; then echo "simapi did not start:" >&2; cat "$dir/simapi.log" >&2; exit 1; fi
	sleep 0.05
done
cfg="$dir/fleet/fleet.yaml"
jflag=
[ -n "$J" ] && jflag="-j $J"

# measure TARGET...: prints "wall_seconds max_rss_kb" per run
measure() {
	r=0
	while [ "$r" -lt "$REPS" ]; do
		r=$((r + 1))
		# shellcheck disable=SC2086
		if ! /usr/bin/time -v -o "$dir/time" "$dir/bbbfleet" -c "$cfg" $jflag load -o json "$@" >"$dir/out.json" 2>"$dir/err"; then
			echo "bbbfleet load failed:" >&2; cat "$dir/err" >&2; exit 1
		fi
		awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = p[n] + (n > 1 ? p[n-1] * 60 : 0); w = s }
			/Maximum resident set size/ { m = $2 } END { print w, m }' "$dir/time"
	done
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

measure bbb1 >"$dir/one"
measure >"$dir/all"
w1=$(cut -d' ' -f1 "$dir/one" | median)
wn=$(cut -d' ' -f1 "$dir/all" | median)
r1=$(cut -d' ' -f2 "$dir/one" | median)
rn=$(cut -d' ' -f2 "$dir/all" | median)
rmax=$(cut -d' ' -f2 "$dir/all" | sort -n | tail -1)
echo "bbbfleet load over $N stand-ins answering after $SLOW (meetings=$MEETINGS users=$USERS per server${J:+, -j $J}), median of $REPS runs:"
echo "  1 server:    wall ${w1}s  max RSS ${r1} KB"
echo "  $N servers:  wall ${wn}s  max RSS ${rn} KB (highest ${rmax} KB)"
awk -v a="$wn" -v b="$w1" 'BEGIN { printf "  ratio:       %.2f (goal <= 1.5)\n", a / b }'
