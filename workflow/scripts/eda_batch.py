# Thin entry point: logic in privsynth.jobs.eda.eda_batch_job.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from privsynth.jobs import eda  # noqa: E402

eda.run(snakemake, eda.eda_batch_job)
