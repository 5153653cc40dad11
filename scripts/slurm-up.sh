#!/usr/bin/env bash
# Install (if needed) and start a one-node Slurm cluster on this machine (root only).
# Idempotent: if the daemons started by a previous run are alive and a job runs, nothing changes.
# Daemons started here are recorded in $ARRAYJOB_SLURM_STATE (default /run/arrayjob-slurm)
# so scripts/slurm-down.sh stops exactly these and nothing else.
set -euo pipefail

STATE=${ARRAYJOB_SLURM_STATE:-/run/arrayjob-slurm}
TIMEOUT=${ARRAYJOB_UP_TIMEOUT:-60}
CONF_DIR=/etc/slurm
LOG_DIR=/var/log/slurm
SPOOL=/var/spool/slurmctld
SLURMD_SPOOL=/var/spool/slurmd

NAME=slurm-up WHY="it installs packages and starts daemons"
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

# What fail (in _lib.sh) prints when the daemons do not come up.
log_files() { echo "$LOG_DIR"/slurmctld.log "$LOG_DIR"/slurmd.log /var/log/munge/munged.log; }

# ---------------------------------------------------------------- install
export DEBIAN_FRONTEND=noninteractive
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
  ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  log "installing slurm-wlm and munge"
  if ! apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null
  fi
fi
command -v slurmctld >/dev/null || fail "slurmctld not installed"

mkdir -p "$STATE" "$LOG_DIR" "$SPOOL" "$SLURMD_SPOOL" "$CONF_DIR"

# ---------------------------------------------------------------- munge
MUNGE_SOCK=/run/munge/munge.socket.2
if ! alive "$(pid_of munged)"; then
  if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating munge key"
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile=/etc/munge/munge.key --force >/dev/null
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  if [[ -n $(live_pids munged) ]] && [[ -S $MUNGE_SOCK ]] && munge -n </dev/null | unmunge >/dev/null 2>&1; then
    log "munged already running (not started by this script; left alone)"
  else
    rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
    log "starting munged"
    rm -f /run/munge/munged.pid
    runuser -u munge -- munged --force
    for _ in $(seq 50); do [[ -S $MUNGE_SOCK && -s /run/munge/munged.pid ]] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$STATE/munged.pid" || fail "munged did not start"
  fi
fi
munge -n </dev/null | unmunge >/dev/null 2>&1 || fail "munge does not work"

# ---------------------------------------------------------------- config
HOST=$(hostname -s)
NODE_LINE=$(slurmd -C | head -n1)              # NodeName=vm CPUs=2 Boards=1 ... RealMemory=24105
NODE_LINE=${NODE_LINE/NodeName=* CPUs=/NodeName=$HOST NodeAddr=127.0.0.1 CPUs=}
CPUS=$(sed -E 's/.* CPUs=([0-9]+).*/\1/' <<<"$NODE_LINE")
MEM=$(sed -E 's/.* RealMemory=([0-9]+).*/\1/' <<<"$NODE_LINE")
# Leave a little memory headroom so the node is not drained for having less than configured.
MEM=$((MEM * 95 / 100))
NODE_LINE=$(sed -E "s/RealMemory=[0-9]+/RealMemory=$MEM/" <<<"$NODE_LINE")
DEF_MEM=$((MEM / CPUS))

NEW_CONF=$(mktemp)
cat >"$NEW_CONF" <<EOF
# Written by arrayjob scripts/slurm-up.sh: one-node cluster for tests, no systemd/cgroups.
ClusterName=arrayjob
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$SPOOL
SlurmdSpoolDir=$SLURMD_SPOOL
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG_DIR/jobcomp.log
MailProg=/bin/true
ReturnToService=2
EnforcePartLimits=ALL
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEF_MEM
MinJobAge=300
InactiveLimit=0
KillWait=5
Waittime=0
$NODE_LINE State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
CONF_CHANGED=0
if ! cmp -s "$NEW_CONF" "$CONF_DIR/slurm.conf"; then
  install -m 0644 "$NEW_CONF" "$CONF_DIR/slurm.conf"
  CONF_CHANGED=1
fi
rm -f "$NEW_CONF"

# ---------------------------------------------------------------- daemons
if [[ $CONF_CHANGED == 1 ]]; then
  for d in slurmd slurmctld; do
    pid=$(pid_of "$d")
    if alive "$pid"; then
      log "configuration changed: restarting $d"
      kill "$pid" || true
      for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    fi
    rm -f "$STATE/$d.pid"
  done
fi

if ! alive "$(pid_of slurmctld)"; then
  if [[ -n $(live_pids slurmctld) ]]; then
    fail "a slurmctld not started by this script is running (pid $(live_pids slurmctld)); stop it first"
  fi
  rm -f /run/slurmctld.pid # a stale pid file left by a dead slurmctld
  log "starting slurmctld"
  slurmctld -c -i
  for _ in $(seq 50); do [[ -s /run/slurmctld.pid ]] && break; sleep 0.1; done
  [[ -s /run/slurmctld.pid ]] || fail "slurmctld did not write its pid file"
  cp /run/slurmctld.pid "$STATE/slurmctld.pid"
fi
if ! alive "$(pid_of slurmd)"; then
  if [[ -n $(live_pids slurmd) ]]; then
    fail "a slurmd not started by this script is running (pid $(live_pids slurmd)); stop it first"
  fi
  rm -f /run/slurmd.pid
  log "starting slurmd"
  slurmd
  for _ in $(seq 50); do [[ -s /run/slurmd.pid ]] && break; sleep 0.1; done
  [[ -s /run/slurmd.pid ]] || fail "slurmd did not write its pid file"
  cp /run/slurmd.pid "$STATE/slurmd.pid"
fi

# ---------------------------------------------------------------- wait until a job runs
deadline=$((SECONDS + TIMEOUT))
until sinfo -h -N -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; do
  alive "$(pid_of slurmctld)" || fail "slurmctld died"
  alive "$(pid_of slurmd)" || fail "slurmd died"
  if sinfo -h -N -o '%t' 2>/dev/null | grep -qE '^(drain|down)'; then
    scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
  fi
  ((SECONDS < deadline)) || fail "node not idle after ${TIMEOUT}s: $(sinfo -N 2>&1 | tr '\n' ' ')"
  sleep 0.2
done

PROBE_DIR=$(mktemp -d)
trap 'rm -rf "$PROBE_DIR"' EXIT
remaining=$((deadline - SECONDS))
((remaining > 5)) || remaining=5
rc=0
timeout "$remaining" sbatch --wait --quiet -J arrayjob-up -o "$PROBE_DIR/out" -t 1 \
  --wrap "echo ok >$PROBE_DIR/ran" >/dev/null 2>"$PROBE_DIR/err" || rc=$?
if [[ $rc -ne 0 ]]; then
  cat "$PROBE_DIR/err" >&2
  [[ $rc -eq 124 ]] && fail "probe job did not finish within ${remaining}s"
  fail "probe job failed: sbatch --wait exited $rc"
fi
[[ -s $PROBE_DIR/ran ]] || fail "probe job finished but did not run (output: $(cat "$PROBE_DIR/out" 2>/dev/null))"
log "ready: $(sinfo -h -N -o '%N %t cpus=%c mem=%m')"
