# Shared by scripts/{slurm,sge}-{up,down}.sh. The caller sets NAME (how it signs its messages),
# WHY (what it does, for the root check) and STATE (where the up script records its daemons'
# pids), then sources this file.

if [[ $(id -u) -ne 0 ]]; then
  echo "$NAME.sh: must be run as root ($WHY)" >&2
  exit 1
fi

log() { echo "$NAME: $*" >&2; }

# The last lines of each log the caller's log_files function names.
print_logs() {
  local f
  for f in $(log_files); do
    if [[ -r $f ]]; then
      echo "===== tail -n 60 $f =====" >&2
      tail -n 60 "$f" >&2
    fi
  done
}

# fail MESSAGE: say what went wrong, show the daemons' logs, exit 1.
fail() {
  log "ERROR: $*"
  print_logs
  exit 1
}

# A process is alive if /proc/PID/stat exists and its state is not Z/X (PID 1 here reaps
# zombies slowly, so `kill -0` would report a dead daemon as alive).
alive() {
  local pid=$1 st
  [[ -n $pid && -r /proc/$pid/stat ]] || return 1
  st=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $st != Z && $st != X ]]
}

# Live (non-zombie) pids of processes named exactly $1.
live_pids() {
  local p out=()
  for p in $(pgrep -x "$1" || true); do alive "$p" && out+=("$p"); done
  echo "${out[@]}"
}

# The pid an up script recorded for daemon $1, if any.
pid_of() { [[ -r $STATE/$1.pid ]] && cat "$STATE/$1.pid" || true; }

# stop NAME COMM SECONDS [PIDFILE...]: stop the daemon an up script recorded as NAME, only if that
# pid is still a process named COMM (pids are reused), SIGKILL after SECONDS, then remove the
# daemon's own pid files when they still name it (slurmctld's stale one breaks package removal).
stop() {
  local name=$1 comm=$2 seconds=$3 f=$STATE/$1.pid pid p
  shift 3
  [[ -r $f ]] || return 0
  pid=$(cat "$f")
  if alive "$pid" && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq $((seconds * 10))); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      log "$name did not stop in $seconds s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$f"
  for p in "$@"; do
    if [[ -e $p && $(cat "$p" 2>/dev/null) == "$pid" ]]; then rm -f "$p"; fi
  done
}
