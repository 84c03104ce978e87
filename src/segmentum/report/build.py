"""Build the self-contained HTML report: what changed since the previous run and every segment in definition
order (the lead of the dashboard's overview), RFM grid, Pareto, migration, CLV, segment profiles."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from plotly.offline import get_plotlyjs

from segmentum.analysis import migration, pareto
from segmentum.analysis.profile import describe_feature, profile_order, warm_profiles
from segmentum.analysis.rfm import rfm_grid
from segmentum.errors import NotFoundError
from segmentum.i18n import LANGUAGES, Translator
from segmentum.progress import notify
from segmentum.report import charts
from segmentum.views.changes import RunChanges, run_changes
from segmentum.views.models import model_values

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.progress import Progress
    from segmentum.spec.definitions import Definitions

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("segmentum.report", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
PROFILE_FEATURES = 5  # distinguishing features per segment profile: enough to read, keeps the file small
# the steps `progress` counts: each section, then the page itself
STEPS = ("what changed", "RFM grid", "Pareto curve", "migration", "CLV", "segment profiles", "page")


def build_report(
    ws: Context, *, lang: str = "en", run_id: int | None = None, progress: Progress | None = None
) -> str:
    """The report as one HTML string (no external resources: it opens offline).

    `progress(done, total, label)` is called before each of the `STEPS` and once all are done; computing the
    profiles not stored yet (`warm_profiles`) counts segments in between."""
    t = Translator(lang)

    def step(done: int) -> None:
        label = STEPS[done] if done < len(STEPS) else "report written"
        notify(progress, done, len(STEPS), label)

    step(0)
    try:  # loaded once for the whole report: the overview's catalog and order, and the profiles
        definitions: Definitions | None = ws.definitions()
    except Exception:  # noqa: BLE001 - definitions broken since the run: report what the run holds
        definitions = None
    # the lead, as the dashboard's overview: what changed since the previous run, then every segment in the
    # order of its definition, with readable titles (views.changes, the one home of both)
    changes = run_changes(ws, run_id, definitions=definitions)
    info, sizes = changes.run, changes.segments
    sections: list[dict[str, Any]] = [_changes_section(ws, changes, t), _segments_section(ws, changes, t)]
    step(1)
    grid = rfm_grid(ws, info.run_id)
    if grid is not None:
        rfm = charts.rfm_heatmap(grid, t)
        sections.append(
            {
                "id": "rfm",
                "title": t("RFM grid"),
                "chart": charts.to_div(rfm, "chart-rfm"),
                "note": t("Best customers sit at the top right: bought recently (R 5) and often (F 5)."),
            }
        )
    step(2)
    curve = pareto(ws, run_id=info.run_id)
    note = None
    if curve["top_20_percent_revenue_share"] is not None:
        note = t(
            "Top {share} of customers bring {revenue} of revenue.",
            share=t.percent(0.2, 0),
            revenue=t.percent(curve["top_20_percent_revenue_share"]),
        )
    sections.append(
        {
            "id": "pareto",
            "title": t("Pareto curve"),
            "chart": charts.to_div(charts.pareto_chart(curve, t), "chart-pareto"),
            "note": note,
        }
    )
    segmentations = list(dict.fromkeys(s for s in sizes["segmentation"].dropna()))
    step(3)
    moved = _migration_section(ws, info.run_id, segmentations, t)
    sections.append(moved)
    step(4)
    clv_values = model_values(ws, "clv", "clv_12m")
    clv = charts.clv_histogram(clv_values, t) if clv_values is not None and len(clv_values) else None
    sections.append(
        {
            "id": "clv",
            "title": t("Customer lifetime value"),
            "chart": charts.to_div(clv, "chart-clv") if clv is not None else None,
            "note": None
            if clv is not None
            else t("Fit the CLV model with `segmentum clv` to see this chart."),
        }
    )
    step(5)
    profiles = _profiles(ws, info.run_id, sizes, t, definitions, progress)
    step(6)
    template = _ENV.get_template("report.html")
    page = template.render(
        t=t,
        lang=lang,
        languages=LANGUAGES,
        workspace=ws.config.name,
        run=info,
        sections=sections,
        profiles=profiles,
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        plotly_js=get_plotlyjs(),
        currency=ws.config.currency,
    )
    step(7)
    return page


def write_report(
    ws: Context,
    path: str | Path | None = None,
    *,
    lang: str = "en",
    run_id: int | None = None,
    progress: Progress | None = None,
) -> Path:
    """Write the report (default: report.html in the workspace, report.<lang>.html for other languages)."""
    target = Path(path) if path else ws.root / ("report.html" if lang == "en" else f"report.{lang}.html")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build_report(ws, lang=lang, run_id=run_id, progress=progress), encoding="utf-8")
    return target


def _changes_section(ws: Context, changes: RunChanges, t: Translator) -> dict[str, Any]:
    """What changed since the previous run: the segments that grew or shrank most (with revenue), the
    triggers the run fired, the open tasks and how fresh the data is."""
    money = ws.config.currency
    previous = changes.segments["previous_as_of"].dropna()
    facts = [f"{t('As of')} {t.date(changes.run.as_of)}"]
    if not previous.empty:
        facts.append(f"{t('compared with')} {t.date(previous.max())}")
    facts += [
        f"{t('Data until')} {t.date(changes.data_until)}",
        f"{t('Open tasks')}: {t.number(changes.open_tasks)}",
    ]
    movers = [
        {
            t("Segment"): _segment_title(t, row),
            t("Customers"): t.number(row.customers),
            t("Change"): t.signed(_known(row.change)),
            t("Revenue"): t.money(row.revenue, money),
            t("Revenue change"): t.money(_known(row.revenue_change), money, signed=True),
        }
        for row in changes.movers().itertuples()
    ]
    fired = [
        {
            t("Trigger"): f["trigger"],
            t("Customers"): t.number(f["customers"]),
            t("Actions"): t.number(f["actions"]),
        }
        for f in changes.triggers
    ]
    if movers:
        note = " · ".join(facts)
    elif not previous.empty:
        note = " · ".join([*facts, t("No segment changed size.")])
    else:
        note = " · ".join([*facts, t("This is the first run: the next one shows what changed.")])
    return {
        "id": "changes",
        "title": t("What changed since the previous run"),
        "chart": None,
        "note": note,
        "tables": [(t("Segments that grew or shrank most"), movers)]
        + [(t("Trigger"), fired) if fired else (t("No trigger fired in this run."), [])],
    }


def _segments_section(ws: Context, changes: RunChanges, t: Translator) -> dict[str, Any]:
    """Every segment of the run, by segmentation, in the order of the definitions, with the change columns."""
    money = ws.config.currency
    groups: dict[str, list[dict[str, str]]] = {}
    for row in changes.segments.itertuples():
        group = t.title(row.segmentation) if isinstance(row.segmentation, str) else t("Standalone segments")
        groups.setdefault(group, []).append(
            {
                t("Segment"): t.title(row.name),
                t("Customers"): t.number(row.customers),
                t("Change"): t.signed(_known(row.change)),
                t("Share"): t.percent(row.share),
                t("Revenue"): t.money(row.revenue, money),
                t("Revenue share"): t.percent(_known(row.revenue_share)),
            }
        )
    standalone = t("Standalone segments")
    if standalone in groups:  # after the segmentations, as the dashboard shows them
        groups[standalone] = groups.pop(standalone)
    return {"id": "segments", "title": t("Segments"), "chart": None, "tables": list(groups.items())}


def _segment_title(t: Translator, row: Any) -> str:
    title = t.title(row.name)
    return f"{title} ({t.title(row.segmentation)})" if isinstance(row.segmentation, str) else title


def _known(value: Any) -> Any:
    """None for a missing value (pandas gives NaN for an int column with gaps)."""
    return None if value is None or (isinstance(value, float) and value != value) else value


def _migration_section(ws: Context, run_id: int, segmentations: list[str], t: Translator) -> dict[str, Any]:
    """The Sankey of rfm (else the first segmentation with an earlier run to compare with) between the
    report's run and the default earlier run (`snapshots.migration_pair`, through `analysis.migration`)."""
    section: dict[str, Any] = {"id": "migration", "title": t("Migration"), "chart": None, "note": None}
    if not segmentations:
        section["note"] = t("No data yet")
        return section
    for target in sorted(segmentations, key=lambda s: s != "rfm"):  # rfm first, else in the given order
        try:
            result = migration(ws, target, to_run=run_id)
        except NotFoundError:
            continue
        section["chart"] = charts.to_div(charts.sankey_chart(result, t), "chart-migration")
        return section
    section["note"] = t("A second run is needed for migration.")
    return section


def _profiles(
    ws: Context,
    run_id: int,
    sizes: Any,
    t: Translator,
    definitions: Definitions | None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """A profile of every segment of the run: the user's own definitions first, then the built-ins in the
    order `builtins:` lists them (`profile_order`)."""
    out = []
    names, found = _run_profiles(ws, run_id, sizes, definitions, progress)
    for name in names:
        p = found[name]
        # the stored profile keeps the page's features (`PAGE_TOP`), strongest first: the report shows the first
        distinguishing = p["distinguishing"].head(PROFILE_FEATURES)
        out.append(
            {
                "name": name,
                "description": p["description"],
                "action": p["action"],
                "channel": p["channel"],
                "offer": p["offer"],
                "features": [describe_feature(r, t) for r in distinguishing.to_dict(orient="records")],
                "metrics": [
                    (t("Customers"), t.number(p["size"])),
                    (t("Share"), t.percent(p["share"])),
                    (t("Revenue share"), t.percent(p["revenue_share"])),
                    (t("Average order value"), t.number(p["avg_order_value"], 2)),
                    (t("Orders per customer"), t.number(p["avg_orders"], 1)),
                    (t("Days since last order"), t.number(p["avg_recency_days"])),
                ],
            }
        )
    return out


def _run_profiles(
    ws: Context, run_id: int, sizes: Any, definitions: Definitions | None, progress: Progress | None
) -> tuple[list[str], dict[str, Any]]:
    """(names in report order, profile of each) of a run: the profiles the dashboard's pages read, stored once
    per run (`warm_profiles`: read back while current, the missing ones computed in one pass and stored), so
    a report after `segmentum serve` warmed the run, or in a second language, computes none. A segment the
    pages refuse (e.g. no longer defined) has no profile here either."""
    pairs = zip(sizes["name"], sizes["segmentation"], strict=True)
    wanted = {n: (None if s is None or s != s else s) for n, s in pairs}
    names = profile_order(ws, wanted, definitions)
    found = warm_profiles(ws, run_id, names=names, definitions=definitions, progress=progress)
    return [n for n in names if n in found], found
