# Thin entry point: logic in privsynth.eda.eda_batch_job.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from privsynth import eda, jobs  # noqa: E402

jobs.run(snakemake, eda.eda_batch_job)
