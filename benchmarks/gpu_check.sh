#!/usr/bin/env bash
# Device check on a GPU machine (under 8 minutes, no internet): see benchmarks/gpu_check.py.
#   bash benchmarks/gpu_check.sh            # GPU
#   bash benchmarks/gpu_check.sh --cpu      # tiny sizes on the CPU (what the test runs)
# Census: export PRIVSYNTH_CENSUS=/path/to/census.csv.gz where ../shared/data has no copy.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
command -v nvidia-smi >/dev/null && nvidia-smi || echo "nvidia-smi: not found"
exec "$PY" benchmarks/gpu_check.py "$@"
