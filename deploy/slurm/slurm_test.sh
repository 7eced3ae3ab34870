#!/bin/bash
# Slurm end to end on one node: starts munged, slurmctld and slurmd (Debian's slurm-wlm and munge,
# installed by scripts/setup) on 127.0.0.1 with a minimal slurm.conf in a temporary directory,
# submits deploy/slurm/train.sbatch for 2 tasks, waits for it (bounded), checks the bundle it
# wrote (2 ranks, identical weights), and stops the daemons by PID on every exit path.
#
#   deploy/slurm/slurm_test.sh BUILD/vigil [DATA_DIR]
#
# Exit 0: passed; 77: skipped (the reason is printed; only where Slurm cannot start: daemons
# missing, not root, a daemon that does not come up); anything else: failed. Registered with
# ctest as slurm_train (SKIP_RETURN_CODE 77). Installs nothing.
set -uo pipefail

vigil=$(realpath "${1:?usage: slurm_test.sh VIGIL_BINARY [DATA_DIR]}")
here=$(cd "$(dirname "$0")" && pwd)
data=${2:-$here/../../../shared/data}
train_file=$data/nsl-kdd/KDDTrain+_20Percent.txt

skip() { echo "SKIP: $*"; exit 77; }
fail() {
  echo "FAIL: $*"
  [ -n "${jobid:-}" ] && scontrol show job "$jobid" 2>&1
  sinfo -N -l 2>&1
  dump_logs
  exit 1
}

for tool in munged slurmctld slurmd sbatch squeue scontrol sacct; do
  command -v "$tool" >/dev/null || [ "$tool" = sacct ] ||
    skip "$tool not installed (scripts/setup installs slurm-wlm and munge)"
done
[ "$(id -u)" = 0 ] || skip "the test runs slurmd as root (it starts jobs as any user)"
[ -f "$train_file" ] || skip "NSL-KDD not found at $train_file"

tmp=$(mktemp -d /tmp/vigil-slurm.XXXXXX)
chmod 700 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
dump_logs() {
  for f in "$tmp"/*.log "$tmp"/job/*.out; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
  done
}

# munge: a key of our own, run as root (--force) with its socket and state in $tmp.
dd if=/dev/urandom of="$tmp/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge.key"
munged --force --foreground --key-file="$tmp/munge.key" --socket="$tmp/munge.socket" \
  --pid-file="$tmp/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munge.seed" \
  >"$tmp/munged.out.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$tmp/munge.socket" ] && break; sleep 0.1; done
[ -S "$tmp/munge.socket" ] || { dump_logs; skip "munged did not start"; }

node=$(hostname -s)
base=$((20000 + ($$ % 5000) * 2))
mkdir -p "$tmp/state" "$tmp/spool" "$tmp/job"
cat >"$tmp/slurm.conf" <<CONF
ClusterName=vigiltest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge.socket
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
PlugStackConfig=$tmp/plugstack.conf
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
: >"$tmp/plugstack.conf"
export SLURM_CONF=$tmp/slurm.conf

slurmctld -D -i -f "$SLURM_CONF" >"$tmp/slurmctld.out.log" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$tmp/slurmd.out.log" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 100); do
  if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then up=1; break; fi
  sleep 0.2
done
[ "$up" = 1 ] || { dump_logs; skip "slurmctld/slurmd did not bring the node up (see logs above)"; }
echo "slurm up: node $node, slurmctld port $base"

# The job: 2 tasks of deploy/slurm/train.sbatch, one core each, 2 epochs.
out=$tmp/job/model.vigil
jobid=$(cd "$tmp/job" && VIGIL=$vigil TRAIN=$train_file OUT=$out \
  sbatch --parsable --ntasks=2 --cpus-per-task=1 --time=00:05:00 --output="$tmp/job/slurm-%j.out" \
  "$here/train.sbatch" --epochs 2 --seed 5) || fail "sbatch failed"
echo "submitted job $jobid"
state=""
for _ in $(seq ${VIGIL_SLURM_WAIT_HALF_S:-300}); do  # 150 s at most
  state=$(scontrol show job "$jobid" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
  case "$state" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;; esac
  sleep 0.5
done
echo "job $jobid: $state"
cat "$tmp"/job/slurm-*.out
[ "$state" = COMPLETED ] || fail "job $jobid ended $state"
[ -f "$out" ] || fail "no bundle at $out"
log=$(cat "$tmp"/job/slurm-*.out)
n0=$(grep -c 'rank 0 of 2: weights identical' <<<"$log")
n1=$(grep -c 'rank 1 of 2: weights identical' <<<"$log")
[ "$n0" = 1 ] && [ "$n1" = 1 ] || fail "expected one weight check from each of 2 ranks"
d0=$(grep 'rank 0 of 2: weights identical' <<<"$log" | sed 's/.*sha256 \([0-9a-f]*\).*/\1/')
d1=$(grep 'rank 1 of 2: weights identical' <<<"$log" | sed 's/.*sha256 \([0-9a-f]*\).*/\1/')
[ "$d0" = "$d1" ] || fail "ranks ended with different weights: $d0 vs $d1"
grep -q '(slurm)' <<<"$log" || fail "the ranks did not take their rendezvous from Slurm"
"$vigil" inspect "$out" >"$tmp/inspect.txt" 2>&1 || fail "vigil inspect $out: $(cat "$tmp/inspect.txt")"
echo "PASS: Slurm job $jobid trained on 2 tasks and wrote $out (weights sha256 $d0)"
exit 0
