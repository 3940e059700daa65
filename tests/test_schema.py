import numpy as np
import pandas as pd
import pytest

from privsynth.errors import ConfigError, DataError
from privsynth.schema import Schema, coerce_frame, infer_schema, restore_dtypes, validate_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [25, 40, 61, 33],
            "sex": ["Male", "Female", "Female", "Male"],
            "weight": [60.5, 80.0, 71.2, 90.1],
            "label": [0, 1, 1, 0],
        }
    )


def test_infer_types_and_bounds(frame):
    s = infer_schema(frame)
    assert s.column("age") == {
        "name": "age",
        "type": "countable",
        "representation": "integer",
        "min": 25,
        "max": 61,
        "nullable": False,
    }
    assert s.column("sex")["type"] == "finite"
    assert s.column("sex")["representation"] == ["Female", "Male"]
    assert s.column("weight")["type"] == "real" and s.column("weight")["max"] == 90.1
    # A two-level integer column is a label: finite, values as strings as TAPAS writes them.
    assert s.column("label")["representation"] == ["0", "1"]
    assert s.column("label")["dtype"] == "int64"


def test_overrides_replace_inferred_keys(frame):
    s = infer_schema(
        frame, {"age": {"type": "countable", "min": 17, "max": 90}, "label": {"representation": [0, 1, 2]}}
    )
    assert (s.column("age")["min"], s.column("age")["max"]) == (17, 90)
    assert s.column("label")["representation"] == ["0", "1", "2"]


def test_override_of_unknown_column_names_it(frame):
    with pytest.raises(ConfigError, match="schema_overrides names columns not in the data: nope"):
        infer_schema(frame, {"nope": {"type": "real"}})


def test_validate_flags_each_violation(frame):
    s = infer_schema(frame)
    bad = pd.DataFrame(
        {
            "age": [30, 99, 30.5, 30, 30],
            "sex": ["Male", "Male", "Male", "Other", "Male"],
            "weight": [70.0, 70.0, 70.0, 70.0, np.nan],
            "label": [1, 0, 1, 1, 9],
        }
    )
    v = validate_frame(bad, s)
    assert v.valid.tolist() == [True, False, False, False, False]
    assert v.reasons == {
        "age: above max 61": 1,
        "age: not an integer": 1,
        "sex: value not in categories": 1,
        "weight: missing value": 1,
    }


def test_wrong_columns_are_named(frame):
    s = infer_schema(frame)
    with pytest.raises(DataError, match=r"missing columns: label; unexpected columns: extra"):
        validate_frame(frame.drop(columns="label").assign(extra=1), s)


def test_coerce_text_rows_then_restore_dtypes(frame):
    s = infer_schema(frame)
    text = pd.DataFrame({"age": ["30"], "sex": [" Male"], "weight": ["70.5"], "label": ["1"]})
    rows = coerce_frame(text, s)
    assert validate_frame(rows, s).valid.all()
    out = restore_dtypes(rows, s, like=frame)
    assert out.dtypes.to_dict() == frame.dtypes.to_dict()


def test_json_roundtrip(frame):
    s = infer_schema(frame)
    assert Schema.from_json(s.to_json()).columns == s.columns
    with pytest.raises(DataError, match="unsupported type"):
        Schema.from_json([{"name": "x", "type": "interval", "representation": "number"}])


# --- config defaults (privsynth.defaults): the JSON schemas are their only source --------


def test_config_defaults_are_what_validation_fills():
    """with_defaults fills a config exactly as Snakemake's validate does (nested blocks, $refs)."""
    import copy

    from snakemake.utils import validate

    from privsynth import defaults, generators

    cfg = {
        "datasets": {
            "w": {
                "source": {"kind": "wdbc"},
                "audit": {"n": 50, "targets": {"random": 3}},
                "generators": {"copy": {"a": {}}},
            },
            "c": {"source": {"kind": "census"}, "split": {"seed": 1}},
        },
        "qa": {"enabled": False},
    }
    validated = copy.deepcopy(cfg)
    validate(validated, str(defaults.CONFIG_SCHEMA))
    assert defaults.with_defaults(cfg) == validated
    assert cfg["datasets"]["w"]["audit"] == {"n": 50, "targets": {"random": 3}}  # the input is left alone
    assert defaults.defaults_for("definitions/audit") == validated["datasets"]["c"]["audit"]
    assert "release_is_audit_run" in defaults.properties_of("definitions/one_run_audit")
    # Generator settings schemas work the same way.
    for name in ("great", "mostlyai", "openai"):
        settings = {}
        validate(settings, str(generators.settings_schema(name)))
        assert defaults.defaults_for(schema=generators.settings_schema(name)) == settings, name
