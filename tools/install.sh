#!/usr/bin/env bash
# Install privsynth with every extra into a virtual environment (default .venv).
# Idempotent; `make install` reruns it only when pyproject.toml or tools/ change.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip

# torch before anything that depends on it: where a local CPU wheel is configured
# (as on our dev/CI machines) pip takes it; otherwise a dependency resolution
# would pull several GB of CUDA packages first.
python -m pip install -q "torch==2.13.0"
# Every extra (one per rule family, see envs/; "test" has pytest, ruff and
# snakefmt), resolved together. The workflow and its scripts import privsynth
# from this install. compat mode puts src/ on sys.path through a .pth file, so
# PYTHONPATH (the tests give their subprocesses the checkout's own src/) wins.
python -m pip install -q --config-settings editable_mode=compat -e ".[$(python tools/extras.py)]"

# mostlyai[local] pulls CUDA builds of torchvision/torchaudio; on CPU torch they
# fail to import and break `transformers` (PreTrainedModel import error).
if python -c "import sys, torch; sys.exit(torch.version.cuda is not None)"; then
    python -m pip uninstall -q -y torchvision torchaudio 2>/dev/null || true
fi

for step in tools/install_python_*.sh; do
    [ -e "$step" ] && bash "$step"
done
echo "privsynth installed in $VENV"
