"""Property-based: random small tables with awkward column names and values.

Schema inference and validation accept whatever a CSV can hold, and no HTML page
privsynth writes (compare.html, the report's index.html, edvart's eda.html) turns
a name or value from the data into markup: parsed, a page has no event handler,
no javascript: URL, and no <script> but those privsynth writes itself.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privsynth import eda, report
from privsynth.schema import ALL_TYPES, Schema, coerce_frame, infer_schema, restore_dtypes, validate_frame

# Each payload calls pwned(N): the marker that must never be live code.
PAYLOADS = [
    "<img src=x onerror=pwned(1)>",
    "<script>pwned(2)</script>",
    '"><svg onload=pwned(3)>',
    "'><iframe src=javascript:pwned(4)>",
    "</script><script>pwned(5)</script>",
    '<a href="javascript:pwned(6)">x</a>',
    'x" onmouseover="pwned(7)',
    "<style>*{background:url(javascript:pwned(8))}</style>",
    "[link](javascript:pwned(9))",
    "<details open ontoggle=pwned(10)>",
    "<!--<img src=x onerror=pwned(11)>-->",
    "<<b>b</b>img src=x onerror=pwned(12)>",
]
AWKWARD = [
    *PAYLOADS,
    "",
    " ",
    "&amp;",
    "a,b",
    'quote"d',
    "new\nline",
    "tab\tx",
    "ünï©ødé",
    "\u2028",
    "NaN",
    "null",
    "None",
    "0",
    "-1e309",
    "{{7*7}}",
    "${x}",
    "*emph* _u_ `c`",
    "# head",
    "| a | b |",
    "\\",
    "%s%n",
]

names = st.one_of(
    st.sampled_from(AWKWARD), st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
)
labels = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=8))


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(5, 25))
    cols = draw(st.lists(names, min_size=1, max_size=4, unique_by=str))
    data = {}
    for _i, name in enumerate(cols):
        kind = draw(st.sampled_from(["category", "int", "float", "bool"]))
        rows = st.lists
        if kind == "category":
            levels = draw(st.lists(labels, min_size=1, max_size=4, unique=True))
            values: list = draw(rows(st.sampled_from(levels) | st.none(), min_size=n, max_size=n))
            data[name] = pd.Series(values, dtype="object")
        elif kind == "int":
            data[name] = pd.Series(draw(rows(st.integers(-(10**6), 10**6), min_size=n, max_size=n)), dtype="int64")
        elif kind == "float":
            floats = st.floats(width=32, min_value=-1e6, max_value=1e6) | st.just(float("nan"))
            data[name] = pd.Series(draw(rows(floats, min_size=n, max_size=n)), dtype="float64")
        else:
            data[name] = pd.Series(draw(rows(st.booleans(), min_size=n, max_size=n)), dtype="bool")
    return pd.DataFrame(data)


# --- schema inference and validation ------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_schema_inference_and_validation_accept_awkward_tables(df: pd.DataFrame) -> None:
    schema = infer_schema(df)
    assert schema.names == [str(c) for c in df.columns]
    assert all(c["type"] in ALL_TYPES for c in schema)
    # The data satisfies the schema inferred from it, also after a JSON round trip ...
    back = Schema.from_json(schema.to_json())
    assert validate_frame(df, back).n_invalid == 0
    # ... and after travelling as text (how an LLM generator's rows arrive).
    as_text = df.astype(object).where(df.notna(), None).map(lambda v: None if v is None else str(v))
    coerced = coerce_frame(as_text, back)
    assert validate_frame(coerced, back).n_invalid == 0
    restored = restore_dtypes(coerced, back, like=df)
    assert list(restored.columns) == list(df.columns)


# --- HTML pages ------------------------------------------------------------------------


class _Page(HTMLParser):
    """Scripts, event handlers / javascript: URLs, and the text a reader sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.live: list[str] = []
        self.text: list[str] = []
        self._cdata: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            v = (value or "").strip().lower()
            if name.startswith("on"):
                self.live.append(f"<{tag} {name}={value!r}>")
            if v.startswith(("javascript:", "vbscript:")) or (name == "srcdoc" and v):
                self.live.append(f"<{tag} {name}={value!r}>")
        if tag in ("script", "style"):
            self._cdata = tag
            if tag == "script":
                self.scripts.append("")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._cdata:
            self._cdata = None

    def handle_data(self, data: str) -> None:
        if self._cdata == "script":
            self.scripts[-1] += data
        elif self._cdata is None:
            self.text.append(data)


def assert_inert(html: str) -> _Page:
    """No handler, no javascript: URL; a script may mention a payload only as plotly figure data.

    plotly's figure scripts carry the data as JSON with ``<`` escaped (\\u003c), so a
    figure script holds no ``<`` at all; any other script must not contain a payload.
    """
    page = _Page()
    page.feed(html)
    page.close()
    assert page.live == [], page.live[:5]
    for body in page.scripts:
        if "pwned(" in body:
            assert "Plotly.newPlot(" in body and "<" not in body, body[:300]
    return page


def _visible(page: _Page) -> str:
    return " ".join(" ".join(page.text).split())


def _synthetic(df: pd.DataFrame) -> pd.DataFrame:
    return df.sample(frac=1.0, replace=True, random_state=1).reset_index(drop=True)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(df=tables())
def test_compare_page_escapes_names_and_values(df: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "compare.html"
    eda.comparison_page(
        df, _synthetic(df), out, title="t: real vs synthetic", links={"real EDA": "../../data/eda.html"}
    )
    page = assert_inert(out.read_text(encoding="utf-8"))
    text = _visible(page)
    for name in df.columns:  # each column name is in the per-column table, as text
        if name.strip() and name.isprintable():  # pandas writes control characters as escapes
            assert " ".join(str(name).split()) in text, name


def test_report_index_escapes_strings_from_the_results(tmp_path: Path) -> None:
    """The report's free text from results: the mostlyai comparison table (names in the grid are NAME-checked)."""
    results = tmp_path / "results"
    rows = [
        {
            "dataset": "toy",
            "generator": "marginals",
            "setting": f"s{i}",
            "base_setting": f"s{i}",
            "repeat": 1,
            "positive_control": False,
            "rows": 10,
            "epsilon": None,
            "qa_accuracy_overall": 0.9,
        }
        for i in range(2)
    ]
    (results / "toy/mostlyai").mkdir(parents=True)
    pd.DataFrame({"setting": PAYLOADS, "accuracy": [i / 20 for i in range(len(PAYLOADS))]}).to_csv(
        results / "toy/mostlyai/comparison.csv", index=False
    )
    out = results / "report/index.html"
    report.render(pd.DataFrame(rows), results, out, {})
    page = assert_inert(out.read_text(encoding="utf-8"))
    text = _visible(page)
    for p in PAYLOADS:
        assert " ".join(p.split()) in text, p


def test_edvart_report_escapes_names_and_labels(tmp_path: Path, chromium: str) -> None:
    """One edvart report (~30 s: it starts a Jupyter kernel) with every payload in names and labels."""
    rng = np.random.default_rng(0)
    n = 40
    df = pd.DataFrame(
        {
            PAYLOADS[0]: rng.choice(PAYLOADS[1:5], n),
            PAYLOADS[5]: rng.normal(size=n),
            PAYLOADS[6]: rng.choice(PAYLOADS[7:], n),
            PAYLOADS[1]: rng.integers(0, 9, n),
        }
    )
    out = tmp_path / "eda.html"
    sections = ["overview", "univariate", "contingency_tables", "parallel_categories"]
    eda.eda_report(df, out, {"sections": sections, "timeout": 600}, title="hostile")
    html = out.read_text(encoding="utf-8")
    page = assert_inert(html)
    text = _visible(page)
    # The names are there to read (univariate headings, overview tables), not executed.
    for name in (PAYLOADS[0], PAYLOADS[1], PAYLOADS[5]):
        assert name in text, name
    assert eda.remote_references(html) == []
    assert html.count("Plotly.newPlot(") >= 1  # parallel_categories kept its (JSON-escaped) figure
    # Opened in Chromium (scripts run): still no live markup, and edvart's own markup renders.
    from test_eda import assert_structure_renders, open_offline

    dom, _ = open_offline(chromium, out, tmp_path)
    assert_inert(dom)
    assert PAYLOADS[0] in assert_structure_renders(dom, tuple(PAYLOADS[1:]))


def test_sanitizer_lets_edvarts_structure_through_and_nothing_like_it_from_data() -> None:
    anchor = "# Overview<a id='bb0bc239-ebd9-4c86-bbbc-e9adc9c5ce0f'>"
    assert eda.escape_markdown_html(anchor) == '# Overview<a id="bb0bc239-ebd9-4c86-bbbc-e9adc9c5ce0f"></a>'
    assert "<a" not in eda.escape_markdown_html("<a id='x' onclick='pwned(1)'>")
    styler = (
        '<style type="text/css">\n#T_3b6_row0_col2, #T_3b6_row1_col2 {\n  width: 10em;\n}\n</style><table id="T_3b6">'
    )
    assert eda.sanitize_html(styler).startswith("<style>\n#T_3b6_row0_col2")
    scoped = "<style scoped>\n .dataframe tbody tr th:only-of-type {vertical-align: middle;}\n</style>"
    assert (
        eda.sanitize_html(scoped) == "<style>\n .dataframe tbody tr th:only-of-type {vertical-align: middle;}\n</style>"
    )
    # CSS that data could write (another selector, an import, a URL, another attribute) passes neither as CSS nor as markup.
    for css, out in [
        ("<style>body {display: none}</style>", "<style></style>"),
        ("<style>@import 'x';</style>", "<style></style>"),
        ('<style media="x">a{}</style>', '&lt;style media="x"&gt;a{}'),
    ]:
        assert eda.sanitize_html(css) == out


@pytest.mark.parametrize("payload", PAYLOADS)
def test_sanitizer_leaves_no_markup_from_a_payload(payload: str) -> None:
    for fragment in (payload, f"<table><tr><th>{payload}</th><td>{payload}</td></tr></table>", f"<h3>{payload}</h3>"):
        page = assert_inert(eda.sanitize_html(fragment))
        assert page.scripts == []
    md = eda.escape_markdown_html(f"## *{payload} - categorical*")
    assert "<" not in md
