#!/usr/bin/env bash
# Debian packages for tests/test_slurm.py (root, idempotent): slurm-wlm, munge.
# Only installs; the test's fixture configures and starts the daemons with
# tools/install_slurm.sh and stops them with tools/stop_slurm.sh.
set -euo pipefail
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    && command -v sbatch >/dev/null; then
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "install_system_slurm.sh: run as root to install slurm-wlm and munge" >&2; exit 1; }
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
