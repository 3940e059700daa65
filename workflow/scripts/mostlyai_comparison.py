# Thin entry point: logic in privsynth.jobs.mostlyai.comparison_job.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from privsynth import jobs  # noqa: E402
from privsynth.jobs import mostlyai  # noqa: E402

jobs.run(snakemake, mostlyai.comparison_job)
