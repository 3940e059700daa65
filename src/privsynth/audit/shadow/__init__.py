"""The shadow-model audit (TAPAS targeted membership inference): plan, stages, report, stats."""
