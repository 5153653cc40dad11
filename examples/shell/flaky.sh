#!/bin/sh
# A program speaking the --tasks protocol that fails the first time it runs a range and succeeds
# the next time, as a task hit by a flaky node would: what `arrayjob submit --retries` is for.
# It remembers the ranges it ran in ./flaky-state/.
mkdir -p flaky-state
mark="flaky-state/${1#--tasks=}"
if [ ! -e "$mark" ]; then
  : >"$mark"
  exit 1
fi
