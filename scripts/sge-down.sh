#!/usr/bin/env bash
# Stop the Grid Engine daemons that scripts/sge-up.sh started (and only those: it reads the pid
# files in $ARRAYJOB_SGE_STATE). Idempotent: running it twice, or without sge-up.sh, is fine.
# The packages and the cell configuration stay, so the next sge-up.sh is fast.
# The qmaster takes about 10 s to shut down.
set -euo pipefail

NAME=sge-down WHY="it stops daemons started by sge-up.sh"
STATE=${ARRAYJOB_SGE_STATE:-/run/arrayjob-sge}
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

# shellcheck disable=SC2046 # the execd's pid file sits in a directory named after the host
stop sge_execd sge_execd 30 $(compgen -G '/var/spool/gridengine/execd/*/execd.pid' || true)
stop sge_qmaster sge_qmaster 30 /var/spool/gridengine/qmaster/qmaster.pid
rmdir "$STATE" 2>/dev/null || true
log "done"
