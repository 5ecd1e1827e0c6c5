#!/bin/sh
# Times `bbbfleet schedule plan --offline` as a built binary over a whole
# year of firings for 50 servers and 6 rules (the goal is < 50 ms): median
# wall time of REPS runs, for -o json and for the tsv table, plus a `version`
# run for the process start-up alone.
#
#   bench/schedule-plan.sh
#   REPS=21 bench/schedule-plan.sh
set -eu
REPS=${REPS:-11}
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/bbbfleet-schedule-plan.XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
go build -o "$dir/bbbfleet" .
{
	echo "timezone: Europe/Berlin"
	echo "holidays: [2026-10-12/2026-10-23, 2026-12-23/2027-01-09, 2027-02-01/2027-02-02, 2027-03-22/2027-04-03, 2027-05-14, 2027-07-08/2027-08-18]"
	echo "servers:"
	i=1
	while [ $i -le 50 ]; do
		tag=pool
		[ $i -le 5 ] && tag=core
		[ $i -gt 5 ] && [ $i -le 15 ] && tag="pool, evening"
		printf '  - {name: bbb%02d, host: bbb%02d.schulen.example.org, tags: [%s]}\n' $i $i "$tag"
		i=$((i + 1))
	done
	cat <<'YAML'
schedules:
  - {name: warm-up, cron: "30 6 * * 1-5", action: start, targets: ["@pool"]}
  - {name: shutdown, cron: "0 22 * * *", action: stop, targets: ["@pool"], drain: 45m}
  - {name: weekly-restart, cron: "0 3 * * 0", action: restart, targets: ["@core"]}
  - {name: evening, cron: "0 17 * * 1-4", action: start, targets: ["@evening"]}
  - {name: late, cron: "30 23 * * 1-5", action: stop, targets: ["@evening"]}
  - {name: ny-office, cron: "CRON_TZ=America/New_York 0 8 * * 1-5", action: start, targets: ["@core"]}
YAML
} >"$dir/fleet.yaml"

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # label, args...
	label=$1
	shift
	r=0
	while [ $r -lt "$REPS" ]; do
		s=$(date +%s%N)
		"$dir/bbbfleet" -c "$dir/fleet.yaml" "$@" >"$dir/out" 2>/dev/null
		e=$(date +%s%N)
		echo $(((e - s) / 1000))
		r=$((r + 1))
	done | median | awk -v l="$label" '{printf "%-34s %7.1f ms\n", l, $1/1000}'
}
"$dir/bbbfleet" -c "$dir/fleet.yaml" schedule plan --offline --from "2026-09-01 00:00" --to "2027-09-01 00:00" -o json >"$dir/plan.json"
firings=$(sed -n '/"firings"/,/"servers"/p' "$dir/plan.json" | grep -c '"rule":' || true)
echo "50 servers, 6 rules, $firings firings in the year (median of $REPS runs):"
run "version (start-up only)" version
run "schedule plan --offline -o json" schedule plan --offline --from "2026-09-01 00:00" --to "2027-09-01 00:00" -o json
run "schedule plan --offline (tsv)" schedule plan --offline --from "2026-09-01 00:00" --to "2027-09-01 00:00"
run "schedule list" schedule list
