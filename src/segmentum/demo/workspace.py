"""`segmentum demo`: a ready-to-explore workspace built from the demo business.

Creates the workspace (Europe/Kyiv, UAH, every shipped built-in), writes the example definitions of
DESIGN.md section 5 to `definitions/shop.yml`, generates the data as Parquet, ingests every table, then runs
and reports with whatever this installation offers. A capability that is not available (no run engine, no
report) becomes a note in the summary instead of a failure; errors of capabilities that exist are raised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from segmentum.actions.triggers import run_and_act
from segmentum.config import CONFIG_FILE
from segmentum.context import Context, create_workspace
from segmentum.demo.generator import DEFAULT_END, TABLE_NAMES, DemoError, write_demo_parquet
from segmentum.errors import SegmentumError
from segmentum.ingest.load import ingest
from segmentum.spec.builtins import builtin_names

DEMO_NAME = "demo-shop"
DEMO_TIMEZONE = "Europe/Kyiv"
DEMO_CURRENCY = "UAH"
# customers first so that the others find their customers; orders before order_items so that orders are
# loaded as given rather than derived from the items
INGEST_ORDER = ("customers", "orders", "order_items", "subscriptions", "tickets", "responses", "events")

# DESIGN.md section 5, as written; the trigger keeps its task (webhook and e-mail need outside services)
SHOP_YML = """\
# Example definitions (DESIGN.md section 5). Edit them and run `segmentum run --as-of latest`.
traits:
  revenue_365d:        {sum: orders.amount, within: 365d}        # qualifying orders by default
  orders_total:        {count: orders}
  last_order_at:       {max: orders.ordered_at}
  days_since_order:    {expr: "days_between(last_order_at, as_of)"}
  cart_adds_7d:        {count: events, where: "event = 'cart_add'", within: 7d}
  last_cart_add_at:    {max: events.occurred_at, where: "event = 'cart_add'"}
  orders_prev_90d:     {count: orders, between: [180d, 90d]}     # the 90 days before the last 90
  orders_90d:          {count: orders, within: 90d}
  top_category_365d:   {mode: order_items.category, within: 365d}

segments:                          # standalone segments; a customer may be in several
  big_spenders:
    description: Spent at least 1000 in the last year
    where: "revenue_365d >= 1000"
  cart_abandoners:
    where: "cart_adds_7d > 0 and (last_order_at is null or last_order_at < last_cart_add_at)"
  top_20_percent:
    where: "percent_rank(revenue_365d) >= 0.8"
  slowing_down:
    where: "orders_prev_90d >= 2 and orders_90d <= orders_prev_90d / 2"

segmentations:                     # partitions: every customer in exactly one segment
  value_tier:
    segments:                      # ordered: first match wins
      - {name: vip, where: "revenue_365d >= 5000"}
      - {name: regular, where: "revenue_365d >= 500"}
    else: low

triggers:
  slipping_loyal:
    on: move                       # enter | exit | move
    from: rfm.loyal_customers
    to: rfm.at_risk
    do:
      - task: {title: "Call {{ customer.name }}: orders dropped", assignee: "{{ customer.account_owner }}", due: 3d}
      # - webhook: {url: "https://crm.example.com/hooks/segmentum", secret_env: CRM_HOOK_SECRET}
      # - email: {template: templates/winback.html, subject: "We miss you, {{ customer.name }}"}
"""


@dataclass
class DemoSummary:
    """What `create_demo_workspace` made and where it is."""

    root: Path
    store: Path
    data_folder: Path
    customers: int
    seed: int
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows stored
    quarantined: dict[str, int] = field(default_factory=dict)
    run_id: int | None = None
    as_of: Any = None
    sizes: list[dict[str, Any]] = field(default_factory=list)  # segment name, customers, share
    report: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def next_commands(self) -> list[str]:
        ws = f"--workspace {self.root}"
        return [
            f"segmentum segments {ws}",
            f"segmentum members rfm.champions {ws}",
            f"segmentum run --as-of latest {ws}",
            f"segmentum serve {ws}",
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": str(self.root),
            "store": str(self.store),
            "data": str(self.data_folder),
            "customers": self.customers,
            "seed": self.seed,
            "rows": dict(self.rows),
            "quarantined": dict(self.quarantined),
            "run_id": self.run_id,
            "as_of": self.as_of,
            "segments": list(self.sizes),
            "report": str(self.report) if self.report else None,
            "notes": list(self.notes),
            "next": self.next_commands,
        }


def _set_builtins(root: Path, names: list[str]) -> None:
    """Enable every shipped built-in in the new workspace's segmentum.yml (a file this module just wrote)."""
    path = root / CONFIG_FILE
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("builtins:"):
            lines[i] = f"builtins: [{', '.join(names)}]\n"
            break
    else:
        lines.append(f"builtins: [{', '.join(names)}]\n")
    path.write_text("".join(lines), encoding="utf-8")


def _builtin_defined_names() -> set[str]:
    """Names of the traits, segments and segmentations the shipped built-ins define."""
    from segmentum.spec.builtins import BUILTINS_DIR
    from segmentum.spec.yamlio import load_yaml

    names: set[str] = set()
    for path in sorted(BUILTINS_DIR.glob("*.yml")):
        data = load_yaml(path).data or {}
        for key in ("traits", "segments", "segmentations"):
            names |= set((data.get(key) or {}) if isinstance(data, dict) else ())
    return names


def shop_definitions(taken: set[str]) -> tuple[str, dict[str, str]]:
    """The example definitions, with any name a built-in already uses prefixed by `shop_`.

    Names share one namespace, so an enabled built-in defining e.g. `cart_abandoners` would clash with the
    example; renaming the example's copy keeps both. Returns the YAML text and the renames made.
    """
    import re

    text = SHOP_YML
    ours = re.findall(r"^  (\w+):", text, flags=re.MULTILINE)
    renames = {name: f"shop_{name}" for name in ours if name in taken}
    for old, new in renames.items():
        text = re.sub(rf"\b{old}\b", new, text)
    if renames:
        listed = ", ".join(f"{a} -> {b}" for a, b in renames.items())
        text = f"# Renamed because a built-in uses the same name: {listed}\n" + text
    return text, renames


def _fit_clv(ctx: Context, end: date, summary: DemoSummary, say: Callable[[str], None]) -> None:
    """Fit CLV on the whole history so the `value_clv` built-in has its model columns."""
    from segmentum.models.clv import fit_clv
    from segmentum.models.persist import write_model_clv

    say("Fitting CLV (BG/NBD + Gamma-Gamma) on the whole history")
    try:
        write_model_clv(ctx, fit_clv(ctx, calibration_end=end))
    except SegmentumError as exc:
        # an optional enrichment: the demo goes on without it
        summary.notes.append(f"CLV could not be fitted on the demo data ({exc}); value_clv is skipped")


def create_demo_workspace(
    folder: str | Path,
    customers: int = 5000,
    seed: int = 42,
    *,
    end: date = DEFAULT_END,
    run: bool = True,
    report: bool = True,
    progress: Callable[[str], None] | None = None,
    write_report: Callable[[Context], Path] | None = None,
) -> DemoSummary:
    """Build a demo workspace in `folder` (created; it must not hold a workspace yet).

    Parameters
    ----------
    customers, seed:
        Size and seed of the demo business (see `generate_demo`).
    run, report:
        Run the definitions as of the newest data (triggers included), and write the HTML report with
        `write_report` (the report lives above this layer, so the caller passes it).
    progress:
        Called with a short line before each step.
    """
    say = progress or (lambda message: None)
    root = Path(folder).expanduser().resolve()
    if (root / CONFIG_FILE).exists():
        raise DemoError(
            f"{root} already holds a workspace ({CONFIG_FILE}); choose another --dir or remove that folder first"
        )
    create_workspace(root, name=DEMO_NAME, timezone=DEMO_TIMEZONE, currency=DEMO_CURRENCY)
    _set_builtins(root, builtin_names())
    (root / "definitions").mkdir(exist_ok=True)
    shop_yml, _ = shop_definitions(_builtin_defined_names())
    (root / "definitions" / "shop.yml").write_text(shop_yml, encoding="utf-8")
    ws = Context(root)
    try:
        summary = DemoSummary(
            root=root,
            store=ws.root / ws.config.store,
            data_folder=root / "data",
            customers=customers,
            seed=seed,
        )
        say(f"Generating {customers:,} customers (seed {seed}) into {summary.data_folder}")
        paths = write_demo_parquet(summary.data_folder, customers, seed, end=end)

        for table in INGEST_ORDER:
            say(f"Ingesting {table}")
            loaded = ingest(ws, table, paths[table])
            summary.rows[table] = int(loaded.rows_stored)
            summary.quarantined[table] = int(loaded.rows_quarantined)

        if not run:
            return summary
        _fit_clv(ws, end, summary, say)
        say("Running every built-in and definitions/shop.yml as of the newest data")
        # the path of `Workspace.run`: the snapshot records its actions as owed, so a demo killed before they
        # are enqueued leaves a run the next start finishes
        result = run_and_act(ws, as_of="latest")
        summary.run_id = result.run_id
        summary.as_of = result.as_of
        sizes = result.sizes
        if sizes is not None and len(sizes):
            keep = [c for c in ("name", "customers", "share", "revenue_share") if c in sizes.columns]
            summary.sizes = sizes[keep].to_dict(orient="records")
        summary.notes.extend(str(warning) for warning in result.warnings)

        if not report or write_report is None:
            return summary
        say("Writing the HTML report")
        summary.report = Path(write_report(ws))
        return summary
    finally:
        ws.close()


__all__ = ["DemoSummary", "create_demo_workspace", "SHOP_YML", "TABLE_NAMES"]
