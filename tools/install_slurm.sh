#!/usr/bin/env bash
# Bring up a single-node SLURM "cluster" on this Debian machine for the
# integration test (tests/test_slurm.py): munged + slurmctld + slurmd, one
# node with one fake GPU, partitions "cpu" (default) and "gpu".
#
# Idempotent: installs packages only if missing, rewrites only config files it
# wrote itself, starts only daemons that are not already running.  The PID of
# every daemon it starts is written to $PIDDIR/<daemon>.pid, so that
# tools/stop_slurm.sh $PIDDIR stops exactly those and nothing else.
#
# Usage (as root):  tools/install_slurm.sh [PIDDIR]   (default /run/privsynth-slurm)
set -euo pipefail

PIDDIR=${1:-/run/privsynth-slurm}
MARK="# written by privsynth tools/install_slurm.sh"
STATE=/var/lib/privsynth-slurm        # fake GPU device, spool and state dirs
GPU_TYPE=testgpu                      # tests/test_slurm.py asks for this model

die() { echo "install_slurm.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

# --- packages ----------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    command -v apt-get >/dev/null || die "slurm-wlm and munge are missing and apt-get is not available"
    echo "installing slurm-wlm and munge (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

mkdir -p "$PIDDIR" "$STATE/dev" "$STATE/slurmctld" "$STATE/slurmd" /var/log/slurm /etc/slurm

# --- config ------------------------------------------------------------------
HOST=$(hostname -s)
# CPUs/RealMemory as slurmd sees them; a mismatch would drain the node.
NODE=$(slurmd -C | head -1)
case "$NODE" in NodeName=*) ;; *) die "unexpected 'slurmd -C' output: $NODE" ;; esac

# A GPU gres needs a character device whose name ends in a number; a regular
# file is rejected.  (1,3) is /dev/null's major/minor: harmless to open.
[ -c "$STATE/dev/nvidia0" ] || { rm -f "$STATE/dev/nvidia0"; mknod "$STATE/dev/nvidia0" c 1 3; }

write_conf() {  # write_conf FILE: stdin -> FILE unless FILE exists and is not ours
    local file=$1 tmp
    if [ -e "$file" ] && ! grep -qF "$MARK" "$file"; then
        die "$file exists and was not written by this script; refusing to overwrite a site config"
    fi
    tmp=$(mktemp "$file.XXXX")
    cat >"$tmp"
    mv "$tmp" "$file"
    chmod 644 "$file"
}

# Must be /etc/slurm/slurm.conf: the jobstep executor clears SLURM_CONF before
# its inner srun, so a config elsewhere is not found inside jobs.
write_conf /etc/slurm/slurm.conf <<EOF
$MARK
ClusterName=privsynth
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# No cgroups in containers: track processes by parent PID, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
# Without it each job is given the node's whole memory: jobs run one at a time.
DefMemPerCPU=1000
# No slurmdbd: the executor must poll with squeue, which it does only when
# finished jobs stay visible for >= 3x its initial status interval.
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
GresTypes=gpu
$NODE Gres=gpu:$GPU_TYPE:1 State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$HOST Default=NO MaxTime=INFINITE State=UP
EOF

write_conf /etc/slurm/gres.conf <<EOF
$MARK
AutoDetect=off
NodeName=$HOST Name=gpu Type=$GPU_TYPE File=$STATE/dev/nvidia0
EOF

# --- daemons -----------------------------------------------------------------
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local n=$1 what=$2; shift 2
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
    die "$what did not come up within ${n}s"
}

mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
[ -s /etc/munge/munge.key ] || { mungekey --create --keyfile /etc/munge/munge.key; }
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
if alive /run/munge/munged.pid; then
    echo "munged already running (pid $(cat /run/munge/munged.pid)); leaving it alone"
else
    runuser -u munge -- /usr/sbin/munged
    wait_for 15 munged alive /run/munge/munged.pid
    cp /run/munge/munged.pid "$PIDDIR/munged.pid"
    echo "started munged (pid $(cat "$PIDDIR/munged.pid"))"
fi

if alive /run/slurmctld.pid; then
    echo "slurmctld already running (pid $(cat /run/slurmctld.pid)); reconfiguring"
    scontrol reconfigure || true
else
    slurmctld
    wait_for 30 slurmctld alive /run/slurmctld.pid
    cp /run/slurmctld.pid "$PIDDIR/slurmctld.pid"
    echo "started slurmctld (pid $(cat "$PIDDIR/slurmctld.pid"))"
fi
wait_for 30 "slurmctld (scontrol ping)" scontrol ping

if alive /run/slurmd.pid; then
    echo "slurmd already running (pid $(cat /run/slurmd.pid)); leaving it alone"
else
    slurmd
    wait_for 30 slurmd alive /run/slurmd.pid
    cp /run/slurmd.pid "$PIDDIR/slurmd.pid"
    echo "started slurmd (pid $(cat "$PIDDIR/slurmd.pid"))"
fi

node_ready() { sinfo -h -n "$HOST" -o %T | grep -qE '^(idle|mixed|allocated)'; }
for _ in $(seq 60); do node_ready && break; sleep 1; done
if ! node_ready; then
    # A node left down/drained by an earlier run comes back with resume.
    scontrol update nodename="$HOST" state=resume 2>/dev/null || true
    wait_for 30 "node $HOST (sinfo state idle)" node_ready
fi
sinfo
echo "SLURM is up; daemons started by this run are recorded in $PIDDIR"
