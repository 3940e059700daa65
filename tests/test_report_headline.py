"""The report's headline (one table and one privacy-utility plot per dataset), in headless Chromium at 1280 px."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_report import Page

from privsynth import bracket, report

HOSTILE = '<script>alert("x")</script>&'


def default_run_summary() -> pd.DataFrame:
    """The default run's cells as issue 20 reports them (utility intervals made up around the point values)."""
    rows = [
        # dataset, generator, setting, epsilon, qa accuracy, utility AUC, half-width, one-run ε LB, ceiling
        ("census", "copy", "default", None, 0.938, 0.927, 0.006, 4.70, 4.70),
        ("census", "marginals", "default", None, 0.889, 0.510, 0.015, 0.0, 4.70),
        ("census", "mostlyai", "no_dp", None, 0.928, 0.887, 0.008, 0.0, 4.70),
        ("census", "mostlyai", "no_dp_5_epochs", None, 0.923, 0.874, 0.008, 0.0, 4.70),
        ("census", "mostlyai", "dp_noise1.5", 1.64, 0.589, 0.566, 0.015, 0.0, 4.70),
        ("census", "mostlyai", "dp_noise4.0", 1.19, 0.492, 0.506, 0.015, 0.0, 4.70),
        ("census", "mst", "eps1", 1.0, 0.90, 0.85, 0.01, 0.0, 4.70),
        ("census", "mst", "eps5", 5.0, 0.91, 0.86, 0.01, 0.0, 4.70),
        ("wdbc", "copy", "default", None, 0.99, 0.994, 0.01, 2.35, 2.35),
        ("wdbc", "marginals", "default", None, 0.636, 0.496, 0.30, 0.61, 2.35),
        ("wdbc", "mostlyai", "no_dp", None, 0.628, 0.519, 0.12, 0.0, 2.35),
        ("wdbc", "mostlyai", "dp_eps5", 0.82, 0.615, 0.414, 0.12, 0.0, 2.35),
        ("wdbc", "mst", "eps1", 1.0, 0.70, 0.93, 0.03, np.nan, np.nan),
    ]
    out = []
    for ds, gen, setting, eps, acc, auc, half, lb, ceil in rows:
        out.append(
            {
                "dataset": ds,
                "generator": gen,
                "setting": setting,
                "positive_control": gen == "copy",
                "train_rows": 39074 if ds == "census" else 455,
                "epsilon": eps,
                "delta": 1e-5 if eps else None,
                "qa_accuracy_overall": acc,
                "utility_auc": auc,
                "utility_auc_ci_low": auc - half,
                "utility_auc_ci_high": min(auc + half, 1.0),
                "utility_real_auc": 0.927 if ds == "census" else 0.994,
                "one_run_status": "done" if np.isfinite(lb) else "",
                "one_run_epsilon_lb": lb,
                "one_run_ceiling": ceil,
                "one_run_fit_epsilon": eps,
                "one_run_verdict": f"no leak detected (bound {lb}, ceiling {ceil})",
                "undertrained": setting in ("no_dp_5_epochs", "dp_noise1.5", "dp_noise4.0"),
                "undertrained_reason": "5-epoch cap while the validation loss still fell",
                "dp_check": "agrees" if eps else "n/a",
                "trained_rows": 5000 if gen == "mostlyai" and ds == "census" else None,
            }
        )
    df = pd.DataFrame(out)
    # Shadow-model audit on the controls only, as in the default config.
    df["audit_epsilon_lb_worst"] = np.where(df["generator"].isin(["copy", "marginals"]), 1.5, np.nan)
    df["audit_auc_worst"] = np.where(df["generator"].isin(["copy", "marginals"]), 0.9, np.nan)
    hostile = (df["dataset"] == "wdbc") & (df["setting"] == "dp_eps5")
    df.loc[hostile, "undertrained"] = True
    df.loc[hostile, "undertrained_reason"] = HOSTILE
    df.loc[hostile, "one_run_verdict"] = HOSTILE
    return bracket.add_columns(df)


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def _chromium(chromium: str, page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        *args,
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


# Appended to a copy of the page: the layout numbers a reader's browser would have.
PROBE = """<script>
const d = document.documentElement, b = document.body;
b.setAttribute("data-scroll-width", d.scrollWidth);
b.setAttribute("data-client-width", d.clientWidth);
document.querySelectorAll("table.headline").forEach(t => {
  t.setAttribute("data-right", Math.ceil(t.getBoundingClientRect().right));
  t.setAttribute("data-box", Math.ceil(t.parentElement.getBoundingClientRect().right));
});
</script></body>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("headline")
    df = default_run_summary()
    norm = report.normalise(df)
    plots = {}
    for ds in ("census", "wdbc"):
        plots[ds] = {n: tmp / "plots" / ds / f"{n}.svg" for n in report.PLOT_NAMES}
        report.make_plots(norm, ds, plots[ds])
    out = tmp / "results" / "report" / "index.html"
    report.render(df, tmp / "results", out, plots)
    return out, df


def test_headline_lists_every_cell_with_its_audit_and_bracket(page: tuple[Path, pd.DataFrame]) -> None:
    out, df = page
    html = out.read_text()
    p = Page(html)
    for ds in ("census", "wdbc"):
        rows = p.tables[f"headline-{ds}"]
        want = {f"{g} / {s}" for g, s in df.loc[df["dataset"] == ds, ["generator", "setting"]].to_numpy()}
        assert {r["cells"][1]["text"] for r in rows} == want
        # controls first, numbered as in the plot
        assert [r["cells"][1]["text"] for r in rows[:2]] == ["copy / default", "marginals / default"]
        assert [r["cells"][0]["text"] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    census = {r["cells"][1]["text"]: [c["text"] for c in r["cells"]] for r in p.tables["headline-census"]}
    # one-run is the primary audit (it ran for every cell); the shadow column beside it
    assert census["mostlyai / dp_noise1.5"][3].startswith("0 (no leak detected) [4.70] · one-run")
    assert census["copy / default"][4] == "1.50" and census["mostlyai / no_dp"][4] == "n/a"
    assert census["mostlyai / dp_noise1.5"][2] == "1.64" and census["copy / default"][2] == "no DP"
    # the bracket: the DP cells at the floor are flagged with the reason and their audit labelled uninformative
    flags = census["mostlyai / dp_noise4.0"][8]
    assert "NO BETTER THAN MARGINALS" in flags and "UNDERTRAINED" in flags
    assert "uninformative" in census["mostlyai / dp_noise4.0"][3]
    assert "NO BETTER THAN MARGINALS" not in census["mostlyai / no_dp"][8]
    assert "uninformative" not in census["mostlyai / no_dp"][3]
    assert census["marginals / default"][6].startswith("0.00") and census["copy / default"][6].startswith("1.00")
    assert census["mostlyai / dp_noise1.5"][9] == "agrees"  # dp_check, present in this summary
    flag_row = df[(df.dataset == "census") & (df.setting == "dp_noise4.0")].iloc[0]
    assert flag_row["bracket_flag"].startswith("NO BETTER THAN MARGINALS: undertrained (5-epoch cap")
    assert "capped rows (trained on 5000 of 39074)" in flag_row["bracket_flag"]
    # WDBC's marginals floor is wide (0.30 half-width): no_dp at 0.519 is not above it
    wdbc = {r["cells"][1]["text"]: [c["text"] for c in r["cells"]] for r in p.tables["headline-wdbc"]}
    assert "NO BETTER THAN MARGINALS" in wdbc["mostlyai / no_dp"][8]
    assert wdbc["mst / eps1"][3].startswith("n/a")
    # one plot per dataset in the headline, the full table folded away, no stale sentence
    assert html.count('data-plot="privacy_utility"') == 2
    assert re.search(r'<details class="full" id="full-table">', html)
    assert "replace-one" not in html
    # every value from the data escaped
    assert HOSTILE not in html and "&lt;script&gt;alert(" in html


def test_headline_fits_1280_px_without_horizontal_scroll(
    page: tuple[Path, pd.DataFrame], chromium: str, tmp_path: Path
) -> None:
    out, _ = page
    probe = out.with_name("probe.html")
    probe.write_text(out.read_text().replace("</body>", PROBE, 1))
    dom = _chromium(chromium, probe, tmp_path, "--window-size=1280,900", "--dump-dom").stdout
    body = re.search(r'<body data-scroll-width="(\d+)" data-client-width="(\d+)"', dom)
    assert body, "the probe did not run"
    scroll, client = int(body[1]), int(body[2])
    assert client <= 1280 and scroll <= client, (scroll, client)
    tables = re.findall(
        r'<table class="sortable headline" id="headline-(\w+)" data-right="(\d+)" data-box="(\d+)"', dom
    )
    assert {t[0] for t in tables} == {"census", "wdbc"}
    for name, right, box in tables:
        assert int(right) <= int(box) <= client, (name, right, box, client)
    shot = tmp_path / "headline.png"
    _chromium(chromium, out, tmp_path, "--window-size=1280,2200", f"--screenshot={shot}")
    assert _png_size(shot)[0] == 1280
