#!/usr/bin/env bash
# Probes of real Grid Engine behaviour, recorded in tests/real/FACTS.md.
# Run as root after scripts/sge-up.sh:  bash tests/real/probes/sge_probes.sh > /tmp/sge-facts.log
# Each probe prints "$ command", its output and "[exit N]". Job ids will differ between runs.
# Takes ~4 minutes (some probes wait on jobs that never start). It runs `qdel -u root`: do not
# run it while the real-scheduler tests run.
set -uo pipefail
W=${PROBE_DIR:-/tmp/arrayjob-sge-probes}
rm -rf "$W"; mkdir -p "$W"; cd "$W"
p() { echo "\$ $1"; (eval "$1") 2>&1; echo "[exit $?]"; echo; }
T="timeout 60"

cat >env.sh <<'EOF'
#!/bin/bash
env | grep -E '^(SGE_TASK_[A-Z]*|JOB_ID|JOB_NAME|NSLOTS|NHOSTS|QUEUE|SGE_O_WORKDIR|SGE_CWD_PATH|TMP|TMPDIR|PE|PE_HOSTFILE|SGE_STDOUT_PATH|SGE_STDERR_PATH|RESTARTED|REQUEST)=' | sort
echo "pwd=$(pwd) shell=$(readlink /proc/$$/exe)"
EOF
cat >exit3.sh <<'EOF'
echo "task $SGE_TASK_ID"
[ "$SGE_TASK_ID" = 2 ] && exit 3
exit 0
EOF
cat >ok.sh <<'EOF'
echo "task $SGE_TASK_ID on $(hostname)"
EOF

echo "## environment"
p "$T qsub -sync y -t 1-10:3 -N envA -o $W -j y env.sh"
p "cat $W/envA.o*.1; echo ---; cat $W/envA.o*.10; ls $W | grep envA"
p "$T qsub -sync y -t 5 -N envB -o $W -j y env.sh"
p "ls $W | grep envB; cat $W/envB.o*"
p "$T qsub -sync y -N envC -o $W -j y env.sh"
p "ls $W | grep envC; cat $W/envC.o*"
p "$T qsub -sync y -S /bin/bash -N envD -o $W -j y env.sh"
p "cat $W/envD.o*"
p "$T qsub -sync y -cwd -N envE -t 1-2 env.sh"
p "ls $W | grep envE; cat $W/envE.o*.1"

echo "## log file names"
p "$T qsub -sync y -t 1-2 -N logA ok.sh"
p "ls ~ | grep logA; rm -f ~/logA.*"
p "$T qsub -sync y -t 1-2 -N logB -o $W ok.sh"
p "ls $W | grep logB"
p "$T qsub -sync y -N logC -o $W -j y ok.sh"
p "ls $W | grep logC"
p "$T qsub -sync y -t 1-2 -N logD -o '$W/\$JOB_NAME.\$JOB_ID.\$TASK_ID.log' -e '$W/\$JOB_NAME.e\$JOB_ID.\$TASK_ID' ok.sh"
p "ls $W | grep logD"
p "$T qsub -sync y -N logE -o '$W/\$JOB_NAME.\$JOB_ID.\$TASK_ID.log' -j y ok.sh"
p "ls $W | grep logE"
p "$T qsub -sync y -t 1-2 -N logF -o '$W/logF.\$HOSTNAME.\$USER.log' -j y ok.sh"
p "ls $W | grep logF"

echo "## qsub output"
p "qsub -t 1-10:3 -N outA -o $W -j y ok.sh"
p "qsub -terse -t 1-10:3 -N outB -o $W -j y ok.sh"
p "qsub -terse -N outC -o $W -j y ok.sh"
p "qsub -N outD -o $W -j y ok.sh"
p "qsub -sync y -terse -t 1-2 -N outE -o $W -j y ok.sh"

echo "## -sync y exit codes"
p "$T qsub -sync y -t 1-3 -N exA -o $W -j y exit3.sh"
p "$T qsub -sync y -t 1-3 -N exB -o $W -j y ok.sh"
cat >twofail.sh <<'EOF'
[ "$SGE_TASK_ID" = 2 ] && exit 3
[ "$SGE_TASK_ID" = 3 ] && exit 5
exit 0
EOF
p "$T qsub -sync y -t 1-3 -N exC -o $W -j y twofail.sh"
cat >slow.sh <<'EOF'
echo "start $(date +%s)"
sleep 30
echo "end $(date +%s)"
EOF
p "time $T qsub -sync y -l h_rt=0:0:5 -N exD -o $W -j y slow.sh"
p "cat $W/exD.o*"
p "qacct -j exD | grep -E 'exit_status|failed|ru_wallclock|taskid'"
cat >selfsync.sh <<'EOF'
#$ -sync y
#$ -N selfsync
sleep 3
echo done
EOF
p "time $T qsub -o $W -j y selfsync.sh"

echo "## quoting and job names"
mkdir -p "/tmp/a b"
cat >quoted.sh <<'EOF'
#$ -o "/tmp/a b/quoted.log"
#$ -j y
echo quoted ok
EOF
p "rm -f '/tmp/a b/quoted.log'; $T qsub -sync y quoted.sh; ls -la '/tmp/a b/'"
cat >quotedname.sh <<'EOF'
#$ -N "a b"
#$ -j y
echo hi
EOF
p "$T qsub -sync y -o $W quotedname.sh"
for n in 'a b' '1abc' 'a/b' 'a:b' 'a@b' 'a$b' 'a.b' 'a-b_c' 'a=b' 'a,b' 'a*b' 'a\\b'; do
  p "$T qsub -sync y -N '$n' -o $W -j y ok.sh"
done
p "ls $W | grep -v '^[a-zA-Z]*\\.sh$'"

echo "## resources"
p "$T qsub -sync y -l m_mem_free=1G -N resA -o $W -j y ok.sh"
p "$T qsub -sync y -l mem_free=1G -N resB -o $W -j y ok.sh"
p "$T qsub -sync y -l h_vmem=1G -N resC -o $W -j y ok.sh"
p "$T qsub -sync y -l mem_free=100000G -N resD -o $W -j y ok.sh"
p "$T qsub -sync y -pe smp 1 -N peA -o $W -j y env.sh; cat $W/peA.o*"
p "$T qsub -sync y -pe smp 2 -N peB -o $W -j y env.sh; cat $W/peB.o*"
p "timeout 20 qsub -sync y -pe smp 3 -N peC -o $W -j y env.sh"
p "timeout 20 qsub -sync y -pe nope 1 -N peD -o $W -j y env.sh"
p "timeout 20 qsub -sync y -q nope.q -N qA -o $W -j y env.sh"
p "timeout 20 qsub -sync y -l h_rt=1:00:00 -N rtA -o $W -j y ok.sh"
p "timeout 20 qsub -sync y -l h_rt=3600 -N rtB -o $W -j y ok.sh"
p "qstat -u '*'; qdel -u root >/dev/null 2>&1; sleep 2"

echo "## missing -o directory"
p "timeout 30 qsub -sync y -t 1-2 -N missA -o $W/nodir/ -j y ok.sh"
p "qstat -u '*'; qstat -j missA 2>&1 | grep -iE 'error|reason' | head -5"
p "qdel -u root >/dev/null 2>&1; sleep 2; qmod -c '*' >/dev/null 2>&1; true"
p "timeout 30 qsub -sync y -N missB -o $W/nodir/x.log -j y ok.sh"
p "qstat -u '*'; qstat -j missB 2>&1 | grep -iE 'error|reason' | head -5"
p "qdel -u root >/dev/null 2>&1; sleep 2; qmod -c '*' >/dev/null 2>&1; true"

echo "## -tc and -t ranges"
cat >tc.sh <<'EOF'
echo "$SGE_TASK_ID start $(date +%s.%N)" >> "$SGE_O_WORKDIR/tc.times"
sleep 3
echo "$SGE_TASK_ID end $(date +%s.%N)" >> "$SGE_O_WORKDIR/tc.times"
EOF
p "time $T qsub -sync y -cwd -tc 1 -t 1-3 -N tcA -o $W -j y tc.sh; sort -k3 $W/tc.times"
for r in 0-3 5-2 1-3:0 2 1-3,5 3-3 -1; do
  p "timeout 20 qsub -sync y -t $r -N tr -o $W -j y ok.sh"
done

echo "## #\$ directives after the first command"
cat >late.sh <<'EOF'
#!/bin/sh
#$ -N early
echo hello
#$ -N late
#$ -o /tmp/late.log
EOF
p "rm -f /tmp/late.log; $T qsub -sync y -o $W -j y late.sh; ls $W | grep -E 'early|late'; ls /tmp/late.log"
cat >blank.sh <<'EOF'
#!/bin/sh

# a comment

#$ -N afterblank
echo hello
EOF
p "$T qsub -sync y -o $W -j y blank.sh"
cat >cmdline.sh <<'EOF'
#$ -N fromscript
#$ -o /tmp/fromscript.log
echo hello
EOF
p "$T qsub -sync y -N fromcmdline -o $W -j y cmdline.sh"
echo "## accounting"
p "qacct -j exC | grep -E '^(jobname|jobnumber|taskid|exit_status|failed)'"
