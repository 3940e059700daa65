"""The markers follow from the fixtures (tests/conftest.py), and a test cannot run the workflow without them."""

from __future__ import annotations

from pathlib import Path

import conftest
import pytest


class _Item:
    """What pytest_collection_modifyitems reads of a collected test."""

    def __init__(self, fixtures: list[str], marks: tuple[str, ...] = ()) -> None:
        self.nodeid = "tests/test_x.py::test_x"
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
    conftest.pytest_collection_modifyitems(None, items)
    assert [i.names() for i in items] == [
        set(),
        {"e2e"},
        {"heavy", "chromium", "xdist_group"},
        {"e2e", "heavy", "slurm", "xdist_group"},
    ]
    assert [m.mark.args for m in items[3].marks if m.mark.name == "xdist_group"] == [("slurm",)]


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
