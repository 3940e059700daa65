#!/usr/bin/env bash
# Run by Snakemake (--use-conda) inside the new eda environment.
# edvart without its dependencies: its plotly<6 pin conflicts with mostlyai-qa
# (plotly>=6); its real dependencies are in eda.yaml.  See envs/eda.yaml.
set -euo pipefail
python -m pip install --no-deps "edvart==4.0.2"
python -c "import edvart, plotly; assert int(plotly.__version__.split('.')[0]) >= 6"
