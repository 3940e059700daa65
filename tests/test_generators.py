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
    from pathlib import Path

    monkeypatch.setenv(generators.PLUGINS_ENV, str(Path(__file__).parent / "plugins"))
    assert "explode" in generators.available()
    assert generators.settings_schema("explode").name == "explode.yaml"
    assert generators.load("explode").name == "explode"
