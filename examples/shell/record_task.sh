#!/bin/sh
# Report each task to arrayjob from a shell program: one line per task in $ARRAYJOB_RECORD.
# Usage: sh record_task.sh --tasks=START:STOP   (arrayjob passes START:STOP, STOP excluded)
range=${1#--tasks=}; start=${range%%:*}; stop=${range#*:}
i=$start
[ -z "${ARRAYJOB_RECORD:-}" ] || printf 'reports\tshell\n' >>"$ARRAYJOB_RECORD"
while [ "$i" -lt "$stop" ]; do
  echo "task $i" && status=0 || status=$?     # the task itself; replace `echo` with the real work
  [ -z "${ARRAYJOB_RECORD:-}" ] || printf 'task\t%s\t%s\t0\n' "$i" "$status" >>"$ARRAYJOB_RECORD"
  i=$((i + 1))
done
