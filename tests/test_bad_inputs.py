"""Bad inputs, one table row each: the exact one-line message, and nothing left behind.

Config rows run the checks the workflow runs at start-up (common.smk) in-process;
data rows call the job functions with plain paths.  A few rows go through real
Snakemake where the behaviour is Snakemake's: which config files it loaded
(duplicate keys, a --configfile without datasets:) and what a failed job leaves
(its log's last line; nothing marked complete, so the next run redoes the job).
"""

from __future__ import annotations

import copy
import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import REPO, tiny_config, write_config

from privsynth import __main__ as cli
from privsynth import config as config_checks
from privsynth import datasets
from privsynth.audit.shadow.plan import AuditPlan
from privsynth.config import Grid
from privsynth.datasets import CENSUS_ENV, sha256_file
from privsynth.errors import ConfigError, PrivsynthError

SCHEMA = REPO / "config" / "schema.yaml"


def base_config() -> dict[str, Any]:
    return tiny_config(wdbc={"source": {"kind": "wdbc"}, "target": "target", "generators": {"copy": {"default": {}}}})


def check_config(cfg: dict[str, Any], files: list[Path] = ()) -> None:  # type: ignore[assignment]
    """What workflow/rules/common.smk and audit_common.smk do before any job runs."""
    from snakemake.utils import validate

    config_checks.check_config_files(list(files))
    config_checks.check_has_datasets(cfg, list(files))
    config_checks.validate_config(cfg, validate, SCHEMA)
    grid = Grid(cfg, validate)
    AuditPlan(cfg, grid)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(cfg: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        d = cfg
        for p in parents:
            d = d.setdefault(p, {})
        if value is _DELETE:
            del d[last]
        else:
            d[last] = copy.deepcopy(value)

    return mutate


_DELETE = object()
WDBC = "datasets/wdbc"

# --- config (items 10, 11, 12) -----------------------------------------------------------

CONFIG_ROWS = [
    (
        "unknown top-level key",
        _set("bogus", 1),
        "bogus: Additional properties are not allowed ('bogus' was unexpected)",
    ),
    (
        "unknown nested key",
        _set(f"{WDBC}/split", {"holdout": 0.3}),
        "datasets.wdbc.split.holdout: Additional properties are not allowed ('holdout' was unexpected)",
    ),
    ("wrong type", _set("seed", "x"), "seed: 'x' is not of type 'integer'"),
    (
        "out of range",
        _set(f"{WDBC}/split", {"holdout_fraction": 2}),
        "datasets.wdbc.split.holdout_fraction: 2 is greater than or equal to the maximum of 1",
    ),
    ("missing source", _set(f"{WDBC}/source", _DELETE), "datasets.wdbc.source: 'source' is a required property"),
    (
        "unknown source kind",
        _set(f"{WDBC}/source", {"kind": "xls"}),
        "datasets.wdbc.source.kind: 'xls' is not one of ['census', 'wdbc', 'csv']",
    ),
    (
        "bad dataset name",
        _set("datasets/bad name", {"source": {"kind": "wdbc"}}),
        "datasets.bad name: 'bad name' does not match '^[A-Za-z0-9][A-Za-z0-9_.-]*$'",
    ),
    ("no datasets at all", _set("datasets", {}), "datasets: {} should be non-empty"),
    (
        "dataset named like the summary",
        _set("datasets/summary.csv", {"source": {"kind": "wdbc"}}),
        "datasets.summary.csv: the name is reserved (results/summary.csv is the summary table); rename the dataset",
    ),
    (
        "dataset named like the report folder",
        _set("datasets/report", {"source": {"kind": "wdbc"}}),
        "datasets.report: the name is reserved (results/report is the report folder); rename the dataset",
    ),
    (
        "setting named like the mostlyai comparison",
        _set(f"{WDBC}/generators/mostlyai", {"comparison.csv": {}}),
        "datasets.wdbc.generators.mostlyai.comparison.csv: the name is reserved (results/wdbc/mostlyai/comparison.csv "
        "is the mostlyai DP comparison table); rename the setting",
    ),
    (
        "unknown setting key",
        _set(f"{WDBC}/generators/copy/x", {"typo_key": 1}),
        "datasets.wdbc.generators.copy.x.typo_key: Additional properties are not allowed ('typo_key' was unexpected)",
    ),
    (
        "setting value of the wrong type",
        _set(f"{WDBC}/generators/marginals", {"x": {"sample_size": "ten"}}),
        "datasets.wdbc.generators.marginals.x.sample_size: 'ten' is not of type 'integer', 'null'",
    ),
    (
        "noise_multiplier 0",
        _set(f"{WDBC}/generators/mostlyai", {"dp": {"differential_privacy": {"noise_multiplier": 0}}}),
        "datasets.wdbc.generators.mostlyai.dp.differential_privacy.noise_multiplier: 0 is less than or equal to the "
        "minimum of 0",
    ),
    (
        "audit names a missing cell while off",
        _set(f"{WDBC}/audit", {"enabled": False, "generators": ["marginals"]}),
        "datasets.wdbc.audit.generators: 'marginals' is not in datasets.wdbc.generators (copy/default)",
    ),
    (
        "csv without a path",
        _set(f"{WDBC}/source", {"kind": "csv"}),
        "datasets.wdbc.source.path: required for kind 'csv'",
    ),
    (
        "sha256 on the bundled wdbc",
        _set(f"{WDBC}/source", {"kind": "wdbc", "sha256": "0" * 64}),
        "datasets.wdbc.source.sha256: kind wdbc without a path reads scikit-learn's bundled copy, which has no file "
        "to verify; remove sha256, or set source.path to a local CSV to check",
    ),
    (
        "300-character setting name",
        _set(f"{WDBC}/generators/copy", {"s" * 300: {}}),
        "datasets.wdbc.generators.copy.ssssssssssssssssssssssss...: the setting name is 300 characters long; at most "
        "64 (it names a folder under results/): shorten it",
    ),
    (
        "300-character dataset name",
        lambda cfg: cfg["datasets"].update({"d" * 300: cfg["datasets"].pop("wdbc")}),
        "datasets.dddddddddddddddddddddddd...: the dataset name is 300 characters long; at most 64 (it names a folder "
        "under results/): shorten it",
    ),
    (
        "sample_size beyond memory",
        lambda cfg: (_set(f"{WDBC}/generators/copy/big", {"sample_size": 10**8})(cfg), cfg.update(max_memory_gb=8)),
        "datasets.wdbc.generators.copy.big.sample_size: 100,000,000 rows x 31 columns need about 297.6 GB (96 B per "
        "value), more than the 8.0 GB allowed (max_memory_gb to change it); ask for fewer rows",
    ),
    (
        "empty grid",
        _set(f"{WDBC}/generators", {}),
        "datasets.*.generators: no generator settings in any dataset, so there is nothing to run; add one (e.g. "
        "datasets.<name>.generators.marginals: {default: {}})",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), [r[1:] for r in CONFIG_ROWS], ids=[r[0] for r in CONFIG_ROWS])
def test_bad_config_one_line(mutate: Callable[[dict[str, Any]], None], message: str) -> None:
    cfg = base_config()
    mutate(cfg)
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert str(err.value) == message
    assert "\n" not in str(err.value)


def test_unknown_generator_is_named_with_its_key() -> None:
    cfg = base_config()
    _set(f"{WDBC}/generators/nope", {"a": {}})(cfg)
    with pytest.raises(ConfigError, match=r"^datasets\.wdbc\.generators\.nope: unknown generator 'nope' \(available: "):
        check_config(cfg)


def test_census_env_var_pointing_nowhere_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "census.csv.gz"
    monkeypatch.setenv(CENSUS_ENV, str(missing))
    cfg = tiny_config(census={"source": {"kind": "census"}, "generators": {"copy": {"default": {}}}})
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert str(err.value) == (
        f"PRIVSYNTH_CENSUS={missing}: file not found (datasets.census has no source.path, so privsynth reads the "
        "census from that environment variable); point PRIVSYNTH_CENSUS at a local census.csv.gz, or unset it to download"
    )


# --- config files (items 8, 9, 12) --------------------------------------------------------

DUPLICATE = """\
datasets:
  wdbc:
    source: {kind: wdbc}
    generators:
      copy:
        default: {}
      copy:
        other: {}
"""
FILE_ROWS = [
    (
        "duplicate key",
        DUPLICATE,
        "datasets.wdbc.generators.copy: duplicate key in {f} line 7 (first on line 5); YAML would silently keep only "
        "the last one: merge the two or rename one",
    ),
    (
        "duplicate top-level key",
        "seed: 1\ndatasets: {wdbc: {source: {kind: wdbc}}}\nseed: 2\n",
        "seed: duplicate key in {f} line 3 (first on line 1); YAML would silently keep only the last one: merge the two "
        "or rename one",
    ),
    (
        "unclosed flow mapping",
        "datasets:\n  wdbc: {source: {kind: wdbc}\n",
        "{f}:3:1: YAML syntax error: expected ',' or '}}', but got '<stream end>' (while parsing a flow mapping on "
        "line 2); fix the file there",
    ),
    (
        "tab indentation",
        "datasets:\n  wdbc:\n\tsource: {kind: wdbc}\n",
        "{f}:3:1: YAML syntax error: found character '\\t' that cannot start any token; fix the file there",
    ),
    (
        "no datasets in a --configfile",
        "seed: 3\n",
        "datasets: missing in {f}; a --configfile replaces config/config.yaml instead of being merged into it, so it "
        "must list the datasets to run (copy them from config/config.yaml)",
    ),
    ("not a mapping", "- a\n- b\n", "config file {f}: the top level must be a mapping of keys, not list"),
    (
        "python object tag",
        "seed: !!python/object/apply:os.system ['echo pwned']\ndatasets: {wdbc: {source: {kind: wdbc}}}\n",
        "{f}:1:7: YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed: config files hold plain "
        "values (text, numbers, lists, mappings); remove the tag, or quote the value to keep it as text",
    ),
    (
        "setting named yes",
        "datasets:\n  wdbc:\n    source: {kind: wdbc}\n    generators:\n      copy:\n        yes: {}\n",
        "datasets.wdbc.generators.copy.yes: YAML reads the unquoted name yes ({f} line 6) as true/false, not as text; "
        "quote it: 'yes':",
    ),
    (
        "dataset named off",
        "datasets:\n  off: {source: {kind: wdbc}}\n",
        "datasets.off: YAML reads the unquoted name off ({f} line 2) as true/false, not as text; quote it: 'off':",
    ),
    (
        "not UTF-8",
        b"seed: 1\n# caf\xe9\n",
        "config file {f} is not UTF-8 text (byte 0xe9 at offset 13); save it as UTF-8",
    ),
]


@pytest.mark.parametrize(("text", "message"), [r[1:] for r in FILE_ROWS], ids=[r[0] for r in FILE_ROWS])
def test_bad_config_file_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, message: str
) -> None:
    f = tmp_path / "my.yaml"
    f.write_bytes(text if isinstance(text, bytes) else text.encode())
    assert cli.main(["check", str(f)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"invalid config: {message.format(f=f)}"]


def test_yaml_tag_stops_the_snakemake_wrapper_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "evil.yaml"
    f.write_text("datasets: !!python/object/apply:os.system ['touch pwned']\n")
    assert cli.main(["snakemake", "--cores", "1", "--configfile", str(f), "-n"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"invalid config: {f}:1:11: YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed: config "
        "files hold plain values (text, numbers, lists, mappings); remove the tag, or quote the value to keep it as text"
    ]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_missing_config_file_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "typo.yaml"
    assert cli.main(["snakemake", "--cores", "1", "--configfile", str(f), "-n"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"invalid config: config file {f} not found; pass an existing file to --configfile"
    ]


def test_configfile_args_are_found() -> None:
    argv = ["-n", "--configfile", "a.yaml", "b.yaml", "--cores", "2", "--configfile=c.yaml", "--configfiles", "d.yaml"]
    assert cli.configfile_args(argv) == ["a.yaml", "b.yaml", "c.yaml", "d.yaml"]


# --- through Snakemake: what it loaded, and that nothing starts -----------------------------


def _snakemake_config_error(run_workflow, tmp_path: Path, args: list[str]) -> list[str]:
    proc = run_workflow(tmp_path, None, *args, "-n", check=False)
    out = (proc.stdout + proc.stderr).splitlines()
    assert proc.returncode != 0
    assert not (tmp_path / "results").exists()
    assert not list((tmp_path / ".snakemake").glob("metadata/*"))
    return [line for line in out if line.startswith("invalid config: ")]


def test_snakemake_rejects_duplicate_keys_and_a_config_without_datasets(tmp_path: Path, run_workflow) -> None:
    dup = tmp_path / "dup.yaml"
    dup.write_text(DUPLICATE)
    assert _snakemake_config_error(run_workflow, tmp_path, ["--configfile", str(dup)]) == [
        f"invalid config: datasets.wdbc.generators.copy: duplicate key in {dup} line 7 (first on line 5); YAML would "
        "silently keep only the last one: merge the two or rename one"
    ]
    # Item 9: without datasets: the file is not merged into the default grid.
    partial = tmp_path / "partial.yaml"
    partial.write_text("seed: 3\nqa: {enabled: false}\n")
    assert _snakemake_config_error(run_workflow, tmp_path, ["--configfile", str(partial)]) == [
        f"invalid config: datasets: missing in {partial}; a --configfile replaces config/config.yaml instead of being "
        "merged into it, so it must list the datasets to run (copy them from config/config.yaml)"
    ]
    # --config alone (no file) still adjusts the default config: checked with the one dry run of the
    # default grid, test_workflow.py::test_default_config_plans_the_full_grid.


def test_snakemake_schema_error_is_one_short_line(tmp_path: Path, run_workflow) -> None:
    cfg = base_config()
    cfg["bogus"] = 1
    proc = run_workflow(tmp_path, cfg, "-n", check=False)
    out = (proc.stdout + proc.stderr).splitlines()
    assert proc.returncode != 0
    assert "invalid config: bogus: Additional properties are not allowed ('bogus' was unexpected)" in out
    assert len(out) < 10, out  # was the whole schema (650 lines)
    assert not (tmp_path / "results").exists()


def test_snakemake_rejects_a_dataset_named_like_a_pipeline_file(tmp_path: Path, run_workflow) -> None:
    cfg = tiny_config(**{"summary.csv": {"source": {"kind": "wdbc"}, "generators": {"copy": {"default": {}}}}})
    write_config(tmp_path, cfg)
    assert _snakemake_config_error(run_workflow, tmp_path, ["--configfile", str(tmp_path / "config.yaml")]) == [
        "invalid config: datasets.summary.csv: the name is reserved (results/summary.csv is the summary table); "
        "rename the dataset"
    ]


# --- data (items 2, 12): the job fails with one line and writes nothing --------------------


def _csv(tmp: Path, text: str | bytes, name: str = "data.csv") -> Path:
    p = tmp / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return p


def _truncated_gzip(tmp: Path) -> Path:
    p = tmp / "data.csv.gz"
    whole = gzip.compress(("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(2000))).encode())
    p.write_bytes(whole[: len(whole) // 2])
    return p


def _fetch_row(make: Callable[[Path], Path], extra: dict[str, Any] | None = None, checksum: bool = False):
    def run(tmp: Path) -> tuple[Callable[[], None], list[Path], Path]:
        src = make(tmp)
        source = {"kind": "csv", "path": str(src), **(extra or {})}
        if checksum:
            source["sha256"] = sha256_file(src)
        out = tmp / "out" / "raw.parquet"
        return (lambda: datasets.fetch(str(out), {"dataset": "t", "source": source})), [out], src

    return run


def _raw_frame(n: int = 200) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20 + i % 50 for i in range(n)],
            "job": [["a", "b", "c"][i % 3] for i in range(n)],
            "label": [["yes", "no"][i % 2] for i in range(n)],
            "email": [f"person{i}@example.org" for i in range(n)],
            "score": [i / 7 for i in range(n)],
            "const": ["x"] * n,
        }
    )


def _prepare_row(target: str | None, schema: dict[str, Any] | None = None, drop_email: bool = True):
    def run(tmp: Path) -> tuple[Callable[[], None], list[Path], Path]:
        raw = tmp / "raw.parquet"
        _raw_frame().to_parquet(raw)
        sch = copy.deepcopy(schema or {})
        if drop_email:
            sch.setdefault("drop", []).append("email")
        job = {
            "dataset": "t",
            "split": {"holdout_fraction": 0.2, "seed": 42},
            "max_rows": None,
            "schema": sch,
            "target": target,
        }
        outs = [tmp / "out" / n for n in ("train.parquet", "holdout.parquet", "schema.json")]
        return (lambda: datasets.prepare(str(raw), *map(str, outs), job)), outs, raw

    return run


def _prepare_inf(tmp: Path) -> tuple[Callable[[], None], list[Path], Path]:
    run, outs, raw = _prepare_row("label")(tmp)
    df = _raw_frame()
    df.loc[3, "score"] = float("inf")
    df.to_parquet(raw)
    return run, outs, raw


def _fifo(tmp: Path) -> Path:
    import os

    p = tmp / "pipe.csv"
    os.mkfifo(p)
    return p


DATA_ROWS = [
    (
        "semicolon-separated CSV",
        _fetch_row(lambda t: _csv(t, "age;job\n1;a\n2;b\n")),
        "{src}: one column named 'age;job': the file looks separated by ';', not ','; set "
        "datasets.t.source.sep: ';'",
    ),
    (
        "duplicate column names",
        _fetch_row(lambda t: _csv(t, "age,job,age\n1,a,2\n2,b,3\n")),
        "{src}: duplicate column name(s) 'age' in the header; rename them in the file (pandas would silently call the "
        "second one age.1)",
    ),
    (
        "a directory",
        _fetch_row(lambda t: t),
        "datasets.t.source.path: {src} is a directory, not a regular file; point it at the data file",
    ),
    (
        "a FIFO",
        _fetch_row(_fifo),
        "datasets.t.source.path: {src} is a named pipe (FIFO), not a regular file; point it at the data file",
    ),
    (
        "/dev/zero",
        _fetch_row(lambda t: Path("/dev/zero")),
        "datasets.t.source.path: /dev/zero is a device, not a regular file; point it at the data file",
    ),
    (
        "infinite values",
        _prepare_inf,
        "column 'score': 1 infinite values (inf or -inf) in the data; privsynth needs finite numbers: replace them in "
        "the source file (e.g. by empty cells, read as missing), or remove the column with datasets.t.schema.drop: "
        "[score]",
    ),
    (
        "non-UTF-8 CSV",
        _fetch_row(lambda t: _csv(t, b"name,n\nJos\xe9,1\n")),
        "{src}: not utf-8 text (byte 0xe9); set datasets.t.source.encoding to the file's encoding "
        "(e.g. latin-1 or cp1252)",
    ),
    (
        "unknown encoding",
        _fetch_row(lambda t: _csv(t, "a,b\n1,2\n"), {"encoding": "klingon"}),
        "datasets.t.source.encoding: unknown encoding 'klingon' (e.g. utf-8, latin-1, cp1252)",
    ),
    (
        "truncated gzip, checksum matches",
        _fetch_row(_truncated_gzip, checksum=True),
        "{src}: the compressed file is truncated or corrupt (Compressed file ended before the end-of-stream marker was "
        "reached); its checksum matched datasets.t.source.sha256, so that checksum is of the damaged file too; download "
        "a fresh copy",
    ),
    (
        "header-only CSV",
        _fetch_row(lambda t: _csv(t, "age,job,label\n")),
        "{src}: a header (3 columns) but no data rows; point datasets.t.source.path at a file with data",
    ),
    (
        "empty file",
        _fetch_row(lambda t: _csv(t, "")),
        "{src}: the file is empty; point datasets.t.source.path at the data",
    ),
    (
        "identifier column",
        _prepare_row("label", drop_email=False),
        "column 'email' looks like an identifier (160 distinct values in 160 training rows): generators would copy its "
        "real values into the synthetic data; remove it with datasets.t.schema.drop: [email], or keep it as a category "
        "with an explicit datasets.t.schema.overrides.email (e.g. {{type: finite}})",
    ),
    (
        "drop names a missing column",
        _prepare_row("label", {"drop": ["nope"]}),
        "datasets.t.schema.drop: no column 'nope' in the data (columns are: age, job, label, email, score, const)",
    ),
    (
        "override names a missing column",
        _prepare_row("label", {"overrides": {"nope": {"type": "finite"}}}),
        "datasets.t.schema.overrides: no column 'nope' in the data (columns are: age, job, label, score, const)",
    ),
    (
        "drop removes the target",
        _prepare_row("label", {"drop": ["label"]}),
        "datasets.t.schema.drop: 'label' is datasets.t.target; keep it or change the target",
    ),
    (
        "target absent",
        _prepare_row("income"),
        "datasets.t.target: column 'income' is not in the data (columns: age, job, label, score, const); name one of "
        "them or set it to null",
    ),
    (
        "target has one class",
        _prepare_row("const"),
        "datasets.t.target: 'const' has a single value in the training split; ML utility needs at least two classes: "
        "name another column or set it to null",
    ),
    (
        "target is continuous",
        _prepare_row("score"),
        "datasets.t.target: 'score' has 160 distinct values; ML utility needs a class label (at most 50 classes): name "
        "a label column or set it to null",
    ),
]


@pytest.mark.parametrize(("make", "message"), [r[1:] for r in DATA_ROWS], ids=[r[0] for r in DATA_ROWS])
def test_bad_data_one_line_and_nothing_written(tmp_path: Path, make, message: str) -> None:
    run, outputs, src = make(tmp_path)
    with pytest.raises(PrivsynthError) as err:
        run()
    assert str(err.value) == message.format(src=src)
    assert "\n" not in str(err.value)
    assert not any(p.exists() for p in outputs)
    assert not list(tmp_path.rglob("*.part"))  # no half-written file either


def test_sep_key_reads_a_semicolon_file(tmp_path: Path) -> None:
    src = _csv(tmp_path, "age;job\n1;a\n2;b\n")
    out = tmp_path / "raw.parquet"
    datasets.fetch(str(out), {"dataset": "t", "source": {"kind": "csv", "path": str(src), "sep": ";"}})
    assert pd.read_parquet(out).columns.tolist() == ["age", "job"]


def test_encoding_key_reads_a_latin1_file(tmp_path: Path) -> None:
    src = _csv(tmp_path, "name,n\nJosé,1\nZoë,2\n".encode("latin-1"))
    out = tmp_path / "raw.parquet"
    datasets.fetch(str(out), {"dataset": "t", "source": {"kind": "csv", "path": str(src), "encoding": "latin-1"}})
    assert pd.read_parquet(out)["name"].tolist() == ["José", "Zoë"]


def test_identifier_column_is_accepted_with_an_explicit_override(tmp_path: Path) -> None:
    run, outputs, _ = _prepare_row("label", {"overrides": {"email": {"type": "finite"}}}, drop_email=False)(tmp_path)
    run()
    assert all(p.exists() for p in outputs)


def test_failed_job_logs_the_line_and_is_redone_next_run(tmp_path: Path, run_workflow) -> None:
    """Through Snakemake: fetch succeeds, prepare_data stops on the identifier; the rerun redoes only prepare_data."""
    from conftest import planned as _planned

    csv = tmp_path / "people.csv"
    _raw_frame().to_csv(csv, index=False)
    cfg = tiny_config(
        people={"source": {"kind": "csv", "path": str(csv)}, "target": "label", "generators": {"copy": {"default": {}}}}
    )
    proc = run_workflow(tmp_path, cfg, "--until", "prepare_data", check=False)
    assert proc.returncode != 0
    last = (tmp_path / "results/logs/prepare_data/people.log").read_text().strip().splitlines()[-1]
    assert last == (
        "ERROR: column 'email' looks like an identifier (160 distinct values in 160 training rows): generators would "
        "copy its real values into the synthetic data; remove it with datasets.people.schema.drop: [email], or keep it "
        "as a category with an explicit datasets.people.schema.overrides.email (e.g. {type: finite})"
    )
    assert not list((tmp_path / "results/people/data").glob("train*"))
    assert not list((tmp_path / "results/people/data").glob("schema*"))
    # Nothing marked complete: the next run redoes prepare_data (and keeps the fetched raw data).
    planned = _planned(run_workflow(tmp_path, cfg, "-n", "--until", "prepare_data"))
    assert planned == {"prepare_data": 1}, planned


# --- synthesis contract (issue 23 items 1, 2): controls are checked, the cell's identity is privsynth's --------

HOSTILE = '''\
"""Test double: a plug-in whose behaviour (settings.mode) breaks one rule of the synthesis contract."""
import math

from privsynth.generators.base import Generator


class Hostile(Generator):
    name = "hostile"

    def fit(self, train, schema, settings, seed):
        self.train, self.mode, self.ref = train, settings["mode"], settings.get("ref")

    def sample(self, n):
        if self.mode == "none":
            return None
        if self.mode in ("fake_positive",):
            import pandas as pd
            return pd.read_parquet(self.ref).sample(n=n, replace=True, random_state=0).reset_index(drop=True)
        return self.train.sample(n=n, replace=True, random_state=0).reset_index(drop=True)

    def metrics(self):
        return {
            "identity": {"dataset": "evil", "setting": "hacked", "rows": 999999, "train_rows": "<b>x</b>"},
            "epsilon": {"epsilon": -1},
            "inf": {"epsilon": math.inf},
            "declares_negative": {"negative_control": True},
            "fake_positive": {"positive_control": True},
            "object": {"model": object()},
        }.get(self.mode, {})


GENERATOR = Hostile
'''


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A prepared split (train/holdout/schema) of 200 distinct records, and a plug-in directory."""
    tmp = tmp_path_factory.mktemp("prepared")
    run, outs, _ = _prepare_row("label")(tmp)
    run()
    plugins = tmp / "plugins"
    plugins.mkdir()
    (plugins / "hostile.py").write_text(HOSTILE)
    (plugins / "hostile.yaml").write_text(SCH)
    return {"train": outs[0], "holdout": outs[1], "schema": outs[2], "plugins": plugins}


def _synth(prepared: dict[str, Path], tmp: Path, generator: str, settings: dict[str, Any]) -> tuple[Path, Path]:
    from privsynth.synthesize import synthesize

    out = tmp / "cell"
    syn, met = out / "synthetic.parquet", out / "metrics.json"
    job = {"dataset": "t", "generator": generator, "setting": "s", "settings": settings, "seed": 0}
    synthesize(str(prepared["train"]), str(prepared["schema"]), str(syn), str(met), job)
    return syn, met


def test_negative_control_that_releases_training_rows_is_refused(prepared: dict[str, Path], tmp_path: Path) -> None:
    from privsynth.errors import GeneratorError

    train = prepared["train"]
    with pytest.raises(GeneratorError) as err:
        _synth(prepared, tmp_path, "holdout", {"path": str(train)})
    assert str(err.value) == (
        f"datasets.t.generators.holdout.s: negative control holdout released 160 of 160 rows equal to records of the "
        f"training split {train} (at most 0 expected from identical records of different people); a negative control "
        f"must share no record with training: point datasets.t.generators.holdout.s.path (now {train}) at rows "
        "disjoint from training (e.g. the holdout split)"
    )
    assert not (tmp_path / "cell").exists()  # nothing written: the cell cannot enter the summary


def test_negative_and_positive_controls_that_keep_their_contract_pass(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    from privsynth.io import read_json

    _, met = _synth(prepared, tmp_path / "neg", "holdout", {"path": str(prepared["holdout"])})
    m = read_json(met)
    assert (m["negative_control"], m["control_check"], m["control_rows_in_train"]) == (True, "passed", 0)
    _, met = _synth(prepared, tmp_path / "pos", "copy", {})
    m = read_json(met)
    assert (m["positive_control"], m["control_check"], m["control_rows_in_train"]) == (True, "passed", 160)


def test_census_holdout_passes_the_negative_control_check(census_path: Path) -> None:
    """Identical records of different people (census has some) are not a leak: the natural rate is allowed."""
    from privsynth.contract import check_control

    df = pd.read_csv(census_path).sample(frac=1.0, random_state=0)
    train, holdout = df.iloc[:39000], df.iloc[39000:]
    out = check_control("negative", holdout, train, list(df.columns), "holdout", "w", "train")
    assert 0 < out["control_rows_in_train"] <= out["control_rows_allowed"]
    with pytest.raises(PrivsynthError, match="negative control holdout released 9842 of 9842 rows"):
        check_control("negative", df.iloc[:9842], train.iloc[:20000], list(df.columns), "holdout", "w", "train")


PLUGIN_ROWS = [
    (
        "metrics overwrite the cell identity",
        "identity",
        "hostile: metrics() sets 'dataset', 'rows', 'setting', 'train_rows', reserved for privsynth's cell identity "
        "and timings; rename the key (e.g. hostile_dataset)",
    ),
    ("negative epsilon", "epsilon", "hostile: metrics() epsilon must be a finite number >= 0 or null, got -1"),
    ("infinite epsilon", "inf", "hostile: metrics() epsilon must be a finite number >= 0 or null, got inf"),
    ("not JSON", "object", "hostile: metrics() model is a object, not a JSON value (number, text, list, dict)"),
    ("sample returns None", "none", "hostile: sample() returned NoneType, not a pandas DataFrame"),
    (
        "declares itself a negative control, copies training",
        "declares_negative",
        "datasets.t.generators.hostile.s: negative control hostile released 160 of 160 rows equal to records of the "
        "training split {train} (at most 0 expected from identical records of different people); a negative control "
        "must share no record with training: its generator must not copy training records",
    ),
    (
        "declares itself a positive control, releases other rows",
        "fake_positive",
        "datasets.t.generators.hostile.s: positive control hostile released 0 of 160 rows equal to records of the "
        "training split {train}, covering 0 of its 160 distinct records; a positive control must reproduce the "
        "training split",
    ),
]


@pytest.mark.parametrize(("mode", "message"), [r[1:] for r in PLUGIN_ROWS], ids=[r[0] for r in PLUGIN_ROWS])
def test_plugin_cannot_corrupt_its_cell(
    prepared: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, message: str
) -> None:
    monkeypatch.setenv("PRIVSYNTH_PLUGINS", str(prepared["plugins"]))
    with pytest.raises(PrivsynthError) as err:
        _synth(prepared, tmp_path, "hostile", {"mode": mode, "ref": str(prepared["holdout"])})
    assert str(err.value) == message.format(train=prepared["train"])
    assert not (tmp_path / "cell").exists()


# --- plug-ins load like built-ins (issue 23 defects 3, 4, weak "Plugins"): one line naming the file ------------


def _plugin_dir(tmp: Path, files: dict[str, str]) -> Path:
    d = tmp / "plugins"
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return d


SCH = '$schema: "https://json-schema.org/draft/2020-12/schema"\ntype: object\n'
OK_PLUGIN = "from privsynth.generators.base import Generator\n\nclass G(Generator):\n    name = '{n}'\n\n    def fit(self, *a):\n        pass\n\n    def sample(self, n):\n        pass\n\nGENERATOR = G\n"
PLUGIN_LOAD_ROWS = [
    (
        "no schema",
        {"nosch.py": OK_PLUGIN},
        "nosch",
        "{d}/nosch.yaml: not found; generator 'nosch' needs its settings "
        "schema there (a JSON schema in YAML, e.g. '$schema: https://json-schema.org/draft/2020-12/schema' and 'type: "
        "object')",
    ),
    (
        "schema without $schema",
        {"nodollar.py": OK_PLUGIN, "nodollar.yaml": "type: object\n"},
        "nodollar",
        "{d}/nodollar.yaml: generator 'nodollar''s settings schema must be a mapping with a $schema key (e.g. "
        "'$schema: https://json-schema.org/draft/2020-12/schema' and 'type: object')",
    ),
    (
        "invalid schema YAML",
        {"badsch.py": OK_PLUGIN, "badsch.yaml": "type: object\nproperties: {a: [\n"},
        "badsch",
        "{d}/badsch.yaml:3:1: YAML syntax error in generator 'badsch''s settings schema: expected the node content, but "
        "found '<stream end>'",
    ),
    (
        "syntax error",
        {"syn.py": "def fit(:\n", "syn.yaml": SCH},
        "syn",
        "{d}/syn.py:1: syntax error in plug-in generator 'syn': invalid syntax",
    ),
    (
        "import error",
        {"imp.py": "import no_such_module_xyz\n", "imp.yaml": SCH},
        "imp",
        "{d}/imp.py: importing plug-in generator 'imp' failed: ModuleNotFoundError: No module named 'no_such_module_xyz'",
    ),
    (
        "no GENERATOR",
        {"nogen.py": "x = 1\n", "nogen.yaml": SCH},
        "nogen",
        "{d}/nogen.py: generator 'nogen' defines no GENERATOR (its Generator class)",
    ),
    (
        "built-in name",
        {"copy.py": OK_PLUGIN, "copy.yaml": SCH},
        "copy",
        "{d}/copy.py: plug-in generator 'copy' has the name of a built-in or installed generator; rename the plug-in "
        "(its .py and .yaml)",
    ),
    (
        "reserved folder name",
        {"data.py": OK_PLUGIN, "data.yaml": SCH},
        "data",
        "{d}/data.py: plug-in generator name 'data' is reserved (results/<dataset>/data is the prepared data folder); "
        "rename the plug-in (its .py and .yaml)",
    ),
]


@pytest.mark.parametrize(
    ("files", "gen", "message"), [r[1:] for r in PLUGIN_LOAD_ROWS], ids=[r[0] for r in PLUGIN_LOAD_ROWS]
)
def test_bad_plugin_one_line_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], gen: str, message: str
) -> None:
    d = _plugin_dir(tmp_path, {k: v.replace("{n}", gen) for k, v in files.items()})
    monkeypatch.setenv("PRIVSYNTH_PLUGINS", str(d))
    cfg = base_config()
    cfg["datasets"]["wdbc"]["generators"] = {gen: {"default": {}}}
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert str(err.value) == message.format(d=d)


def test_missing_plugins_directory_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVSYNTH_PLUGINS", str(tmp_path / "nope"))
    with pytest.raises(ConfigError) as err:
        check_config(base_config())
    assert (
        str(err.value)
        == f"$PRIVSYNTH_PLUGINS: plug-in directory {tmp_path / 'nope'} not found; fix or unset the variable"
    )


# --- bounded work (issue 23 item 4): a hung job ends with an ERROR line -------------------------------------------


def test_job_timeout_ends_a_hung_job_with_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time
    import types

    from privsynth.jobs import run

    log = tmp_path / "logs" / "synthesize_plugin.log"
    cfg = {"job_timeout": {"default": 1440, "rules": {"synthesize_plugin": 0.01}}}  # 0.6 s
    sm = types.SimpleNamespace(log=[str(log)], rule="synthesize_plugin", wildcards={}, config=cfg)
    t0 = time.perf_counter()
    with pytest.raises(SystemExit):
        run(sm, lambda _: time.sleep(60))  # a generator that hangs
    assert time.perf_counter() - t0 < 10
    line = "ERROR: the job ran longer than job_timeout.rules.synthesize_plugin = 0.01 min and was stopped; raise it "
    line += "(job_timeout.rules.synthesize_plugin sets this rule's limit) if the job needs more time, or see in this "
    line += "log where it hung"
    assert log.read_text().splitlines()[-1] == line
    assert capsys.readouterr().err.splitlines()[-1] == f"[synthesize_plugin] {line}"
    # The alarm is gone afterwards: a finished job leaves nothing armed.
    import signal

    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# --- locks (issue 23 item 6): a lock no live Snakemake holds is named, with the fix -----------------------------


def test_stale_lock_is_named_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from privsynth import locks

    work = tmp_path / "work"
    (work / ".snakemake" / "locks").mkdir(parents=True)
    (work / ".snakemake" / "locks" / "0.input.lock").write_text("x\n")  # left by a SIGKILLed Snakemake
    cfg = write_config(tmp_path, base_config())
    assert cli.main(["snakemake", "--cores", "1", "-d", str(work), "--configfile", str(cfg)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"stale lock: {work}/.snakemake/locks holds 1 lock file(s) but no Snakemake is running in {work} (a killed "
        "run left them); clear them with `snakemake --unlock` plus the same -d/--configfile arguments (or delete that "
        "folder), then rerun"
    ]
    assert (work / ".snakemake" / "locks" / "0.input.lock").exists()  # nothing removed behind the user's back
    # A live Snakemake in that directory holds the lock: not stale (Snakemake then says it is locked).
    fake = tmp_path / "proc" / "4242"
    fake.mkdir(parents=True)
    (fake / "cmdline").write_bytes(b"\0".join([b"/usr/bin/python3", b"-m", b"snakemake", b"-d", str(work).encode()]))
    (fake / "cwd").symlink_to(tmp_path)
    argv = ["--cores", "1", "-d", str(work)]
    assert locks.stale_lock_message(argv, tmp_path, proc=tmp_path / "proc") is None
    assert locks.stale_lock_message(argv, tmp_path, proc=tmp_path / "empty") is not None
    assert locks.stale_lock_message([*argv, "--unlock"], tmp_path, proc=tmp_path / "empty") is None


# --- results checked before they are trusted (issue 23 item 5) -----------------------------------------------


def _results(tmp: Path) -> Path:
    """Two finished cells and a full report, written as jobs write them (with manifests)."""
    from privsynth.io import write_json, write_parquet, write_text, write_with

    res = tmp / "results"
    for s in ("a", "b"):
        cell = res / "t" / "copy" / s
        m = {"dataset": "t", "generator": "copy", "setting": s, "base_setting": s, "repeat": 1}
        write_json({**m, "positive_control": True, "rows": 10, "epsilon": None}, cell / "metrics.json")
        write_parquet(pd.DataFrame({"x": range(10)}), cell / "synthetic.parquet")
    table = pd.DataFrame({"dataset": ["t", "t"], "generator": ["copy"] * 2, "setting": ["a", "b"]})
    write_with(lambda tmp: table.to_csv(tmp, index=False), res / "summary.csv")
    write_text("<html><body><h1>report</h1></body></html>", res / "report" / "index.html")
    return res


def test_a_truncated_intermediate_is_named_before_it_is_read(tmp_path: Path) -> None:
    from privsynth import manifest
    from privsynth.io import read_json

    res = _results(tmp_path)
    m = res / "t/copy/a/metrics.json"
    assert manifest.sidecar(m).is_file() and manifest.problem(m) is None
    whole = m.read_bytes()
    m.write_bytes(whole[:48])  # truncated, as a full disk or a killed copy leaves it
    with pytest.raises(PrivsynthError) as err:
        manifest.verify([m])
    assert str(err.value) == (
        f"{m}: 48 bytes, {len(whole)} when it was written (truncated or changed); run `python -m privsynth verify "
        "--fix` to recompute it"
    )
    with pytest.raises(PrivsynthError) as err:
        read_json(m)
    assert str(err.value).startswith(f"{m}: not valid JSON (")  # the file's name, not a bare JSONDecodeError
    m.write_bytes(whole.replace(b'"rows": 10', b'"rows": 99'))  # same size, other content
    assert manifest.problem(m) == "changed since it was written (sha256 differs)"


def test_error_hook_names_the_unreadable_file_writes_the_partial_page_and_marks_the_report_stale(
    tmp_path: Path,
) -> None:
    from privsynth import partial

    res = _results(tmp_path)
    m = res / "t/copy/a/metrics.json"
    m.write_bytes(m.read_bytes()[:48])
    out = __import__("io").StringIO()
    cells = [("t", "copy", "a"), ("t", "copy", "b")]
    partial.on_error(res, cells, False, lambda k: [], out=out)
    lines = out.getvalue().splitlines()
    assert not any("could not write partial results" in line for line in lines), lines
    failed = pd.read_csv(res / "partial/failed.csv")
    assert failed["cause"].tolist() == [
        f"not run: missing {res.name}/t/copy/a/metrics.json (unreadable: 48 bytes, {manifest_size(m)} when it was "
        "written (truncated or changed))"
    ]
    summary = pd.read_csv(res / "partial/summary.csv")
    assert summary["setting"].tolist() == ["b"]  # the readable cell is kept
    assert (res / "partial/index.html").is_file()
    page = (res / "report/index.html").read_text()
    assert "STALE: the run of" in page and page.count(partial.STALE_MARK) == 1
    assert f"privsynth: {res / 'report/index.html'} is from an earlier run: marked STALE" in lines
    assert not partial.remove_superseded(res)  # a stale report never supersedes the partial results


def manifest_size(p: Path) -> int:
    import json

    from privsynth import manifest

    return json.loads(manifest.sidecar(p).read_text())["size"]


def test_verify_lists_missing_and_corrupt_outputs_and_fix_reruns_exactly_those(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    import types

    from privsynth import verify
    from privsynth.io import write_json

    res = _results(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert verify.main(["results"]) == 0
    capsys.readouterr()
    (Path("results/t/copy/a/synthetic.parquet")).unlink()  # a deleted intermediate
    m = Path("results/t/copy/a/metrics.json")
    m.write_bytes(m.read_bytes()[:20])
    shutil.rmtree("results/t/copy/b")  # a whole cell folder
    assert verify.main(["results"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"results/t/copy/a/metrics.json: 20 bytes, {manifest_size(res / 't/copy/a/metrics.json')} when it was "
        "written (truncated or changed)",
        "results/t/copy/a/synthetic.parquet: missing (deleted after it was written)",
        "results/t/copy/b/metrics.json: missing (its cell is listed in summary.csv)",
        "results/t/copy/b/synthetic.parquet: missing (its cell is listed in summary.csv)",
        "verify: 4 output(s) cannot be trusted; `python -m privsynth verify --fix` recomputes them",
    ]
    calls: list[list[str]] = []

    def fake_snakemake(cmd: list[str]) -> types.SimpleNamespace:
        calls.append(cmd[3:])
        if "--force" in cmd:  # what the forced jobs would write
            for f in cmd[cmd.index("--force") + 1 :]:
                write_json({"ok": True}, f)
        return types.SimpleNamespace(returncode=0)

    assert verify.main(["--fix", "results", "--", "--cores", "2"], run=fake_snakemake) == 0
    assert calls == [
        [
            "--cores",
            "2",
            "--force",
            "results/t/copy/a/metrics.json",
            "results/t/copy/a/synthetic.parquet",
            "results/t/copy/b/metrics.json",
            "results/t/copy/b/synthetic.parquet",
        ],
        ["--cores", "2"],
    ]


def test_summary_refuses_an_input_that_no_longer_matches_its_manifest(tmp_path: Path) -> None:
    import types

    from privsynth.jobs.summary import summary_job

    res = _results(tmp_path)
    m = res / "t/copy/b/metrics.json"
    m.write_bytes(m.read_bytes()[:30])

    class Input(dict):
        __getattr__ = dict.__getitem__

    out = tmp_path / "new_summary.csv"
    metrics = [str(res / "t/copy/a/metrics.json"), str(m)]
    sm = types.SimpleNamespace(input=Input(metrics=metrics), output=[str(out)])
    with pytest.raises(PrivsynthError) as err:
        summary_job(sm)
    assert str(err.value).startswith(f"{m}: 30 bytes, ")
    assert not out.exists()  # no summary over a corrupt input
