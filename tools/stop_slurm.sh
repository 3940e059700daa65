#!/usr/bin/env bash
# Stop the daemons tools/install_slurm.sh started, by the PIDs it recorded in
# PIDDIR (slurmd first, munged last); daemons it found already running were
# not recorded and are left alone.
# Usage (as root):  tools/stop_slurm.sh [PIDDIR]   (default /run/privsynth-slurm)
set -uo pipefail

PIDDIR=${1:-/run/privsynth-slurm}
status=0
for d in slurmd slurmctld munged; do
    f="$PIDDIR/$d.pid"
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    # Only signal the PID if it still is that daemon (PIDs get reused).
    if kill -0 "$pid" 2>/dev/null && grep -q "$d" "/proc/$pid/comm" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "stop_slurm.sh: $d (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL" >&2
            kill -KILL "$pid" || status=1
        fi
        echo "stopped $d (pid $pid)"
    else
        echo "$d (pid $pid) was no longer running"
    fi
    rm -f "$f"
done
exit $status
