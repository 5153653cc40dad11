#!/usr/bin/env bash
# Probes of real Slurm behaviour, recorded in tests/real/FACTS.md.
# Run as root after scripts/slurm-up.sh:  bash tests/real/probes/slurm_probes.sh > /tmp/slurm-facts.log
# Each probe prints "$ command", its output and "[exit N]". Job ids will differ between runs.
# Set SKIP_SLOW=1 to skip the time-limit probe (~2 minutes). It runs `scancel -u root`: do not
# run it while the real-scheduler tests run.
set -uo pipefail
W=${PROBE_DIR:-/tmp/arrayjob-slurm-probes}
rm -rf "$W"; mkdir -p "$W"; cd "$W"
p() { echo "\$ $1"; (eval "$1") 2>&1; echo "[exit $?]"; echo; }
T="timeout 60"

cat >env.sh <<'EOF'
#!/bin/bash
env | grep -E '^(SLURM_ARRAY_[A-Z_]*|SLURM_JOB_ID|SLURM_JOBID|SLURM_JOB_NAME|SLURM_CPUS_PER_TASK|SLURM_CPUS_ON_NODE|SLURM_JOB_CPUS_PER_NODE|SLURM_NTASKS|SLURM_SUBMIT_DIR|SLURM_MEM_PER|SLURM_JOB_PARTITION|SLURM_TASK_ID|TMPDIR)=' | sort
echo "pwd=$(pwd) shell=$(readlink /proc/$$/exe)"
EOF
cat >ok.sh <<'EOF'
#!/bin/sh
echo "task ${SLURM_ARRAY_TASK_ID:-none}"
EOF
cat >exit3.sh <<'EOF'
#!/bin/sh
[ "$SLURM_ARRAY_TASK_ID" = 1 ] && exit 3
exit 0
EOF
cat >twofail.sh <<'EOF'
#!/bin/sh
[ "$SLURM_ARRAY_TASK_ID" = 1 ] && exit 3
[ "$SLURM_ARRAY_TASK_ID" = 2 ] && exit 5
exit 0
EOF

echo "## environment"
p "$T sbatch --wait -J envA --array=0-9:3 -o '$W/%x.o%A.%a' env.sh"
p "ls $W | grep envA; cat $W/envA.o*.0; echo ---; cat $W/envA.o*.9"
p "$T sbatch --wait -J envB --array=1,4,7 -c 2 -o '$W/%x.o%A.%a' env.sh"
p "ls $W | grep envB; cat $W/envB.o*.1; echo ---; cat $W/envB.o*.7"
cat >thr.sh <<'EOF'
#!/bin/sh
echo "$SLURM_ARRAY_TASK_ID start $(date +%s.%N)" >> "$SLURM_SUBMIT_DIR/thr.times"
sleep 2
echo "$SLURM_ARRAY_TASK_ID end $(date +%s.%N)" >> "$SLURM_SUBMIT_DIR/thr.times"
env | grep -E '^SLURM_ARRAY' | sort > "$SLURM_SUBMIT_DIR/thr.env.$SLURM_ARRAY_TASK_ID"
EOF
p "time $T sbatch --wait -J envC --array=0-5%2 -o '$W/%x.o%A.%a' thr.sh; sort -k3 $W/thr.times; cat $W/thr.env.5"
p "$T sbatch --wait -J envD -o '$W/%x.o%j' env.sh; cat $W/envD.o*"
p "$T sbatch --wait -J envE --array=5 -o '$W/%x.o%A.%a' env.sh; ls $W | grep envE; cat $W/envE.o*"

echo "## log file names"
p "$T sbatch --wait -J logA --array=0-1 ok.sh; ls $W | grep slurm-"
p "$T sbatch --wait -J logB ok.sh; ls $W | grep slurm-"
p "$T sbatch --wait -J logC --array=0-1 -o '$W/A=%A.a=%a.x=%x.j=%j.u=%u.N=%N.J=%J.pct=%%.log' ok.sh; ls $W | grep logC"
p "$T sbatch --wait -J logD -o '$W/A=%A.a=%a.x=%x.j=%j.log' ok.sh; ls $W | grep logD"
p "$T sbatch --wait -J logE --array=0-1 -o '$W/logE.%3a.log' ok.sh; ls $W | grep logE"
p "$T sbatch --wait -J logF --array=0-1 -o '$W/' ok.sh; ls $W | grep -E 'logF|^[0-9]'"

echo "## sbatch output"
p "sbatch -J outA --array=0-9:3 -o /dev/null ok.sh"
p "sbatch --parsable -J outB --array=0-9:3 -o /dev/null ok.sh"
p "sbatch --parsable -J outC -o /dev/null ok.sh"
p "$T sbatch --parsable --wait -J outD -o /dev/null ok.sh"
p "$T sbatch --wait -J outE -o /dev/null ok.sh"

echo "## --wait exit codes"
p "$T sbatch --wait -J exA --array=0-2 -o '$W/%x.o%A.%a' exit3.sh"
p "$T sbatch --wait -J exB --array=0-2 -o '$W/%x.o%A.%a' ok.sh"
p "$T sbatch --wait -J exC --array=0-2 -o '$W/%x.o%A.%a' twofail.sh"
p "$T sbatch --wait -J exD -o '$W/%x.o%j' twofail.sh; echo 'no array: SLURM_ARRAY_TASK_ID unset -> exit 0'"
cat >exitnoarray.sh <<'EOF'
#!/bin/sh
exit 7
EOF
p "$T sbatch --wait -J exE -o '$W/%x.o%j' exitnoarray.sh"
cat >sig.sh <<'EOF'
#!/bin/sh
kill -9 $$
EOF
p "$T sbatch --wait -J exF -o '$W/%x.o%j' sig.sh"
# jobcomp/filetxt: one line per array task; fields are "Key=value" separated by spaces (values are
# not quoted: a WorkDir with spaces breaks naive parsing). ExitCode=EXIT:SIGNAL.
p "grep -E ' Name=ex[A-F] ' /var/log/slurm/jobcomp.log | tail -n1"
p "grep -E ' Name=ex[A-F] ' /var/log/slurm/jobcomp.log | awk '{ o = \"\"; for (i = 1; i <= NF; i++) if (\$i ~ /^(Name|JobState|ArrayJobId|ArrayTaskId|ExitCode)=/) o = o \" \" \$i; print o }' | sort"
if [[ -z ${SKIP_SLOW:-} ]]; then
  cat >slow.sh <<'EOF'
#!/bin/sh
echo "start $(date +%s)"
sleep 200
echo "end $(date +%s)"
EOF
  p "time timeout 300 sbatch --wait -J exT --time=1 -o '$W/%x.o%j' slow.sh"
  p "cat $W/exT.o*"
  p "grep -E ' Name=exT ' /var/log/slurm/jobcomp.log | grep -oE ' (JobState|ExitCode|StartTime|EndTime|TimeLimit)=[^ ]*'"
fi

echo "## quoting, late directives, names"
mkdir -p "/tmp/a b"
cat >quoted.sh <<'EOF'
#!/bin/sh
#SBATCH --output="/tmp/a b/%x.o%A.%a"
#SBATCH --job-name="quoted name"
echo quoted ok
EOF
p "rm -f '/tmp/a b/'quoted*; $T sbatch --wait --array=0-1 quoted.sh; ls -la '/tmp/a b/'"
cat >late.sh <<'EOF'
#!/bin/sh
#SBATCH -J early
echo hello
#SBATCH -J late
EOF
p "$T sbatch --wait -o '$W/%x.o%j' late.sh; ls $W | grep -E '^(early|late)'"
cat >blank.sh <<'EOF'
#!/bin/sh

# a comment

#SBATCH -J afterblank
echo hello
EOF
p "$T sbatch --wait -o '$W/%x.o%j' blank.sh; ls $W | grep -E '^(afterblank|blank)'"
cat >noshebang.sh <<'EOF'
#SBATCH -J noshebang
echo hello
EOF
p "$T sbatch --wait -o '$W/%x.o%j' noshebang.sh"
for n in 'a b' '1abc' 'a/b' 'a:b' 'a@b' 'a$b' 'a*b'; do
  p "$T sbatch --wait -J '$n' -o '$W/name.%x.%j' ok.sh"
done
p "ls $W | grep '^name\\.'"

echo "## limits and errors"
p "sbatch --array=0-1001 -o /dev/null ok.sh"
p "sbatch --array=0-1000 -o /dev/null --hold ok.sh && scancel -u root"
p "scontrol show config | grep -E 'MaxArraySize|MinJobAge|EnforcePartLimits|OverTimeLimit|KillWait'"
p "sbatch -c 3 -o /dev/null ok.sh"
p "sbatch --mem=1000000G -o /dev/null ok.sh"
p "sbatch --mem=1G -c 2 --time=01:00:00 -o /dev/null --wait ok.sh"
p "sbatch --time=3600 -o /dev/null --hold ok.sh; scontrol show job \$(squeue -h -o %i | head -1) | grep -o 'TimeLimit=[^ ]*'; scancel -u root"
p "sbatch -p nope -o /dev/null ok.sh"
p "sbatch --array=5-2 -o /dev/null ok.sh"
p "sbatch --array=0-3:0 -o /dev/null ok.sh"

echo "## missing output directory"
p "time $T sbatch --wait -J missA --array=0-1 -o '$W/nodir/%x.o%A.%a' ok.sh"
p "ls $W/nodir; grep -E ' Name=missA ' /var/log/slurm/jobcomp.log | grep -oE ' (JobId|JobState|ExitCode)=[^ ]*' | paste -d' ' - - -; grep -h error /var/log/slurm/slurmd.log | tail -n 2"
p "$T sbatch --wait -J missB -o '$W/nodir/%x.o%j' exitnoarray.sh"
