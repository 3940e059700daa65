from pathlib import Path

import pandas as pd
import pytest

from privsynth import generators
from privsynth.errors import ConfigError
from privsynth.schema import infer_schema, validate_frame


@pytest.fixture
def train():
    return pd.DataFrame({"a": [1, 2, 3, 4, 5] * 20, "b": list("xyzzy") * 20})


def test_registry_finds_baselines_without_importing_others():
    assert {"copy", "marginals"} <= set(generators.available())
    with pytest.raises(ConfigError, match=r"unknown generator 'nope' \(available: .*copy"):
        generators.load("nope")


def test_copy_is_labelled_positive_control_and_copies(train):
    cls = generators.load("copy")
    assert cls.positive_control
    g = cls()
    g.fit(train, infer_schema(train), {}, seed=1)
    out = g.sample(len(train))
    pd.testing.assert_frame_equal(
        out.sort_values(["a", "b"]).reset_index(drop=True), train.sort_values(["a", "b"]).reset_index(drop=True)
    )


def test_marginals_keeps_marginals_and_breaks_joint(train):
    g = generators.load("marginals")()
    assert not g.positive_control
    g.fit(train, infer_schema(train), {}, seed=1)
    out = g.sample(5000)
    assert validate_frame(out, infer_schema(train)).valid.all()
    assert abs(out["b"].eq("z").mean() - 0.4) < 0.03
    # In training a==3 always pairs with b=='z'; independent sampling breaks that.
    assert out.loc[out["a"] == 3, "b"].nunique() == 3


def test_plugin_generators_are_discovered(monkeypatch):
    monkeypatch.setenv(generators.PLUGINS_ENV, str(Path(__file__).parent / "plugins"))
    assert "explode" in generators.available()
    assert generators.settings_schema("explode").name == "explode.yaml"
    assert generators.load("explode").name == "explode"
    assert generators.code_path("explode") == Path(__file__).parent / "plugins" / "explode.py"
    assert "explode" not in generators.builtin()


REPO = Path(__file__).resolve().parents[1]


def test_builtins_are_the_entry_points_of_pyproject():
    """pyproject registers every built-in; each entry point names the module's GENERATOR."""
    import importlib
    import tomllib

    eps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"][generators.ENTRY_POINT_GROUP]
    assert sorted(eps) == sorted(generators._bundled()) == generators.builtin()
    for name, value in eps.items():
        module, _, attr = value.partition(":")
        assert module == f"privsynth.generators.{name}"
        assert getattr(importlib.import_module(module), attr) is generators.load(name)
        assert generators.settings_schema(name) == generators.SCHEMA_DIR / f"{name}.yaml"
        assert generators.code_path(name).stem == name  # great.py, or the package great/


def test_builtins_found_without_entry_point_metadata(monkeypatch):
    # An install older than the entry points (the metadata is read once per process).
    monkeypatch.setattr(generators, "_entry_point_sources", dict)
    generators._installed.cache_clear()
    try:
        assert generators.builtin() == sorted(generators._bundled())
        assert {"copula", "copy", "great", "holdout", "marginals", "mostlyai", "mst", "openai"} <= set(
            generators.builtin()
        )
        assert generators.load("copy").name == "copy"
    finally:
        generators._installed.cache_clear()


def _dist(site: Path, name: str, entry_points: str) -> None:
    info = site / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{generators.ENTRY_POINT_GROUP}]\n{entry_points}\n")


GEN_CODE = """
from privsynth.generators.base import Generator


class {cls}(Generator):
    name = "{name}"

    def fit(self, train, schema, settings, seed):
        self.train = train

    def sample(self, n):
        return self.train.head(n)


GENERATOR = {cls}
"""
SCHEMA = '{"type": "object", "properties": {"sample_size": {"type": ["integer", "null"], "default": null}}}\n'


def test_installed_packages_register_generators(tmp_path, monkeypatch):
    """A module (entry point module:Class) and a package (module alone: its GENERATOR), schema beside the code."""
    (tmp_path / "ps_third_mod.py").write_text(GEN_CODE.format(cls="ModGen", name="modgen"))
    (tmp_path / "modgen.yaml").write_text(SCHEMA)
    pkg = tmp_path / "ps_third_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(GEN_CODE.format(cls="PkgGen", name="pkggen"))
    (pkg / "pkggen.yaml").write_text(SCHEMA)
    _dist(tmp_path, "ps_third", "modgen = ps_third_mod:ModGen\npkggen = ps_third_pkg\ncopy = ps_third_mod:ModGen")
    monkeypatch.syspath_prepend(str(tmp_path))
    generators._installed.cache_clear()
    try:
        assert {"modgen", "pkggen"} <= set(generators.available())
        assert {"modgen", "pkggen"}.isdisjoint(generators.builtin())
        assert generators.load("modgen").__name__ == "ModGen"
        assert generators.load("pkggen").__name__ == "PkgGen"
        assert generators.settings_schema("modgen") == tmp_path / "modgen.yaml"
        assert generators.settings_schema("pkggen") == pkg / "pkggen.yaml"
        assert generators.code_path("modgen") == tmp_path / "ps_third_mod.py"
        assert generators.code_path("pkggen") == pkg
        # A package cannot replace a built-in.
        assert generators.load("copy").__module__ == "privsynth.generators.copy"
    finally:
        generators._installed.cache_clear()
