# Thin entry point: logic in privsynth.utility.baseline_job.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from privsynth import jobs, utility  # noqa: E402

jobs.run(snakemake, utility.baseline_job)
