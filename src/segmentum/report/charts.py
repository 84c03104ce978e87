"""Plotly figures of data the read models (`segmentum.views`) and the analyses computed; shared by the HTML
report and the dashboard. Nothing here reads the store."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from segmentum.i18n import Translator

PALETTE = [
    "#2563eb",
    "#16a34a",
    "#f59e0b",
    "#dc2626",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#ea580c",
    "#475569",
    "#0d9488",
    "#9333ea",
]


def _layout(fig: go.Figure, title: str, t: Translator, height: int = 420) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        font={"family": "system-ui, sans-serif"},
        separators=t.separators,  # 1 234,5 in uk/ru
        meta={"lang": t.lang},  # to_div draws it with the language's toolbar and month names
    )
    return fig


def rfm_heatmap(grid: list[list[int]], t: Translator) -> go.Figure:
    """Customers per (R, F) cell of the RFM grid (`analysis.rfm.rfm_grid`), as a heatmap."""
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            x=[1, 2, 3, 4, 5],
            y=[1, 2, 3, 4, 5],
            colorscale="Blues",
            text=[[str(v) for v in r] for r in grid],
            texttemplate="%{text}",
            hovertemplate="R=%{y} F=%{x}: %{z}<extra></extra>",
        )
    )
    fig.update_xaxes(title=t("Frequency score"), dtick=1)
    fig.update_yaxes(title=t("Recency score"), dtick=1)
    return _layout(fig, t("RFM grid"), t)


def pareto_chart(result: dict[str, Any], t: Translator) -> go.Figure:
    curve = result["curve"]
    fig = go.Figure(
        go.Scatter(
            x=curve["customer_share"],
            y=curve["revenue_share"],
            mode="lines",
            line={"color": PALETTE[0], "width": 3},
            name=t("Pareto curve"),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#94a3b8"}, showlegend=False
        )
    )
    for i, (cls, cut) in enumerate(sorted(result["cuts"].items())):
        fig.add_trace(
            go.Scatter(
                x=[cut["customer_share"]],
                y=[cut["revenue_share"]],
                mode="markers+text",
                text=[cls],
                textposition="bottom right",
                marker={"size": 11, "color": PALETTE[i + 1]},
                name=cls,
            )
        )
    fig.update_xaxes(title=t("Share of customers"), tickformat=".0%")
    fig.update_yaxes(title=t("Share of revenue"), tickformat=".0%")
    return _layout(fig, t("Pareto curve"), t)


def sankey_chart(result: dict[str, Any], t: Translator, order: list[str] | None = None) -> go.Figure:
    """Flows between two runs' segments; nodes in `order` (the definition order; others after, by name), a
    segment in the same colour on both sides, each flow tinted by where it comes from."""
    flows = result["flows"]
    rank = {s: i for i, s in enumerate(order or [])}

    def ordered(values: Any) -> list[str]:
        return sorted(values, key=lambda s: (rank.get(s, len(rank)), s))

    left = ordered(flows["from_segment"].unique())
    right = ordered(flows["to_segment"].unique())
    segmentation = result["segmentation"]
    # built-in segments by their titles, (new) and (gone) in the language
    labels = [t.label(f"{segmentation}.{s}", t.maybe(s)) for s in (*left, *right)]
    index_left = {s: i for i, s in enumerate(left)}
    index_right = {s: len(left) + i for i, s in enumerate(right)}
    every = list(dict.fromkeys([*ordered([*left, *right])]))
    colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(every)}
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 14, "color": [colour[s] for s in (*left, *right)]},
            link={
                "source": [index_left[s] for s in flows["from_segment"]],
                "target": [index_right[s] for s in flows["to_segment"]],
                "value": [int(v) for v in flows["customers"]],
                "color": [colour[s] + "55" for s in flows["from_segment"]],  # translucent: flows cross
            },
        )
    )
    # each run with its as_of: two runs of the same day would show at a glance
    runs = {
        end: f"{result[f'{end}_run']} ({t.date(result[f'{end}_as_of'])})"
        if result.get(f"{end}_as_of") is not None
        else str(result[f"{end}_run"])
        for end in ("from", "to")
    }
    title = f"{t('Migration')}: {result['segmentation']}, {t('from run {a} to run {b}', a=runs['from'], b=runs['to'])}"
    return _layout(fig, title, t, 520)


def clv_histogram(values: pd.Series, t: Translator) -> go.Figure:
    """Predicted 12-month CLV of every customer (`views.models.model_values(ws, "clv", "clv_12m")`)."""
    cap = values.quantile(0.99)
    fig = go.Figure(go.Histogram(x=values.clip(upper=cap), nbinsx=50, marker={"color": PALETTE[1]}))
    fig.update_xaxes(title=t("CLV, next 12 months"))
    fig.update_yaxes(title=t("Customers"))
    return _layout(fig, t("Customer lifetime value"), t)


MAX_DATE_TICKS = 12


def size_over_time(history: pd.DataFrame, t: Translator, title: str | None = None) -> go.Figure:
    """Customers per run of each segment (`views.history.size_history`: one point per as_of), y from 0.

    The x ticks are the runs' own dates: left to Plotly, a date axis labels month starts, so a month-end point
    (31 October, end of day) sat on the "Nov 2026" tick and read as November's.
    """
    fig = go.Figure()
    for i, (name, group) in enumerate(history.groupby("name", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=group["as_of"],
                y=group["customers"],
                mode="lines+markers",
                name=str(name),
                line={"color": PALETTE[i % len(PALETTE)]},
                text=[t.date(v) for v in group["as_of"]],
                hovertemplate="%{text}: %{y}<extra>%{fullData.name}</extra>",
            )
        )
    days = sorted(set(history["as_of"]))
    step = max(1, -(-len(days) // MAX_DATE_TICKS))  # at most MAX_DATE_TICKS labels, the newest always shown
    shown = days[::-1][::step][::-1]
    fig.update_xaxes(tickmode="array", tickvals=shown, ticktext=[t.date(v) for v in shown])
    fig.update_yaxes(title=t("Customers"), rangemode="tozero")
    return _layout(fig, title or t("Size over time"), t)


def to_div(fig: go.Figure, div_id: str) -> str:
    """A figure as an HTML fragment that expects Plotly's JavaScript on the page; in uk/ru with the locale
    (toolbar, month names, separators) registered before it is drawn."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    locale = Translator(meta["lang"]).plotly_locale() if meta.get("lang") else None
    config: dict[str, Any] = {"displaylogo": False}
    prefix = ""
    if locale is not None:
        config["locale"] = locale["name"]
        registered = json.dumps(locale, ensure_ascii=False).replace("</", "<\\/")
        prefix = f"<script>if (window.Plotly) {{ Plotly.register({registered}); }}</script>"
    return prefix + fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=config)
