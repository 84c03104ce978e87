"""Random definitions on small random data, compared against a plain-Python reference evaluator."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from engine_helpers import load_rows, write_definitions
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from segmentum.compile.windows import minus
from segmentum.runs.execute import run
from segmentum.workspace import Workspace

AS_OF = datetime(2024, 6, 30, 23, 59, 59, 999999)
START = datetime(2023, 5, 1)
CUSTOMERS = [f"c{i}" for i in range(6)]
AMOUNTS = [Decimal("-5"), Decimal("0"), Decimal("1.5"), Decimal("10"), Decimal("100.25")]
STATUSES = [None, "completed", "cancelled", "returned"]
CHANNELS = [None, "web", "app"]

order_rows = st.lists(
    st.fixed_dictionaries(
        {
            "customer_id": st.sampled_from(CUSTOMERS[:5]),
            "day": st.integers(0, 450),
            "hour": st.sampled_from([0, 12, 23]),
            "amount": st.sampled_from(AMOUNTS),
            "status": st.sampled_from(STATUSES),
            "channel": st.sampled_from(CHANNELS),
        }
    ),
    min_size=0,
    max_size=25,
)
event_rows = st.lists(
    st.fixed_dictionaries(
        {
            "customer_id": st.sampled_from(CUSTOMERS),
            "day": st.integers(0, 450),
            "event": st.sampled_from(["cart_add", "page_view"]),
        }
    ),
    max_size=12,
)
WHERES = {
    "orders": [
        None,
        "amount > 5",
        "channel = 'web'",
        "channel is null",
        "not (amount > 5)",
        "channel in ('web', 'app') and amount >= 0",
    ],
    "events": [None, "event = 'cart_add'", "event != 'cart_add'"],
}
COLUMNS = {"orders": ["amount", "channel", "ordered_at"], "events": ["event", "occurred_at"]}
WINDOWS = [
    None,
    ("within", "30d"),
    ("within", "90d"),
    ("within", "1m"),
    ("between", ("180d", "90d")),
    ("within", "1y"),
]

aggregate = st.fixed_dictionaries(
    {
        "fn": st.sampled_from(
            ["count", "count_col", "count_distinct", "sum", "avg", "min", "max", "mode", "first", "last"]
        ),
        "table": st.sampled_from(["orders", "events"]),
        "col": st.integers(0, 2),
        "where": st.integers(0, 5),
        "window": st.sampled_from(WINDOWS),
        "all_orders": st.booleans(),
    }
)


def _trait_yaml(name: str, a: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    table = a["table"]
    cols = COLUMNS[table]
    fn = a["fn"]
    if fn in ("sum", "avg"):
        if table != "orders":
            fn = "count"
        col = "amount"
    else:
        col = cols[a["col"] % len(cols)]
    target = table if fn == "count" else f"{table}.{col}"
    key = "count" if fn == "count_col" else fn
    if fn == "count_col":
        target = f"{table}.{col}"
    where = WHERES[table][a["where"] % len(WHERES[table])]
    parts = [f"{key}: {target}"]
    if where:
        parts.append(f'where: "{where}"')
    if a["window"]:
        kind, value = a["window"]
        parts.append(f"within: {value}" if kind == "within" else f"between: [{value[0]}, {value[1]}]")
    all_orders = a["all_orders"] and table == "orders"
    if all_orders:
        parts.append("all_orders: true")
    spec = {
        "fn": key,
        "table": table,
        "col": None if target == table else col,
        "where": where,
        "window": a["window"],
        "all_orders": all_orders,
    }
    return f"  {name}: {{{', '.join(parts)}}}", spec


# ------------------------------------------------------------------------------------------ reference


def _qualifies(row: dict[str, Any]) -> bool:
    return row["amount"] >= 0 and (
        row["status"] is None or row["status"].lower() not in ("cancelled", "returned")
    )


def _where(expr: str | None, row: dict[str, Any]) -> bool:
    if expr is None:
        return True
    a, ch, ev = row.get("amount"), row.get("channel"), row.get("event")
    table = {
        "amount > 5": a is not None and a > 5,
        "channel = 'web'": ch == "web",
        "channel is null": ch is None,
        "not (amount > 5)": not (a is not None and a > 5),
        "channel in ('web', 'app') and amount >= 0": ch in ("web", "app") and a is not None and a >= 0,
        "event = 'cart_add'": ev == "cart_add",
        "event != 'cart_add'": ev is not None and ev != "cart_add",
    }
    return table[expr]


def _in_window(ts: datetime, window: Any) -> bool:
    if ts > AS_OF:
        return False
    if window is None:
        return True
    kind, value = window
    if kind == "within":
        return minus(AS_OF, value) < ts <= AS_OF
    return minus(AS_OF, value[0]) < ts <= minus(AS_OF, value[1])


def _reference(spec: dict[str, Any], rows: list[dict[str, Any]], customer: str) -> Any:
    table = spec["table"]
    time_col = "ordered_at" if table == "orders" else "occurred_at"
    key_col = "order_id" if table == "orders" else "event_id"
    seen = [r for r in rows if r["customer_id"] == customer and r[time_col] <= AS_OF]
    if table == "orders" and not spec["all_orders"]:
        seen = [r for r in seen if _qualifies(r)]
    seen = [r for r in seen if _in_window(r[time_col], spec["window"]) and _where(spec["where"], r)]
    fn, col = spec["fn"], spec["col"]
    if fn == "count":
        return len(seen) if col is None else sum(1 for r in seen if r[col] is not None)
    values = [r[col] for r in seen if r[col] is not None]
    if fn == "count_distinct":
        return len(set(values))
    if not values:
        return None
    if fn == "sum":
        return sum(values)
    if fn == "avg":
        return float(sum(values)) / len(values)
    if fn == "min":
        return min(values)
    if fn == "max":
        return max(values)
    if fn == "mode":
        counts = Counter(values)
        best = max(counts.values())
        return min(v for v, n in counts.items() if n == best)
    ordered = sorted((r for r in seen if r[col] is not None), key=lambda r: (r[time_col], r[key_col]))
    return ordered[0][col] if fn == "first" else ordered[-1][col]


def _same(a: Any, b: Any) -> bool:
    if a is None or (not isinstance(a, str) and pd.isna(a)):
        return b is None
    if isinstance(b, float) or isinstance(a, float):
        return b is not None and abs(float(a) - float(b)) < 1e-9
    if isinstance(a, pd.Timestamp):
        a = a.to_pydatetime()
    return a == b


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    orders=order_rows,
    events=event_rows,
    aggregates=st.lists(aggregate, min_size=1, max_size=6),
    thresholds=st.lists(st.sampled_from([0, 1, 2, 5, 50]), min_size=6, max_size=6),
)
def test_random_definitions_match_the_reference_evaluator(orders, events, aggregates, thresholds):
    folder = Path(tempfile.mkdtemp(prefix="segmentum-prop-"))
    try:
        order_data = [
            {
                "order_id": f"o{i:02d}",
                "customer_id": o["customer_id"],
                "ordered_at": START + timedelta(days=o["day"], hours=o["hour"]),
                "amount": o["amount"],
                "status": o["status"],
                "channel": o["channel"],
            }
            for i, o in enumerate(orders)
        ]
        event_data = [
            {
                "event_id": f"e{i:02d}",
                "customer_id": e["customer_id"],
                "occurred_at": START + timedelta(days=e["day"]),
                "event": e["event"],
            }
            for i, e in enumerate(events)
        ]
        lines, specs = [], {}
        for i, a in enumerate(aggregates):
            line, spec = _trait_yaml(f"t{i}", a)
            lines.append(line)
            specs[f"t{i}"] = spec
        numeric = [n for n, s in specs.items() if s["fn"] in ("count", "count_distinct", "sum")]
        segments = []
        for i, name in enumerate(numeric[:3]):
            k = thresholds[i]
            segments.append(f'  s{i}: {{where: "{name} > {k} or not ({name} <= {k + 1})"}}')
            segments.append(f'  n{i}: {{where: "not ({name} >= {k}) and {name} is not null"}}')
        text = (
            "traits:\n"
            + "\n".join(lines)
            + "\n"
            + ("segments:\n" + "\n".join(segments) + "\n" if segments else "")
        )
        ws = Workspace.init(folder / "ws")
        write_definitions(ws, text)
        ws = Workspace(ws.root)
        try:
            load_rows(ws, "customers", [{"customer_id": c} for c in CUSTOMERS])
            load_rows(
                ws,
                "orders",
                order_data,
                columns=["order_id", "customer_id", "ordered_at", "amount", "status", "channel"],
            )
            load_rows(ws, "events", event_data, columns=["event_id", "customer_id", "occurred_at", "event"])
            result = run(ws, as_of=AS_OF)
            got = {r["customer_id"]: r for r in result.traits().to_dict(orient="records")}
            members = result.memberships()
            # DESIGN section 4: a customer exists from first_seen_at, the earliest of their timestamps (these
            # customers have no created_at); one first seen after as_of is not in the run
            first_seen: dict[str, datetime] = {}
            for row in [*order_data, *event_data]:
                ts = row.get("ordered_at") or row["occurred_at"]
                first_seen[row["customer_id"]] = min(ts, first_seen.get(row["customer_id"], ts))
            existing = [c for c in CUSTOMERS if c not in first_seen or first_seen[c] <= AS_OF]
            assert set(got) == set(existing)
            for name, spec in specs.items():
                rows = order_data if spec["table"] == "orders" else event_data
                for customer in existing:
                    expected = _reference(spec, rows, customer)
                    assert _same(got[customer][name], expected), (
                        name,
                        spec,
                        customer,
                        got[customer][name],
                        expected,
                    )
            for i, name in enumerate(numeric[:3]):
                k = thresholds[i]
                values = {
                    c: _reference(
                        specs[name], order_data if specs[name]["table"] == "orders" else event_data, c
                    )
                    for c in existing
                }
                # two-valued logic: a comparison with null is false, so `not (null <= k)` is true
                exp_s = {
                    c
                    for c, v in values.items()
                    if (v is not None and v > k) or not (v is not None and v <= k + 1)
                }
                exp_n = {c for c, v in values.items() if not (v is not None and v >= k) and v is not None}
                assert set(members[members.name == f"s{i}"].customer_id) == exp_s
                assert set(members[members.name == f"n{i}"].customer_id) == exp_n
        finally:
            ws.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
