"""Print every pyproject extra, comma-separated (tools/install.sh installs them all)."""

import tomllib
from pathlib import Path

extras = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["optional-dependencies"]
print(",".join(extras))
