#!/usr/bin/env bash
# The README's "When tasks fail" walkthrough, on the fake scheduler: 10,000 tasks, of which the 37
# whose index is a multiple of 271 take 3 seconds and so outlive a 1-second runtime limit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export PATH="$repo/fake_scheduler/bin:$PATH"
arrayjob() { deno run --allow-all --quiet "$repo/cli.ts" "$@"; }
show() { printf '\n$ %s\n' "$*"; }

cat >simulate.sh <<'PROGRAM'
#!/bin/sh
# One "simulation" per task; every 271st takes longer than the others.
task=${1#--tasks=}
task=${task%%[:,]*}
if [ $((task % 271)) -eq 0 ]; then sleep 3; fi
PROGRAM

show arrayjob script --num-tasks 10000 --time 1 --output-dir sim -- sh simulate.sh
arrayjob script --num-tasks 10000 --time 1 --output-dir sim -- sh simulate.sh
show qsub -sync y sim/run.sh '| tail -n 3'
qsub -sync y sim/run.sh 2>&1 | tail -n 3 || true
show arrayjob status sim
arrayjob status sim || true
show arrayjob resubmit sim --time 10
arrayjob resubmit sim --time 10
show qsub -sync y sim/resubmit-1.sh '| tail -n 3'
qsub -sync y sim/resubmit-1.sh 2>&1 | tail -n 3
show arrayjob status sim
arrayjob status sim
