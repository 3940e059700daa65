# Thin entry point: logic in privsynth.jobs.prepare.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from privsynth import jobs  # noqa: E402

jobs.run(
    snakemake,
    lambda sm: jobs.prepare(sm.input[0], sm.output.train, sm.output.holdout, sm.output.schema, sm.params.job),
)
