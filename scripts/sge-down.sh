#!/usr/bin/env bash
# Stop the Grid Engine daemons that scripts/sge-up.sh started (and only those: it reads the pid
# files in $ARRAYJOB_SGE_STATE). Idempotent: running it twice, or without sge-up.sh, is fine.
# The packages and the cell configuration stay, so the next sge-up.sh is fast.
# The qmaster takes about 10 s to shut down.
set -euo pipefail

STATE=${ARRAYJOB_SGE_STATE:-/run/arrayjob-sge}

if [[ $(id -u) -ne 0 ]]; then
  echo "sge-down.sh: must be run as root (it stops daemons started by sge-up.sh)" >&2
  exit 1
fi

log() { echo "sge-down: $*" >&2; }
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
    for _ in $(seq 300); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      log "$name did not stop in 30 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$f"
  local p
  for p in $own_pidfile; do
    if [[ -e $p && $(cat "$p" 2>/dev/null) == "$pid" ]]; then rm -f "$p"; fi
  done
}

stop sge_execd sge_execd "$(compgen -G '/var/spool/gridengine/execd/*/execd.pid' || true)"
stop sge_qmaster sge_qmaster /var/spool/gridengine/qmaster/qmaster.pid
rmdir "$STATE" 2>/dev/null || true
log "done"
