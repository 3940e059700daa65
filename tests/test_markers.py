"""The markers follow from the fixtures (tests/conftest.py), and a test cannot run the workflow without them."""

from __future__ import annotations

import os
from pathlib import Path

import conftest
import pytest


class _Item:
    """What pytest_collection_modifyitems reads of a collected test."""

    def __init__(
        self, fixtures: list[str], marks: tuple[str, ...] = (), nodeid: str = "tests/test_x.py::test_x"
    ) -> None:
        self.nodeid = nodeid
        self.fixturenames = fixtures
        self.marks = [getattr(pytest.mark, m) for m in marks]

    def iter_markers(self):
        return iter(m.mark for m in self.marks)

    def add_marker(self, mark) -> None:
        self.marks.append(getattr(pytest.mark, mark) if isinstance(mark, str) else mark)

    def names(self) -> set[str]:
        return {m.mark.name for m in self.marks}


def test_markers_and_xdist_groups_come_from_the_fixtures() -> None:
    items = [
        _Item(["tmp_path"]),
        _Item(["snakemake_runner", "run_workflow"]),
        _Item(["chromium"]),
        _Item(["slurm_cluster", "run_workflow"]),
    ]
    conftest.pytest_collection_modifyitems(None, list(items))  # (a copy: the hook also reorders)
    assert [i.names() for i in items] == [
        set(),
        {"e2e"},
        {"heavy", "chromium", "xdist_group"},
        {"e2e", "heavy", "slurm", "xdist_group"},
    ]
    assert [m.mark.args for m in items[3].marks if m.mark.name == "xdist_group"] == [("slurm",)]


def test_a_module_fixture_run_keeps_its_tests_on_one_worker() -> None:
    """The code-identity tracer run is set up once: its tests form one xdist group, not one per module half."""
    items = [_Item(["traced", "run_workflow"]), _Item(["traced", "tmp_path"])]
    conftest.pytest_collection_modifyitems(None, items)
    assert [[m.mark.args for m in i.marks if m.mark.name == "xdist_group"] for i in items] == [[("code_identity",)]] * 2


def test_the_longest_work_starts_first_and_groups_stay_together() -> None:
    names = ["unit", "e2e", "chromium_unit", "mostlyai_e2e", "slurm", "chromium_e2e", "heavy_unit"]
    fixtures = [
        ["tmp_path"],
        ["run_workflow"],
        ["chromium"],
        ["mostlyai_engine", "run_workflow"],
        ["slurm_cluster", "run_workflow"],
        ["chromium", "run_workflow"],
        ["mst_engine"],
    ]
    items = [_Item(f, nodeid=n) for n, f in zip(names, fixtures, strict=True)]
    conftest.pytest_collection_modifyitems(None, items)
    # The chromium group starts with its workflow test (rank of heavy + e2e), both of its tests together.
    assert [i.nodeid for i in items] == [
        "slurm",
        "chromium_unit",
        "mostlyai_e2e",
        "chromium_e2e",
        "e2e",
        "heavy_unit",
        "unit",
    ]


def test_a_hand_written_derived_marker_is_refused() -> None:
    with pytest.raises(pytest.UsageError, match=r"marker\(s\) \['e2e'\] are derived from fixtures"):
        conftest.pytest_collection_modifyitems(None, [_Item(["tmp_path"], ("e2e",))])


def test_this_test_is_not_marked(request: pytest.FixtureRequest) -> None:
    assert not conftest.DERIVED & {m.name for m in request.node.iter_markers()}


def test_running_the_workflow_without_the_fixture_fails_the_test(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="without the run_workflow fixture"):
        conftest.run_snakemake(tmp_path, None, "-n")
    assert not (tmp_path / ".snakemake").exists()  # stopped before Snakemake started


def test_a_test_with_the_fixture_is_marked_e2e(request: pytest.FixtureRequest, run_workflow) -> None:
    assert request.node.get_closest_marker("e2e") is not None
    assert run_workflow is conftest.run_snakemake


def test_the_xdist_group_takes_effect(request: pytest.FixtureRequest, chromium: str) -> None:
    """Under `--dist loadgroup` pytest-xdist groups a test by the "@<group>" it appends to the node id:
    if that is missing (pytest-xdist 3.8.0 with pytest >= 9.2), the groups silently do nothing."""
    assert request.node.get_closest_marker("xdist_group").args == ("chromium",)
    if os.environ.get("PYTEST_XDIST_WORKER") and request.config.getvalue("loadgroup"):
        assert request.node.nodeid.endswith("@chromium"), request.node.nodeid
