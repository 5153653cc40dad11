#!/bin/sh
# A program speaking the --tasks protocol (--tasks=START:STOP): one "simulation" per task, where
# every 2000th task takes 1.5 seconds and the others no time at all. The README's "When tasks
# fail" session runs it under a 1-second limit.
range=${1#--tasks=}
task=${range%:*}
while [ "$task" -lt "${range#*:}" ]; do
  if [ $((task % 2000)) -eq 0 ]; then sleep 1.5; fi
  task=$((task + 1))
done
