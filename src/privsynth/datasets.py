"""Raw data acquisition (census download/verify, WDBC, CSV) and train/holdout split.

Downloads and checksums are pooch's (``pooch.retrieve`` with ``known_hash``,
``pooch.file_hash``); this module maps its exceptions onto one-line DataErrors
that name the key to change.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import logging
import lzma
import os
import re
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import pooch

from .datachecks import check_columns_read, check_finite, check_regular_file, check_sha256_applies
from .errors import ConfigError, DataError, PrivsynthError
from .io import read_json, write_json, write_parquet
from .schema import Schema, identifier_columns, infer_schema, validate_frame
from .utility import check_target

log = logging.getLogger(__name__)

CENSUS_URL = "https://github.com/mostly-ai/public-demo-data/raw/dev/census/census.csv.gz"
CENSUS_SHA256 = "e894df34ea1348ec0b421403bf8f0c7f719da4578222cb733615d091c49dff62"
CENSUS_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]
# Environment variable consulted when a census dataset has no source.path.
CENSUS_ENV = "PRIVSYNTH_CENSUS"
ROW_ID = "row_id"


def wdbc_columns() -> list[str]:
    from sklearn.datasets import load_breast_cancer

    return [*load_breast_cancer().feature_names.tolist(), "target"]


def resolve_source(dataset: str, source: Mapping[str, Any]) -> dict[str, Any]:
    """Fill in defaults for a dataset's ``source`` block (done once, at DAG build)."""
    src = dict(source)
    kind = src["kind"]
    if kind == "census":
        src.setdefault("url", CENSUS_URL)
        src.setdefault("sha256", CENSUS_SHA256)
        if not src.get("path") and os.environ.get(CENSUS_ENV):
            env_path = Path(os.environ[CENSUS_ENV]).expanduser()
            if not env_path.is_file():
                raise ConfigError(
                    f"{CENSUS_ENV}={os.environ[CENSUS_ENV]}: file not found (datasets.{dataset} has no "
                    f"source.path, so privsynth reads the census from that environment variable); point "
                    f"{CENSUS_ENV} at a local census.csv.gz, or unset it to download"
                )
            src["path"] = os.environ[CENSUS_ENV]
    if kind == "csv" and not src.get("path"):
        raise ConfigError(f"datasets.{dataset}.source.path: required for kind 'csv'")
    check_sha256_applies(dataset, src)
    return src


# Where a dataset's bytes come from; not part of its identity (see source_identity).
LOCATION_KEYS = ("path", "url")


def source_identity(dataset: str, source: Mapping[str, Any]) -> dict[str, Any]:
    """What the data *is*, for the rerun decision: its checksum, not where it lives.

    Switching between the URL, ``source.path`` and ``$PRIVSYNTH_CENSUS``, or moving
    the file, leaves this unchanged, so nothing downstream reruns.  Without a
    configured ``sha256`` a local file's checksum is computed here (once per run);
    only a download without a checksum falls back to its address.
    """
    # Everything but the location: how the bytes are read (kind, encoding, columns) is identity too.
    ident: dict[str, Any] = {k: v for k, v in source.items() if k not in LOCATION_KEYS and v is not None}
    sha = source.get("sha256")
    ident["sha256"] = sha.lower() if sha else None
    if ident["sha256"] is None:
        if source.get("path"):
            p = Path(source["path"]).expanduser()
            if p.is_file():
                ident["sha256"] = _sha256_cached(str(p.resolve()), *_stat_key(p))
            else:
                ident["path"] = str(source["path"])  # missing: the job reports it
        elif source["kind"] == "census":
            ident["url"] = source.get("url")
        else:
            ident["builtin"] = "scikit-learn"  # wdbc without a path
    return ident


def _stat_key(p: Path) -> tuple[int, int]:
    st = p.stat()
    return st.st_size, st.st_mtime_ns


def sha256_file(path: str | os.PathLike[str]) -> str:
    return pooch.file_hash(str(path), alg="sha256")


@functools.cache
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def _mismatch(dataset: str, origin: str, got: str, expected: str) -> DataError:
    return DataError(
        f"checksum mismatch for {dataset} from {origin}: sha256 {got}, expected {expected} "
        f"(datasets.{dataset}.source.sha256); the file is corrupt or a different version"
    )


def _verify(path: Path, expected: str | None, dataset: str, origin: str) -> None:
    """A local file against its configured checksum (a download is checked by pooch)."""
    if not expected:
        return
    got = sha256_file(path)
    if got != expected.lower():
        raise _mismatch(dataset, origin, got, expected)


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    # pooch logs every download to stderr on its own logger; privsynth's log line says it once.
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _reason(exc: BaseException) -> str:
    """The root cause of a failed download, as urllib worded it (e.g. ``[Errno 111] Connection refused``)."""
    response = getattr(exc, "response", None)  # requests' HTTPError: the status text, e.g. "Not Found"
    if getattr(response, "reason", None):
        return str(response.reason)
    seen: BaseException | None = exc
    deepest: BaseException = exc
    while seen is not None:
        deepest = seen
        seen = seen.__cause__ or seen.__context__
    return str(deepest)


_GOT_HASH = re.compile(r"but got ([0-9a-fA-F]+)")


def download(
    url: str, sha256: str | None, dataset: str, directory: str | os.PathLike[str], fname: str, timeout: float = 60.0
) -> Path:
    """``pooch.retrieve`` into ``directory/fname``, checked against ``sha256`` (None: unchecked).

    A file already there with the right checksum is not downloaded again.  Failures
    are one-line DataErrors: no connection (set ``source.path``), wrong checksum.
    """
    log.info("downloading %s", url)
    # pooch picks the downloader of other protocols (ftp, ...) itself, and rejects unknown ones.
    http = urlparse(url).scheme.lower() in ("http", "https")
    downloader = pooch.HTTPDownloader(timeout=timeout) if http else None
    try:
        with _quiet_pooch():
            return Path(
                pooch.retrieve(
                    url,
                    known_hash=f"sha256:{sha256.lower()}" if sha256 else None,
                    fname=fname,
                    path=directory,
                    downloader=downloader,
                )
            )
    except ValueError as exc:
        m = _GOT_HASH.search(str(exc))
        if m and sha256:  # pooch deleted the download: the checksum is all that is left of it
            raise _mismatch(dataset, url, m.group(1).lower(), sha256) from None
        reason: str = str(exc)  # e.g. an unsupported URL protocol
    except (OSError, TimeoutError) as exc:  # requests' exceptions are OSErrors
        reason = _reason(exc)
    raise DataError(
        f"could not download {dataset} from {url} ({reason}); without internet access set "
        f"datasets.{dataset}.source.path to a local copy"
        + (f" (or the {CENSUS_ENV} environment variable)" if dataset == "census" else "")
    )


def _check_expected(df: pd.DataFrame, expected: list[str], dataset: str, origin: str) -> None:
    have = list(map(str, df.columns))
    if have != expected:
        missing = [c for c in expected if c not in have]
        extra = [c for c in have if c not in expected]
        detail = []
        if missing:
            detail.append(f"missing: {', '.join(missing)}")
        if extra:
            detail.append(f"unexpected: {', '.join(extra)}")
        if not detail:
            detail.append("same columns in a different order")
        raise DataError(f"columns of {origin} do not match the {dataset} schema ({'; '.join(detail)})")


def _local(path: str, dataset: str) -> Path:
    p = Path(path).expanduser()
    check_regular_file(p, dataset)  # a directory, FIFO or device is named as such
    return p


def read_csv(path: Path, dataset: str, source: Mapping[str, Any], verified: bool = False) -> pd.DataFrame:
    """``pd.read_csv`` with one-line DataErrors that name the file and what to change."""
    encoding = source.get("encoding") or "utf-8"
    try:
        df = pd.read_csv(path, encoding=encoding, sep=source.get("sep") or ",")
        check_columns_read(df, path, dataset, source)
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start : exc.start + 1].hex() if isinstance(exc.object, bytes) else "?"
        raise DataError(
            f"{path}: not {encoding} text (byte 0x{byte}); set "
            f"datasets.{dataset}.source.encoding to the file's encoding (e.g. latin-1 or cp1252)"
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        checksum = (
            f"; its checksum matched datasets.{dataset}.source.sha256, so that checksum is of the damaged file too"
            if verified
            else ""
        )
        raise DataError(
            f"{path}: the compressed file is truncated or corrupt ({' '.join(str(exc).split())}){checksum}; "
            "download a fresh copy"
        ) from None
    except LookupError:
        raise ConfigError(
            f"datasets.{dataset}.source.encoding: unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252)"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; point datasets.{dataset}.source.path at the data") from None
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: not a readable CSV ({' '.join(str(exc).split())})") from None
    if len(df) == 0:
        raise DataError(
            f"{path}: a header ({df.shape[1]} columns) but no data rows; point "
            f"datasets.{dataset}.source.path at a file with data"
        )
    return df


def load_raw(dataset: str, source: Mapping[str, Any]) -> pd.DataFrame:
    """Read one dataset as a DataFrame, verified against its checksum and columns."""
    kind = source["kind"]
    if kind == "census":
        expected_sha = source.get("sha256")
        if source.get("path"):
            p = _local(source["path"], dataset)
            _verify(p, expected_sha, dataset, str(p))
            df = read_csv(p, dataset, source, verified=bool(expected_sha))
            origin = str(p)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                dest = download(source["url"], expected_sha, dataset, tmp, "census.csv.gz")
                df = read_csv(dest, dataset, source, verified=bool(expected_sha))
            origin = source["url"]
        _check_expected(df, CENSUS_COLUMNS, dataset, origin)
        return df
    if kind == "wdbc":
        if source.get("path"):
            p = _local(source["path"], dataset)
            _verify(p, source.get("sha256"), dataset, str(p))
            df = read_csv(p, dataset, source, verified=bool(source.get("sha256")))
            _check_expected(df, wdbc_columns(), dataset, str(p))
            return df
        from sklearn.datasets import load_breast_cancer

        return load_breast_cancer(as_frame=True).frame
    if kind == "csv":
        p = _local(source["path"], dataset)
        _verify(p, source.get("sha256"), dataset, str(p))
        df = read_csv(p, dataset, source, verified=bool(source.get("sha256")))
        if source.get("columns"):
            _check_expected(df, list(source["columns"]), dataset, str(p))
        return df
    raise ConfigError(f"datasets.{dataset}.source.kind: unknown kind {kind!r}")


def split(
    raw: pd.DataFrame, holdout_fraction: float, seed: int, max_rows: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded train/holdout split; the original row number is kept as index ``row_id``."""
    df = raw.reset_index(drop=True)
    df.index.name = ROW_ID
    if max_rows is not None and max_rows < len(df):
        df = df.sample(n=max_rows, random_state=seed).sort_index()
    holdout = df.sample(frac=holdout_fraction, random_state=seed).sort_index()
    train = df.drop(index=holdout.index)
    if len(train) == 0 or len(holdout) == 0:
        raise DataError(
            f"split leaves an empty part ({len(train)} train / {len(holdout)} holdout rows); "
            "change split.holdout_fraction"
        )
    return train, holdout


# --- the data stage's files: fetch_data, prepare_data, and reading what they wrote ---


def fetch(out_raw: str, job: Mapping[str, Any], source: Mapping[str, Any] | None = None) -> None:
    """``job``: the data's identity (config.Grid.fetch_slice); ``source``: where to read it."""
    df = load_raw(job["dataset"], source if source is not None else job["source"])
    log.info("%s: %d rows x %d columns", job["dataset"], len(df), df.shape[1])
    write_parquet(df, out_raw)


def prepare(raw_path: str, out_train: str, out_holdout: str, out_schema: str, job: Mapping[str, Any]) -> None:
    raw = pd.read_parquet(raw_path)
    ds = job["dataset"]
    sch = job.get("schema", {})
    drop = list(sch.get("drop") or [])
    unknown = [c for c in drop if c not in raw.columns]
    if unknown:
        raise ConfigError(
            f"datasets.{ds}.schema.drop: no column {', '.join(map(repr, unknown))} in the data "
            f"(columns are: {', '.join(map(str, raw.columns))})"
        )
    if job.get("target") in drop:
        raise ConfigError(
            f"datasets.{ds}.schema.drop: {job['target']!r} is datasets.{ds}.target; keep it or change the target"
        )
    if drop:
        raw = raw.drop(columns=drop)
        log.info("dropped columns %s (datasets.%s.schema.drop)", drop, ds)
    overrides = sch.get("overrides") or {}
    unknown = [c for c in overrides if c not in raw.columns]
    if unknown:
        raise ConfigError(
            f"datasets.{ds}.schema.overrides: no column {', '.join(map(repr, unknown))} in the data "
            f"(columns are: {', '.join(map(str, raw.columns))})"
        )
    check_finite(raw, ds)
    schema = infer_schema(raw, overrides, sch.get("finite_max_int_levels", 2))
    how = job["split"]
    train, holdout = split(raw, how["holdout_fraction"], how["seed"], job.get("max_rows"))
    # A bad target fails here, before any synthesis, not in the utility jobs at the end.
    check_target(train, job)
    ids = [c for c in identifier_columns(train, schema) if c[0] not in overrides]
    if ids:
        name, distinct, n = ids[0]
        raise DataError(
            f"column {name!r} looks like an identifier ({distinct} distinct values in {n} training rows): "
            f"generators would copy its real values into the synthetic data; remove it with "
            f"datasets.{ds}.schema.drop: [{name}], or keep it as a category with an explicit "
            f"datasets.{ds}.schema.overrides.{name} (e.g. {{type: finite}})"
        )
    check = validate_frame(train, schema)
    if check.n_invalid:
        raise PrivsynthError(
            f"{check.n_invalid} training rows violate the schema after overrides: {check.reasons}; "
            f"fix datasets.{job['dataset']}.schema.overrides"
        )
    log.info("split: %d train / %d holdout rows (seed %d)", len(train), len(holdout), how["seed"])
    write_json(schema.to_json(), out_schema)
    write_parquet(train, out_train, index=True)
    write_parquet(holdout, out_holdout, index=True)


def load_split(path: str | os.PathLike[str]) -> pd.DataFrame:
    return pd.read_parquet(path)


def load_schema(path: str | os.PathLike[str]) -> Schema:
    return Schema.from_json(read_json(path))
