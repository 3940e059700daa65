import functools
import gzip
import http.server
import shutil
import threading

import pandas as pd
import pytest

from privsynth import datasets
from privsynth.errors import DataError


@pytest.fixture
def http_dir(tmp_path):
    """A directory served on 127.0.0.1 (the download tests need no internet)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_census_local_copy_is_verified_and_complete(census_path):
    src = datasets.resolve_source("census", {"kind": "census", "path": str(census_path)})
    df = datasets.load_raw("census", src)
    assert df.shape == (48842, 15)
    assert list(df.columns) == datasets.CENSUS_COLUMNS


def test_census_checksum_mismatch(tmp_path, census_path):
    bad = tmp_path / "census.csv.gz"
    with gzip.open(census_path, "rt") as fin, gzip.open(bad, "wt") as fout:
        shutil.copyfileobj(fin, fout)  # same rows, different bytes
    src = datasets.resolve_source("census", {"kind": "census", "path": str(bad)})
    with pytest.raises(DataError, match=r"checksum mismatch for census .*datasets\.census\.source\.sha256"):
        datasets.load_raw("census", src)


def test_missing_path_names_the_key(tmp_path):
    with pytest.raises(DataError, match=r"datasets\.census\.source\.path: file not found"):
        datasets.load_raw("census", {"kind": "census", "path": str(tmp_path / "nope.csv.gz"), "sha256": None})


def test_no_network_names_the_key(monkeypatch):
    monkeypatch.delenv(datasets.CENSUS_ENV, raising=False)
    # A closed port on loopback: the same failure as an air-gapped node.
    src = datasets.resolve_source("census", {"kind": "census", "url": "http://127.0.0.1:9/census.csv.gz"})
    with pytest.raises(DataError, match=r"could not download census .* set datasets\.census\.source\.path"):
        datasets.load_raw("census", src)


def test_census_download_is_verified(http_dir, census_path, monkeypatch):
    monkeypatch.delenv(datasets.CENSUS_ENV, raising=False)
    root, base = http_dir
    shutil.copyfile(census_path, root / "census.csv.gz")
    src = datasets.resolve_source("census", {"kind": "census", "url": f"{base}/census.csv.gz"})
    assert datasets.load_raw("census", src).shape == (48842, 15)
    # A download with another checksum: the same message as a local file, with the checksum it has.
    got = datasets.sha256_file(census_path)
    bad = {**src, "sha256": "0" * 64}
    with pytest.raises(DataError) as err:
        datasets.load_raw("census", bad)
    assert str(err.value) == (
        f"checksum mismatch for census from {base}/census.csv.gz: sha256 {got}, expected {'0' * 64} "
        "(datasets.census.source.sha256); the file is corrupt or a different version"
    )
    # A missing file on the server: the status text, and the key to set.
    with pytest.raises(DataError, match=r"could not download census from .*/nope\.csv\.gz \(File not found\); without"):
        datasets.load_raw("census", {**src, "url": f"{base}/nope.csv.gz"})


def test_wdbc_bundled_and_csv_with_wrong_columns(tmp_path):
    df = datasets.load_raw("wdbc", {"kind": "wdbc"})
    assert df.shape == (569, 31)
    csv = tmp_path / "wdbc.csv"
    df.drop(columns=["mean area"]).to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"do not match the wdbc schema \(missing: mean area\)"):
        datasets.load_raw("wdbc", {"kind": "wdbc", "path": str(csv)})


def test_split_is_seeded_and_disjoint():
    raw = pd.DataFrame({"x": range(100)})
    a_train, a_hold = datasets.split(raw, 0.25, seed=7)
    b_train, b_hold = datasets.split(raw, 0.25, seed=7)
    c_train, _ = datasets.split(raw, 0.25, seed=8)
    assert a_train.index.equals(b_train.index) and not a_train.index.equals(c_train.index)
    assert len(a_hold) == 25 and set(a_train.index).isdisjoint(a_hold.index)
    assert a_train.index.name == "row_id"
