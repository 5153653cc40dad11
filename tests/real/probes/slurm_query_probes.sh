#!/usr/bin/env bash
# Probes of real Slurm's query and control commands on jobs in each state, recorded in
# tests/real/FACTS.md ("Query and control commands"). Run as root after scripts/slurm-up.sh:
#   bash tests/real/probes/slurm_query_probes.sh > /tmp/slurm-query.log 2>&1
# Each probe prints "$ command", its output (stderr merged, marked "2>" when it went there) and
# "[exit N]". It cancels only the jobs it submitted. ~1 minute.
set -uo pipefail
W=${PROBE_DIR:-/tmp/arrayjob-slurm-query}
rm -rf "$W"; mkdir -p "$W"; cd "$W"
# p CMD: the command, stdout, stderr lines prefixed "2> ", exit code.
p() {
  echo "\$ $1"
  (eval "$1") >"$W/.out" 2>"$W/.err"; local rc=$?
  cat "$W/.out"; sed 's/^/2> /' "$W/.err"
  echo "[exit $rc]"; echo
}
cat >ok.sh <<'EOF'
#!/bin/sh
echo "task ${SLURM_ARRAY_TASK_ID:-none}"
EOF
cat >fail.sh <<'EOF'
#!/bin/sh
# Array task 1 (or a plain job) exits 3.
[ "${SLURM_ARRAY_TASK_ID:-1}" = 1 ] && exit 3
exit 0
EOF
cat >slow.sh <<'EOF'
#!/bin/sh
sleep 120
EOF
cat >env.sh <<'EOF'
#!/bin/sh
env | sort > "$1"
EOF
id() { sed -E 's/[^0-9]*([0-9]+).*/\1/' <<<"$1"; }
sb() { sbatch --parsable -o "$W/%x.o%A.%a" "$@"; }

echo "## finished: OK and failed (array 0-1, plain)"
OKA=$(sb --wait -J q_okA --array=0-1 ok.sh)
OKP=$(sb --wait -J q_okP ok.sh)
FA=$(sb --wait -J q_failA --array=0-1 fail.sh)
FP=$(sb --wait -J q_failP fail.sh)
echo "ids: okA=$OKA okP=$OKP failA=$FA failP=$FP"
p "squeue"
p "squeue -j $OKA"
p "squeue -j $OKA,$OKP,$FA,$FP -t all"
p "squeue -j $OKA,$OKP,$FA,$FP -t all -h -o '%i %T %r'"
p "squeue -j $OKA,$OKP,$FA,$FP -t all -h -r -o '%i|%A|%a|%K|%F|%T|%t|%r'"
p "scontrol show job $OKP"
p "scontrol show job $FP"
p "scontrol show job $OKA"
p "scontrol show job ${FA}_1"
p "scontrol -o show job ${FA}_1"
p "sacct -j $OKA"
p "sacct -j $OKA --parsable2"
p "sacct -j $OKA -o JobID,State,ExitCode --noheader"
p "sacct -o JobID,State,NodeList --parsable2 -j $OKA"
p "scancel $OKP"
p "scancel ${FA}_1"

echo "## pending (held) and running"
HA=$(sb --hold -J q_heldA --array=0-3 ok.sh)
HP=$(sb --hold -J q_heldP ok.sh)
RA=$(sb -J q_runA --array=0-2 slow.sh)
sleep 4
echo "ids: heldA=$HA heldP=$HP runA=$RA"
p "squeue"
p "squeue -u root"
p "squeue -j $HA"
p "squeue -j ${HA}_2"
p "squeue --array -j $HA"
p "squeue -r -j $RA"
p "squeue -h -o '%i %T'"
p "squeue -h -r -o '%i|%A|%a|%K|%F|%T|%t|%r'"
p "squeue --format='%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R'"
p "squeue -o '%all' -j $HP"
p "squeue --json -j $HP | head -c 600"
p "scontrol show job $HP"
p "scontrol show job $HA"
p "scontrol show job ${RA}_0"
p "scontrol show job ${RA}_2"
p "scontrol -o show job $RA"
p "sacct -j $RA"
echo "## hold / release"
p "scontrol release ${HA}_3"
sleep 2
p "squeue -j $HA -t all"
p "scontrol hold ${HA}_3"
p "scontrol hold $HP"
p "scontrol release 999999"
echo "## cancelled"
p "scancel ${RA}_2"
p "scancel $RA"
p "scancel $HA $HP"
sleep 2
p "squeue -j $HA,$HP,$RA -t all"
p "squeue -j $HA,$HP,$RA -t all -h -r -o '%i|%A|%a|%K|%T|%t|%r'"
p "scontrol show job $HP"
p "scontrol show job ${RA}_0"
p "scontrol show job ${HA}"
p "scancel $RA"
echo "## plain running, cancelled"
PR=$(sb -J q_runP slow.sh)
sleep 3
p "squeue -j $PR"
p "squeue -j $PR -h -o '%i|%A|%a|%K|%T|%t|%r|%M|%N'"
p "scontrol show job $PR"
p "scancel $PR"
sleep 2
p "squeue -j $PR -t all -h -o '%i|%T|%r'"

echo "## unknown ids"
p "squeue -j 999999"
p "squeue -h -j 999999"
p "squeue -j 999999 -t all"
p "squeue -j abc"
p "scontrol show job 999999"
p "scancel 999999"
p "scancel 999999_3"
p "sacct -j 999999"

echo "## sbatch"
p "sbatch ok.sh"
p "sbatch --parsable ok.sh"
p "sbatch --parsable --array=0-3 ok.sh"
p "sbatch --test-only ok.sh"
p "sbatch --test-only --array=0-3 ok.sh"
p "sbatch --test-only --parsable ok.sh"
p "sbatch --test-only -c 3 ok.sh"
p "sbatch --hold --parsable ok.sh | xargs scancel"
p "sbatch --wrap 'echo wrapped' -o $W/wrap.out --wait && cat $W/wrap.out"

echo "## srun"
p "srun hostname"
p "srun -n1 sh -c 'echo \$SLURM_JOB_ID \$SLURM_STEP_ID \$SLURM_PROCID'"
p "srun sh -c 'exit 3'"
p "srun --unbuffered --output $W/srun.%j.out echo hi; cat $W/srun.*.out"
cat >steps.sh <<'EOF'
#!/bin/sh
srun sh -c 'echo step $SLURM_JOB_ID.$SLURM_STEP_ID procid=$SLURM_PROCID'
EOF
p "sbatch --wait -o $W/steps.out steps.sh >/dev/null; cat $W/steps.out"

echo "## environment: plain job and array task"
p "sbatch --wait -J envP -o /dev/null env.sh $W/env.plain >/dev/null"
p "sbatch --wait -J envA --array=2-3 -o /dev/null env.sh $W/env.array >/dev/null"
p "grep -E '^(SLURM|ENVIRONMENT)' $W/env.plain"
p "grep -E '^(SLURM|ENVIRONMENT)' $W/env.array"
p "sbatch --wait -J envN --export=NONE -o /dev/null env.sh $W/env.none >/dev/null; grep -vE '^SLURM' $W/env.none"

echo "## array renderings: step, throttle, partly started"
S1=$(sb --hold -J q_step --array=0-9:3 ok.sh)
S2=$(sb --hold -J q_thr --array=2-5%2 ok.sh)
S3=$(sb --hold -J q_list --array=1,4,7 ok.sh)
T=$(sb -J q_part --array=0-4%1 slow.sh)
sleep 3
p "squeue -j $S1,$S2,$S3,$T"
p "squeue -j $S1,$S2,$S3,$T -h -o '%i|%F|%K|%T|%r'"
p "squeue -j $S2 -r -h -o '%i|%F|%K|%T|%r'"
p "scontrol show job $S2 | head -4"
p "scancel $S1 $S2 $S3 $T"
sleep 1
p "squeue -j $S1,$S2,$S3,$T -t all -h -o '%i|%T|%r'"
