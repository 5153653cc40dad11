#!/usr/bin/env bash
# Probes of real Grid Engine's query and control commands on jobs in each state, recorded in
# tests/real/FACTS.md ("Query and control commands"). Run as root after scripts/sge-up.sh:
#   bash tests/real/probes/sge_query_probes.sh > /tmp/sge-query.log 2>&1
# Each probe prints "$ command", its output (stderr lines marked "2> ") and "[exit N]". It
# deletes only the jobs it submitted. ~1 minute.
set -uo pipefail
W=${PROBE_DIR:-/tmp/arrayjob-sge-query}
rm -rf "$W"; mkdir -p "$W"; cd "$W"
p() {
  echo "\$ $1"
  (eval "$1") >"$W/.out" 2>"$W/.err"; local rc=$?
  cat "$W/.out"; sed 's/^/2> /' "$W/.err"
  echo "[exit $rc]"; echo
}
cat >ok.sh <<'EOF'
echo "task $SGE_TASK_ID"
EOF
cat >fail.sh <<'EOF'
# Array task 2 (or a plain job) exits 3.
case "$SGE_TASK_ID" in 2|undefined) exit 3;; esac
exit 0
EOF
cat >slow.sh <<'EOF'
sleep 120
EOF
cat >env.sh <<'EOF'
env | sort > "$1"
EOF
qs() { qsub -terse -cwd -o "$W" -j y "$@" | sed -E 's/^([0-9]+).*/\1/'; }

echo "## finished: OK and failed (array 1-2, plain)"
OKA=$(qs -sync y -N q_okA -t 1-2 ok.sh)
OKP=$(qs -sync y -N q_okP ok.sh)
FA=$(qs -sync y -N q_failA -t 1-2 fail.sh 2>/dev/null)
FP=$(qs -sync y -N q_failP fail.sh 2>/dev/null)
echo "ids: okA=$OKA okP=$OKP failA=$FA failP=$FP"
p "qstat"
p "qstat -j $OKA"
p "qstat -s z -u root | head -5"
p "qacct -j $OKA"
p "qacct -j $FP"
p "qacct -j q_failA | grep -E '^(jobnumber|taskid|failed|exit_status|jobname) '"
p "qdel $OKP"

echo "## pending (held) and running"
HA=$(qs -h -N q_heldA -t 1-4 ok.sh)
HP=$(qs -h -N q_heldP ok.sh)
RA=$(qs -N q_runA -t 1-3 slow.sh)
sleep 5
echo "ids: heldA=$HA heldP=$HP runA=$RA"
p "qstat"
p "qstat -u root"
p "qstat -u '*'"
p "qstat -t"
p "qstat -g d"
p "qstat -s p"
p "qstat -s r"
p "qstat -j $HP"
p "qstat -j $RA"
p "qstat -xml"
p "qstat -j $RA -xml | head -60"
p "qstat -r | head -20"
p "qacct -j $RA"
echo "## hold / release"
p "qrls $HA -t 4"
sleep 3
p "qstat"
p "qhold $HP"
p "qrls 999999"
p "qhold 999999"
echo "## cancelled"
p "qdel $RA -t 3"
p "qdel $RA"
p "qdel $HA $HP"
sleep 4
p "qstat"
p "qstat -j $RA"
p "qacct -j $RA"
p "qacct -j $HP"
echo "## plain running, deleted"
PR=$(qs -N q_runP slow.sh)
sleep 4
p "qstat"
p "qstat -j $PR | grep -E '^(job_number|job_state|usage|job_name|submission_time)'"
p "qdel $PR"
sleep 3
p "qstat -j $PR"
p "qacct -j $PR"

echo "## unknown ids"
p "qstat -j 999999"
p "qstat -j 999999 -xml"
p "qdel 999999"
p "qacct -j 999999"
p "qstat -u nobody"

echo "## qsub"
p "qsub -cwd -o $W -j y ok.sh"
p "qsub -terse -cwd -o $W -j y ok.sh"
p "qsub -terse -t 1-3 -cwd -o $W -j y ok.sh"
p "qsub -t 1-3 -N arr -cwd -o $W -j y ok.sh"
p "qsub -w v -cwd -o $W -j y ok.sh"
p "qsub -w v -pe smp 3 -cwd -o $W -j y ok.sh"
p "qsub -w e -cwd -o $W -j y ok.sh"
p "qsub -sync y -cwd -o $W -j y ok.sh"
p "qsub -sync y -cwd -o $W -j y fail.sh"
p "qsub -b y -cwd -o $W -j y echo binary"

echo "## environment: plain job and array task"
p "qsub -sync y -N envP -cwd -o /dev/null -j y env.sh $W/env.plain >/dev/null"
p "qsub -sync y -N envA -t 2-3 -cwd -o /dev/null -j y env.sh $W/env.array >/dev/null"
p "qsub -sync y -N envPE -pe smp 1 -cwd -o /dev/null -j y env.sh $W/env.pe >/dev/null"
p "cat $W/env.plain"
p "diff $W/env.plain $W/env.array"
p "diff $W/env.plain $W/env.pe"
p "sleep 1; qstat"

echo "## array renderings: step, partly finished, hold/release outputs, Eqw"
S1=$(qs -h -N q_step -t 1-10:3 ok.sh)
P=$(qs -N q_part -tc 1 -t 1-4 slow.sh)
E=$(qsub -terse -N q_eqw -o "$W/nodir/x.log" -j y ok.sh)
sleep 6
p "qstat"
p "qhold $P"
p "qstat"
p "qrls $P"
p "qhold $S1 -t 4"
p "qrls $S1"
p "qstat"
p "qstat -j $E | grep -E '^(job_number|error reason)'"
p "qstat -explain E | head -8"
p "qdel $S1 $P $E"
