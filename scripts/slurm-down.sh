#!/usr/bin/env bash
# Stop the Slurm daemons that scripts/slurm-up.sh started (and only those: it reads the pid
# files in $ARRAYJOB_SLURM_STATE). Idempotent: running it twice, or without slurm-up.sh, is fine.
# The packages and /etc/slurm/slurm.conf stay installed, so the next slurm-up.sh is fast.
set -euo pipefail

STATE=${ARRAYJOB_SLURM_STATE:-/run/arrayjob-slurm}

if [[ $(id -u) -ne 0 ]]; then
  echo "slurm-down.sh: must be run as root (it stops daemons started by slurm-up.sh)" >&2
  exit 1
fi

log() { echo "slurm-down: $*" >&2; }
alive() {
  local pid=$1 st
  [[ -n $pid && -r /proc/$pid/stat ]] || return 1
  st=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $st != Z && $st != X ]]
}

stop() { # name expected-comm pidfile-the-daemon-itself-writes
  local name=$1 comm=$2 own_pidfile=${3:-} f=$STATE/$1.pid pid
  [[ -r $f ]] || return 0
  pid=$(cat "$f")
  # Guard against pid reuse: only signal the process if it is still the daemon we started.
  if alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      log "$name did not stop in 15 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$f"
  # slurmctld leaves a stale pid file behind, which later breaks package removal.
  if [[ -n $own_pidfile && -e $own_pidfile && $(cat "$own_pidfile" 2>/dev/null) == "$pid" ]]; then
    rm -f "$own_pidfile"
  fi
}

stop slurmd slurmd /run/slurmd.pid
stop slurmctld slurmctld /run/slurmctld.pid
stop munged munged /run/munge/munged.pid
rmdir "$STATE" 2>/dev/null || true
log "done"
