"""The one-run canary audit (Steinke, Nasr & Jagielski, NeurIPS 2023): plan, stages, method,
layout, bounds, fdp, verdict."""
