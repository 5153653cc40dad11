#!/usr/bin/env bash
# Install (if needed) and start a one-node (Son of) Grid Engine cluster on this machine (root only).
# Idempotent: if the daemons started by a previous run are alive and a job runs, nothing changes
# except that the configuration objects are rewritten to the values below.
# Daemons started here are recorded in $ARRAYJOB_SGE_STATE (default /run/arrayjob-sge) so
# scripts/sge-down.sh stops exactly these and nothing else.
#
# Jobs must be submitted with SGE_ROOT=/var/lib/gridengine SGE_CELL=default (the Debian
# wrappers in /usr/bin default to these values, so plain `qsub` works).
set -euo pipefail

STATE=${ARRAYJOB_SGE_STATE:-/run/arrayjob-sge}
TIMEOUT=${ARRAYJOB_UP_TIMEOUT:-90}
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
MASTER_SPOOL=/var/spool/gridengine/qmaster
EXECD_SPOOL=/var/spool/gridengine/execd

NAME=sge-up WHY="it installs packages and starts daemons"
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
HOST=$(hostname)

# What fail (in _lib.sh) prints when the daemons do not come up.
log_files() { echo "$MASTER_SPOOL/messages" "$EXECD_SPOOL"/*/messages /tmp/qmaster_messages /tmp/execd_messages; }

# Grid Engine (and its package's postinst) needs the host name to resolve.
if ! getent hosts "$HOST" >/dev/null; then
  log "host name $HOST does not resolve: adding '127.0.0.1 $HOST' to /etc/hosts"
  echo "127.0.0.1 $HOST" >>/etc/hosts
fi

# ---------------------------------------------------------------- install
export DEBIAN_FRONTEND=noninteractive
if ! command -v sge_qmaster >/dev/null || ! command -v sge_execd >/dev/null ||
  ! command -v qsub >/dev/null; then
  log "installing gridengine-master, gridengine-exec, gridengine-client"
  for pkg in gridengine-common gridengine-master; do
    debconf-set-selections <<EOF
$pkg shared/gridengineconfig boolean true
$pkg shared/gridenginecell string default
$pkg shared/gridenginemaster string $HOST
EOF
  done
  pkgs=(gridengine-master gridengine-exec gridengine-client)
  if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
  fi
fi
command -v sge_qmaster >/dev/null || fail "sge_qmaster not installed"
[[ -r $SGE_ROOT/$SGE_CELL/common/bootstrap ]] ||
  fail "$SGE_ROOT/$SGE_CELL/common/bootstrap missing: the gridengine-master package did not set up the cell (debconf shared/gridengineconfig?)"

mkdir -p "$STATE" /run/gridengine
chown sgeadmin:sgeadmin /run/gridengine

# 127.0.0.1 reverse-resolves to "localhost", which is not the host name the cell was
# configured for ("access denied"): make localhost an alias of the host name.
ALIASES=$SGE_ROOT/$SGE_CELL/common/host_aliases
if [[ $(cat "$ALIASES" 2>/dev/null) != "$HOST localhost" ]]; then
  echo "$HOST localhost" >"$ALIASES"
  chown sgeadmin:sgeadmin "$ALIASES"
  # The qmaster reads host_aliases at start only.
  pid=$(pid_of sge_qmaster)
  if alive "$pid"; then
    log "host_aliases changed: restarting sge_qmaster"
    kill "$pid" || true
    for _ in $(seq 300); do alive "$pid" || break; sleep 0.1; done
  fi
fi

# ---------------------------------------------------------------- qmaster
if ! alive "$(pid_of sge_qmaster)"; then
  [[ -z $(live_pids sge_qmaster) ]] ||
    fail "an sge_qmaster not started by this script is running (pid $(live_pids sge_qmaster)); stop it first"
  rm -f "$MASTER_SPOOL/qmaster.pid" "$MASTER_SPOOL/lock"
  log "starting sge_qmaster"
  sge_qmaster
  for _ in $(seq 100); do [[ -s $MASTER_SPOOL/qmaster.pid ]] && break; sleep 0.1; done
  [[ -s $MASTER_SPOOL/qmaster.pid ]] || fail "sge_qmaster did not write $MASTER_SPOOL/qmaster.pid"
  cp "$MASTER_SPOOL/qmaster.pid" "$STATE/sge_qmaster.pid"
  fresh_qmaster=1
fi
deadline=$((SECONDS + TIMEOUT))
until qconf -sh >/dev/null 2>&1; do
  alive "$(pid_of sge_qmaster)" || fail "sge_qmaster died"
  ((SECONDS < deadline)) || fail "qmaster does not answer after ${TIMEOUT}s"
  sleep 0.2
done
# The qmaster's spool outlives its daemons (a machine reused for CI keeps it): jobs an earlier
# session left queued would hold the slots before anything submitted now, as slurmctld -c avoids.
if [[ -n ${fresh_qmaster:-} ]] && [[ -n $(qstat -u '*' 2>/dev/null) ]]; then
  log "deleting jobs left in the spool by an earlier run: $(qstat -u '*' | awk 'NR > 2 { print $1 }' | sort -u | tr '\n' ' ')"
  qdel -f -u '*' >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------- configuration objects
CONF=$(mktemp -d)
PROBE_DIR=$(mktemp -d)
trap 'rm -rf "$CONF" "$PROBE_DIR"' EXIT
NCPU=$(nproc)

# qconf -Mconf takes the configuration *name* as the file name.
qconf -sconf global >"$CONF/global"
sed -i -E \
  -e 's/^(min_uid|min_gid)[[:space:]].*/\1 0/' \
  -e 's/^login_shells[[:space:]].*/login_shells none/' \
  -e 's#^mailer[[:space:]].*#mailer /bin/true#' \
  "$CONF/global"
# reporting_params may span several lines (backslash continuations): rewrite it whole.
awk '
  /^reporting_params/ { skip = 1; print "reporting_params accounting=true reporting=false flush_time=00:00:01 joblog=false sharelog=00:00:00 accounting_flush_time=00:00:00"; if ($0 !~ /\\$/) skip = 0; next }
  skip { if ($0 !~ /\\$/) skip = 0; next }
  { print }' "$CONF/global" >"$CONF/global.new"
mv "$CONF/global.new" "$CONF/global"
(cd "$CONF" && qconf -Mconf global >"$CONF/out" 2>&1) || fail "qconf -Mconf global failed: $(cat "$CONF/out")"

qconf -ssconf >"$CONF/sconf"
sed -i -E \
  -e 's/^schedule_interval[[:space:]].*/schedule_interval 0:0:1/' \
  -e 's/^flush_submit_sec[[:space:]].*/flush_submit_sec 1/' \
  -e 's/^flush_finish_sec[[:space:]].*/flush_finish_sec 1/' \
  "$CONF/sconf"
qconf -Msconf "$CONF/sconf" >"$CONF/out" 2>&1 || fail "qconf -Msconf failed: $(cat "$CONF/out")"

qconf -sh 2>/dev/null | grep -qx "$HOST" || qconf -ah "$HOST" >/dev/null 2>&1
qconf -ss 2>/dev/null | grep -qx "$HOST" || qconf -as "$HOST" >/dev/null 2>&1

# add_or_modify KIND-LETTER(S) LIST-COMMAND NAME FILE: qconf -A<k> if absent, -M<k> if present.
add_or_modify() {
  local k=$1 list=$2 name=$3 file=$4
  if qconf "$list" 2>/dev/null | grep -qx -- "$name"; then
    qconf "-M$k" "$file" >"$CONF/out" 2>&1 || fail "qconf -M$k $name failed: $(cat "$CONF/out")"
  else
    qconf "-A$k" "$file" >"$CONF/out" 2>&1 || fail "qconf -A$k $name failed: $(cat "$CONF/out")"
  fi
}

cat >"$CONF/exechost" <<EOF
hostname              $HOST
load_scaling          NONE
complex_values        NONE
user_lists            NONE
xuser_lists           NONE
projects              NONE
xprojects             NONE
usage_scaling         NONE
report_variables      NONE
EOF
add_or_modify e -sel "$HOST" "$CONF/exechost"

cat >"$CONF/allhosts" <<EOF
group_name @allhosts
hostlist $HOST
EOF
add_or_modify hgrp -shgrpl @allhosts "$CONF/allhosts"

cat >"$CONF/smp" <<EOF
pe_name            smp
slots              9999
user_lists         NONE
xuser_lists        NONE
start_proc_args    NONE
stop_proc_args     NONE
allocation_rule    \$pe_slots
control_slaves     FALSE
job_is_first_task  TRUE
urgency_slots      min
accounting_summary FALSE
qsort_args         NONE
EOF
add_or_modify p -spl smp "$CONF/smp"

# A typical default queue, except load_thresholds NONE (a loaded CI machine would otherwise put
# the queue in alarm state and nothing would run).
cat >"$CONF/all.q" <<EOF
qname                 all.q
hostlist              @allhosts
seq_no                0
load_thresholds       NONE
suspend_thresholds    NONE
nsuspend              1
suspend_interval      00:05:00
priority              0
min_cpu_interval      00:05:00
processors            UNDEFINED
qtype                 BATCH INTERACTIVE
ckpt_list             NONE
pe_list               smp
rerun                 FALSE
slots                 $NCPU
tmpdir                /tmp
shell                 /bin/sh
prolog                NONE
epilog                NONE
shell_start_mode      posix_compliant
starter_method        NONE
suspend_method        NONE
resume_method         NONE
terminate_method      NONE
notify                00:00:60
owner_list            NONE
user_lists            NONE
xuser_lists           NONE
subordinate_list      NONE
complex_values        NONE
projects              NONE
xprojects             NONE
calendar              NONE
initial_state         default
s_rt                  INFINITY
h_rt                  INFINITY
s_cpu                 INFINITY
h_cpu                 INFINITY
s_fsize               INFINITY
h_fsize               INFINITY
s_data                INFINITY
h_data                INFINITY
s_stack               INFINITY
h_stack               INFINITY
s_core                INFINITY
h_core                INFINITY
s_rss                 INFINITY
h_rss                 INFINITY
s_vmem                INFINITY
h_vmem                INFINITY
EOF
add_or_modify q -sql all.q "$CONF/all.q"

# ---------------------------------------------------------------- execd
if ! alive "$(pid_of sge_execd)"; then
  [[ -z $(live_pids sge_execd) ]] ||
    fail "an sge_execd not started by this script is running (pid $(live_pids sge_execd)); stop it first"
  mkdir -p "$EXECD_SPOOL"
  chown sgeadmin:sgeadmin "$EXECD_SPOOL"
  # The execd names its spool directory after the name it resolves for itself, which may be
  # "localhost" rather than $HOST here: look for the pid file in any host directory.
  rm -f "$EXECD_SPOOL"/*/execd.pid
  log "starting sge_execd"
  sge_execd
  for _ in $(seq 100); do compgen -G "$EXECD_SPOOL/*/execd.pid" >/dev/null && break; sleep 0.1; done
  pidfile=$(compgen -G "$EXECD_SPOOL/*/execd.pid" | head -n1) || true
  [[ -n $pidfile && -s $pidfile ]] || fail "sge_execd did not write $EXECD_SPOOL/*/execd.pid"
  cp "$pidfile" "$STATE/sge_execd.pid"
fi

# ---------------------------------------------------------------- wait until a job runs
# The queue instance is in state "u" (unknown) until the execd has reported its load.
until qstat -f -q "all.q@$HOST" 2>/dev/null | awk -v q="all.q@$HOST" '$1 == q && $6 !~ /[uadEsSDC]/ { ok = 1 } END { exit !ok }'; do
  alive "$(pid_of sge_qmaster)" || fail "sge_qmaster died"
  alive "$(pid_of sge_execd)" || fail "sge_execd died"
  # A queue instance left in error state by an earlier job, or disabled by hand: clear, enable.
  qmod -c "all.q@$HOST" >/dev/null 2>&1 || true
  qmod -e "all.q@$HOST" >/dev/null 2>&1 || true
  ((SECONDS < deadline)) || fail "queue all.q@$HOST not ready after ${TIMEOUT}s: $(qstat -f 2>&1 | tr '\n' ' ')"
  sleep 0.3
done

cat >"$PROBE_DIR/probe.sh" <<EOF
echo ok >$PROBE_DIR/ran
EOF
remaining=$((deadline - SECONDS))
((remaining > 10)) || remaining=10
rc=0
timeout "$remaining" qsub -sync y -N arrayjob-up -o "$PROBE_DIR/out" -j y "$PROBE_DIR/probe.sh" \
  >"$PROBE_DIR/qsub.out" 2>&1 || rc=$?
if [[ $rc -ne 0 ]]; then
  cat "$PROBE_DIR/qsub.out" >&2
  [[ $rc -eq 124 ]] && fail "probe job did not finish within ${remaining}s"
  fail "probe job failed: qsub -sync y exited $rc"
fi
[[ -s $PROBE_DIR/ran ]] ||
  fail "probe job finished but did not run: $(cat "$PROBE_DIR/qsub.out" "$PROBE_DIR/out" 2>/dev/null | tr '\n' ' ')"
log "ready: $(qstat -f -q "all.q@$HOST" | awk -v q="all.q@$HOST" '$1 == q { print $1, "slots=" $3 }')"
