"""The comparison page's plotly figures: overlaid marginals and association matrices side by side."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .stats import association_matrix, bins


def _marginal_traces(r: pd.Series, s: pd.Series, categorical: bool, max_categories: int) -> tuple[list, list]:
    import plotly.graph_objects as go

    if categorical:
        rv = r.astype("object").where(r.notna(), "(missing)").astype(str)
        sv = s.astype("object").where(s.notna(), "(missing)").astype(str)
        pr, ps = rv.value_counts(normalize=True), sv.value_counts(normalize=True)
        cats = list(pr.index[:max_categories])
        other_r, other_s = 1 - pr.reindex(cats, fill_value=0).sum(), 1 - ps.reindex(cats, fill_value=0).sum()
        x = [*cats, *(["(other)"] if len(pr) > max_categories or other_s > 1e-12 else [])]
        yr = [*pr.reindex(cats, fill_value=0), *([other_r] if len(x) > len(cats) else [])]
        ys = [*ps.reindex(cats, fill_value=0), *([other_s] if len(x) > len(cats) else [])]
        return [
            go.Bar(x=x, y=yr, name="real", marker_color="#1f77b4", opacity=0.6, legendgroup="real", showlegend=False),
            go.Bar(
                x=x, y=ys, name="synthetic", marker_color="#ff7f0e", opacity=0.6, legendgroup="syn", showlegend=False
            ),
        ], x
    edges = bins(r)
    centers = (edges[:-1] + edges[1:]) / 2
    hr = np.histogram(np.clip(r.dropna().to_numpy(float), edges[0], edges[-1]), edges)[0] / max(len(r), 1)
    sn = pd.to_numeric(s, errors="coerce").dropna().to_numpy(float)
    hs = np.histogram(np.clip(sn, edges[0], edges[-1]), edges)[0] / max(len(s), 1)
    return [
        go.Scatter(
            x=centers,
            y=hr,
            mode="lines",
            line_shape="hvh",
            name="real",
            line_color="#1f77b4",
            fill="tozeroy",
            legendgroup="real",
            showlegend=False,
        ),
        go.Scatter(
            x=centers,
            y=hs,
            mode="lines",
            line_shape="hvh",
            name="synthetic",
            line_color="#ff7f0e",
            legendgroup="syn",
            showlegend=False,
        ),
    ], []


def marginals_figure(real: pd.DataFrame, syn: pd.DataFrame, summary: pd.DataFrame, max_categories: int = 12) -> Any:
    """All marginals in one grid, real and synthetic overlaid (shares of rows)."""
    from plotly.subplots import make_subplots

    cols = list(real.columns)
    ncols = 4
    nrows = -(-len(cols) // ncols)
    tvd = dict(zip(summary["column"], summary["TVD"], strict=True))
    kind = dict(zip(summary["column"], summary["kind"], strict=True))
    titles = [f"{c} (TVD {tvd[c]:.3f})" for c in cols]
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=titles, vertical_spacing=min(0.3 / max(nrows, 1), 0.08))
    for i, c in enumerate(cols):
        traces, _ = _marginal_traces(real[c], syn[c], kind[c] == "categorical", max_categories)
        for t in traces:
            fig.add_trace(t, row=i // ncols + 1, col=i % ncols + 1)
    fig.data[0].showlegend = True
    fig.data[1].showlegend = True
    # Legend in the top margin (container coordinates), clear of the subplot titles.
    fig.update_layout(
        height=230 * nrows + 100,
        barmode="overlay",
        margin=dict(t=80, l=30, r=10, b=30),
        legend=dict(orientation="h", yref="container", y=0.995, yanchor="top", x=0),
    )
    fig.update_annotations(font_size=11)
    fig.update_xaxes(tickfont_size=9)
    fig.update_yaxes(tickfont_size=9, tickformat=".0%")
    return fig


def correlation_figure(real: pd.DataFrame, syn: pd.DataFrame, kinds: Mapping[str, str]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    mr, ms = association_matrix(real, kinds), association_matrix(syn, kinds)
    cols = list(mr.columns)
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=["real", "synthetic", "|synthetic - real|"],
        horizontal_spacing=0.04,
        shared_yaxes=True,
    )
    for j, (z, scale) in enumerate([(mr, "Blues"), (ms, "Blues"), ((ms - mr).abs(), "Reds")], start=1):
        fig.add_trace(
            go.Heatmap(
                z=z.to_numpy(),
                x=cols,
                y=cols,
                zmin=0,
                zmax=1,
                colorscale=scale,
                showscale=j >= 2,
                colorbar=dict(x=1.0 if j == 3 else 0.64, len=0.9),
                hovertemplate="%{y} / %{x}: %{z:.2f}<extra></extra>",
            ),
            row=1,
            col=j,
        )
    side = max(300, 22 * len(cols))
    fig.update_layout(height=side + 160, margin=dict(t=40, l=10, r=10, b=10))
    fig.update_yaxes(autorange="reversed", tickfont_size=9)
    fig.update_xaxes(tickfont_size=9, tickangle=45)
    return fig
