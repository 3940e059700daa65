"""A cell fails, a job is killed: every finished result is kept, every failure named.

See docs/failures.md ("A cell fails", "A job is killed").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import AFTER_ONE_CELL, tiny_config
from conftest import planned as _planned
from test_workflow import WDBC

PLUGINS = str(Path(__file__).parent / "plugins")


@pytest.fixture
def plugins(monkeypatch, tmp_path):
    monkeypatch.setenv("PRIVSYNTH_PLUGINS", PLUGINS)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    return scratch


def _config(**explode):
    gens = {**json.loads(json.dumps(WDBC["generators"])), "explode": explode}
    return tiny_config(wdbc={**json.loads(json.dumps(WDBC)), "generators": gens})


def test_one_exploding_cell_keeps_every_other_result(tmp_path, plugins, run_workflow, exploded_run):
    cfg = _config(bad={"message": "kaput"})
    shared_cfg, proc = exploded_run  # this grid run once with --keep-going (a copy; also test_workflow.py's)
    assert cfg == shared_cfg
    assert proc.returncode != 0
    res = tmp_path / "results"
    assert not (res / "summary.csv").exists()  # the full summary needs every cell

    partial = pd.read_csv(res / "partial/summary.csv")
    assert sorted(partial["generator"]) == ["copy", "marginals"]
    assert set(partial["status"]) == {"complete"}
    assert partial["utility_auc"].notna().all()
    assert partial["synth_wall_s"].gt(0).all()  # the finished cells' measured cost
    failed = pd.read_csv(res / "partial/failed.csv")
    assert failed[["generator", "setting", "job", "log", "cause"]].values.tolist() == [
        ["explode", "bad", "synthesize", "results/logs/synthesize/wdbc/explode/bad.log", "explode: kaput"]
    ]
    page = (res / "partial/index.html").read_text()
    assert "Partial results" in page and "2 of 3 cells finished" in page and "explode: kaput" in page
    assert 'data-dataset="wdbc"' in page  # the finished cells' rows
    assert "partial results of the finished cells" in proc.stderr

    # The failed cell is retried, and only it (and what reads it).
    assert _planned(run_workflow(tmp_path, cfg, "-n")) == {"synthesize_plugin": 1, **AFTER_ONE_CELL}
    # Once the full report exists the partial one goes.
    cfg["datasets"]["wdbc"]["generators"].pop("explode")
    run_workflow(tmp_path, cfg)
    assert (res / "report/index.html").is_file() and not (res / "partial").exists()


def test_killed_job_is_named_and_its_scratch_space_cleaned(tmp_path, plugins, run_workflow):
    cfg = _config(oom={"kill": True})
    target = "results/wdbc/explode/oom/metrics.json"  # the killed job is the last one
    proc = run_workflow(tmp_path, cfg, "--cores", "1", target, check=False)
    assert proc.returncode != 0
    log = tmp_path / "results/logs/synthesize/wdbc/explode/oom.log"
    last = log.read_text().strip().splitlines()[-1]
    assert last.startswith("ERROR: killed: the job ended without finishing or writing an error (SIGKILL")
    assert "synthesize_plugin was killed before it finished" in proc.stderr
    failed = pd.read_csv(tmp_path / "results/partial/failed.csv").fillna("")
    assert failed.loc[failed.generator == "explode", "cause"].str.startswith("killed:").tolist() == [True]
    left = list(plugins.iterdir())
    assert len(left) == 1 and left[0].name.startswith("privsynth-job-"), left
    # The generator's own temp dirs (and synthesize's workdir) are inside it.
    assert any(p.name.startswith("privsynth-explode-") for p in left[0].iterdir())

    # The next run retries it (killed again here): its new log says what happened
    # to the previous run, and the dead job's scratch space is gone.
    run_workflow(tmp_path, cfg, "--cores", "1", target, check=False)
    assert "previous run of this job: ERROR: killed:" in log.read_text()
    now = list(plugins.iterdir())
    assert len(now) == 1 and now[0] != left[0]  # only the new run's


# --- unit level ---------------------------------------------------------------------


def test_killed_jobs_are_marked_once_and_live_ones_left_alone(tmp_path):
    import json as json_mod

    from privsynth import runstate

    logs = tmp_path / "logs"
    (logs / "r").mkdir(parents=True)
    host = runstate.hostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for name, pid in (("dead", dead.pid), ("live", live.pid)):
            (logs / f"r/{name}.log").write_text("working\n")
            marker = {"rule": "r", "pid": pid, "host": host, "started": "2026-01-01 00:00:00"}
            runstate.marker_path(logs / f"r/{name}.log").write_text(json_mod.dumps(marker))
        (logs / "r/done.log").write_text("x INFO privsynth: job r finished in 1.0 s\n")  # no marker: ended
        marked = runstate.mark_killed(logs)
        assert [u.log.name for u in marked] == ["dead.log"]
        assert runstate.last_line(logs / "r/dead.log").startswith("ERROR: killed:")
        assert runstate.last_line(logs / "r/live.log") == "working"
        assert runstate.mark_killed(logs) == []  # marked once
        # The job's next run finds its predecessor's marker, and replaces it.
        previous = runstate.job_started(logs / "r/dead.log", "r")
        assert previous is not None and previous.pid == dead.pid
        runstate.job_ended(logs / "r/dead.log")
        assert not runstate.marker_path(logs / "r/dead.log").exists()
    finally:
        live.kill()
        live.wait()


def test_stale_scratch_is_removed_only_when_its_process_is_gone(tmp_path):
    from privsynth import runstate

    host = runstate.hostname()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = tmp_path / f"privsynth-job-{dead.pid}-{host}-abc"
    mine = tmp_path / f"privsynth-job-{os.getpid()}-{host}-def"
    other_host = tmp_path / f"privsynth-job-{dead.pid}-elsewhere-ghi"
    legacy = tmp_path / "privsynth-xyz"
    for d in (gone, mine, other_host, legacy):
        (d / "sub").mkdir(parents=True)
    assert runstate.clean_stale_scratch(tmp_path) == [gone]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (mine, other_host, legacy))


def test_job_scratch_is_the_temp_dir_and_goes_away():
    import tempfile

    from privsynth import runstate

    with runstate.job_scratch() as d:
        assert tempfile.gettempdir() == str(d) and os.environ["TMPDIR"] == str(d)
        inner = Path(tempfile.mkdtemp(prefix="privsynth-"))
        assert inner.parent == d
    assert not d.exists() and not inner.exists()
    assert tempfile.gettempdir() != str(d)


def test_sigint_to_snakemake_keeps_the_jobs_that_finish(tmp_path, plugins, run_workflow):
    """Snakemake alone gets SIGINT while a job runs: the job finishes and is not recomputed."""
    import signal

    from conftest import snakemake_command, snakemake_env, write_config

    cfg = tiny_config(wdbc={**json.loads(json.dumps(WDBC)), "generators": {"sleepy": {"slow": {"seconds": 6}}}})
    cmd = snakemake_command(tmp_path, write_config(tmp_path, cfg))
    env = snakemake_env()
    log = tmp_path / "results/logs/synthesize/wdbc/sleepy/slow.log"
    p = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        for _ in range(600):
            if log.is_file() and "fitting sleepy/slow" in log.read_text():
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the sleepy job never started")
        os.kill(p.pid, signal.SIGINT)  # Snakemake only, not its jobs
        out, _ = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode != 0
    assert "finishing the running jobs so their results are kept" in out
    assert "job synthesize_plugin finished" in log.read_text()
    assert not list((tmp_path / ".snakemake/incomplete").glob("*"))
    # Only what had not started yet is planned.
    assert _planned(run_workflow(tmp_path, cfg, "-n")) == AFTER_ONE_CELL


def test_sigterm_and_sigint_end_the_job_with_an_error_line(tmp_path):
    """A job that is terminated still writes its one ERROR line and removes its marker."""
    script = tmp_path / "job.py"
    log = tmp_path / "job.log"
    script.write_text(
        "import time, types\n"
        "from privsynth import jobs\n"
        f"sm = types.SimpleNamespace(log=[{str(log)!r}], rule='r', wildcards={{}})\n"
        "jobs.run(sm, lambda sm: time.sleep(60))\n"
    )
    import signal

    from privsynth import runstate

    for sig, line in ((signal.SIGTERM, "ERROR: terminated by SIGTERM"), (signal.SIGINT, "ERROR: interrupted (SIGINT)")):
        log.unlink(missing_ok=True)
        p = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE, text=True)
        for _ in range(300):
            if log.is_file() and "started" in log.read_text():
                break
            time.sleep(0.05)
        time.sleep(0.3)
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
        assert p.returncode == 1, err
        assert runstate.last_line(log).startswith(line)
        assert not runstate.marker_path(log).exists()


def test_failed_table_attaches_failures_to_the_cells_they_stopped(tmp_path):
    from privsynth import partial

    res = tmp_path / "results"
    logs = res / "logs"
    for rel, last in [
        ("utility_baseline/a.log", "ERROR: ValueError: window shape cannot be larger than input array shape"),
        ("report_plots/b.log", "ERROR: plot failed"),
        ("synthesize/b/old/gone.log", "ERROR: a cell no longer in the grid"),
        ("synthesize/b/m/x.log", "job synthesize finished in 1 s"),
    ]:
        (logs / rel).parent.mkdir(parents=True, exist_ok=True)
        (logs / rel).write_text(last + "\n")
    for ds, gen, setting in [("a", "m", "x"), ("b", "m", "x")]:
        d = res / ds / gen / setting
        d.mkdir(parents=True)
        meta = {"dataset": ds, "generator": gen, "setting": setting, "seed": 0, "rows": 1}
        (d / "metrics.json").write_text(json.dumps(meta))
        if ds == "b":
            (d / "utility.json").write_text(
                json.dumps({"dataset": ds, "generator": gen, "setting": setting, "utility_auc": 0.5})
            )
    cells = [("a", "m", "x"), ("b", "m", "x")]
    page = partial.write_partial(
        res, cells, qa=False, extras_of=lambda k: [f"results/{k[0]}/{k[1]}/{k[2]}/utility.json"]
    )
    assert page is not None
    failed = pd.read_csv(res / "partial/failed.csv").fillna("")
    assert failed[["dataset", "setting", "job", "cause"]].values.tolist() == [
        ["a", "x", "utility_baseline", "ValueError: window shape cannot be larger than input array shape"],
        ["b", "", "report_plots", "plot failed"],
    ]
    summary = pd.read_csv(res / "partial/summary.csv")
    assert summary.set_index("dataset")["status"].to_dict() == {
        "a": "failed: utility_baseline: ValueError: window shape cannot be larger than input array shape",
        "b": "complete",
    }
