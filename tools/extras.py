"""Print the pyproject extras that install.sh adds beyond workflow/qa/test."""

import tomllib
from pathlib import Path

extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["optional-dependencies"]
print(" ".join(e for e in extras if e not in {"workflow", "qa", "test"}))
