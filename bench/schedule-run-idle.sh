#!/bin/sh
# Measures `bbbfleet schedule run` while idle: CPU time (utime+stime from
# /proc/PID/stat) over SECS seconds after its first apply, extrapolated to
# an hour, and its RSS (VmRSS and VmHWM from /proc/PID/status). The daemon
# runs the built binary over N API stand-ins (bench/simapi) with a rule
# that wants every server up: each apply finds nothing to do.
#
# Two runs: the default --reapply 5m (pure idle: the timer loop waits) and
# --reapply 5s (12 applies a minute) to measure one apply's CPU, so the
# hour's estimate with the default counts its 12 re-applies as well.
#
#   bench/schedule-run-idle.sh            # 50 stand-ins, 60 s per run
#   N=6 SECS=30 bench/schedule-run-idle.sh
set -eu
N=${N:-50}
SECS=${SECS:-60}
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/bbbfleet-run-idle.XXXXXX)
api=
dpid=
cleanup() {
	for p in $dpid $api; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
go build -o "$dir/bbbfleet" .
go build -o "$dir/simapi" ./bench/simapi
"$dir/simapi" -n "$N" -slow 0s -dir "$dir/fleet" -for 30m >"$dir/simapi.log" 2>&1 &
api=$!
i=0
while [ ! -f "$dir/fleet/ready" ]; do
	i=$((i + 1))
	if [ "$i" -gt 200 ]; then echo "simapi did not start:" >&2; cat "$dir/simapi.log" >&2; exit 1; fi
	sleep 0.05
done
cfg="$dir/fleet/fleet.yaml"
cat >>"$cfg" <<YAML
state_dir: "$dir/state"
schedules:
  - {name: day, cron: "0 6 * * *", action: start, targets: [all]}
YAML
tck=$(getconf CLK_TCK)

# run REAPPLY: prints "cpu_seconds applies vmrss_kb vmhwm_kb"
run() {
	"$dir/bbbfleet" -c "$cfg" schedule run --reapply "$1" >"$dir/run.log" 2>&1 &
	dpid=$!
	i=0
	while ! grep -q " apply: " "$dir/run.log"; do
		i=$((i + 1))
		if [ "$i" -gt 400 ]; then echo "schedule run did not apply:" >&2; cat "$dir/run.log" >&2; exit 1; fi
		sleep 0.05
	done
	if ! grep -q "nothing to do" "$dir/run.log"; then echo "the first apply changed something:" >&2; cat "$dir/run.log" >&2; exit 1; fi
	sleep 1
	t0=$(awk '{ print $14 + $15 }' "/proc/$dpid/stat")
	a0=$(grep -c " apply: " "$dir/run.log")
	sleep "$SECS"
	t1=$(awk '{ print $14 + $15 }' "/proc/$dpid/stat")
	a1=$(grep -c " apply: " "$dir/run.log")
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$dpid/status")
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$dpid/status")
	kill -TERM "$dpid"
	st=0
	wait "$dpid" || st=$?
	dpid=
	if [ "$st" -ne 0 ]; then echo "schedule run exited $st after SIGTERM" >&2; cat "$dir/run.log" >&2; exit 1; fi
	echo "$(( t1 - t0 )) $tck $(( a1 - a0 )) $rss $hwm" | awk '{ printf "%.3f %d %d %d\n", $1 / $2, $3, $4, $5 }'
}

set -- $(run 5m)
idle_cpu=$1 idle_rss=$3 idle_hwm=$4
set -- $(run 5s)
busy_cpu=$1 busy_n=$2 busy_rss=$3 busy_hwm=$4
awk -v n="$N" -v s="$SECS" -v ic="$idle_cpu" -v ir="$idle_rss" -v ih="$idle_hwm" \
	-v bc="$busy_cpu" -v bn="$busy_n" -v br="$busy_rss" -v bh="$busy_hwm" 'BEGIN {
	per = (bn > 0) ? (bc - ic) / bn : 0
	if (per < 0) per = 0
	printf "bbbfleet schedule run over %d API stand-ins, every server in its desired state, %d s per run:\n", n, s
	printf "  idle (--reapply 5m, no apply in the window): %.3f s CPU in %d s = %.2f s CPU per hour; RSS %.1f MB (peak %.1f MB)\n", ic, s, ic * 3600 / s, ir / 1024, ih / 1024
	printf "  --reapply 5s: %d applies, %.3f s CPU = %.1f ms CPU per apply; RSS %.1f MB (peak %.1f MB)\n", bn, bc, per * 1000, br / 1024, bh / 1024
	printf "  estimate with the default --reapply 5m: %.2f s CPU per hour (idle + 12 applies)\n", ic * 3600 / s + 12 * per
}'
