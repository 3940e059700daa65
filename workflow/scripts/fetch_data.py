# Thin entry point: logic in privsynth.jobs.fetch.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from privsynth import jobs  # noqa: E402

jobs.run(snakemake, lambda sm: jobs.fetch(sm.output[0], sm.params.job, sm.params.source))
