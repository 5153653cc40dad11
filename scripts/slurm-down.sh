#!/usr/bin/env bash
# Stop the Slurm daemons that scripts/slurm-up.sh started (and only those: it reads the pid
# files in $ARRAYJOB_SLURM_STATE). Idempotent: running it twice, or without slurm-up.sh, is fine.
# The packages and /etc/slurm/slurm.conf stay installed, so the next slurm-up.sh is fast.
set -euo pipefail

NAME=slurm-down WHY="it stops daemons started by slurm-up.sh"
STATE=${ARRAYJOB_SLURM_STATE:-/run/arrayjob-slurm}
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

stop slurmd slurmd 15 /run/slurmd.pid
stop slurmctld slurmctld 15 /run/slurmctld.pid
stop munged munged 15 /run/munge/munged.pid
rmdir "$STATE" 2>/dev/null || true
log "done"
