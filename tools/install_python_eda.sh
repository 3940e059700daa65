#!/usr/bin/env bash
# Install the EDA dependencies into the active Python environment (idempotent).
#
#   tools/install_python_eda.sh            # uses `python -m pip`; PYTHON=... to choose
#
# edvart 4.0.2 pins plotly<6 (and pandas<2.3, scipy<1.17); mostlyai-qa needs
# plotly>=6.  edvart works with plotly 6/7 and pandas 3 (tests/test_eda.py
# renders and opens a report), and with plotly>=6 its figures render without a
# CDN.  So: its real dependencies through the "eda" extra, then edvart with
# --no-deps so pip keeps plotly>=6.  Same steps as envs/eda.yaml +
# envs/eda.post-deploy.sh for --use-conda runs.
set -euo pipefail
PYTHON=${PYTHON:-python}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EDVART=edvart==4.0.2

if ! "$PYTHON" -m pip show edvart 2>/dev/null | grep -qx "Version: ${EDVART#edvart==}"; then
    "$PYTHON" -m pip install --no-deps "$EDVART"
fi
# The extra's requirements (plotly>=6 and edvart's other dependencies) without
# reinstalling privsynth itself.
"$PYTHON" - "$REPO/pyproject.toml" <<'PY' > "${TMPDIR:-/tmp}/privsynth-eda-req.txt"
import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["eda"]))
PY
"$PYTHON" -m pip install -r "${TMPDIR:-/tmp}/privsynth-eda-req.txt"
"$PYTHON" - <<'PY'
from importlib.metadata import version
import edvart, plotly  # noqa: F401 - fails here, not in the first EDA job
major = int(plotly.__version__.split(".")[0])
assert major >= 6, f"plotly {plotly.__version__} < 6: edvart figures would need a CDN; reinstall plotly>=6"
print(f"edvart {version('edvart')} with plotly {plotly.__version__}, pandas {version('pandas')}: ok")
PY
