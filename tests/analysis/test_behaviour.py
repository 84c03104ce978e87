"""Behaviour change as data: figures against a pandas computation on a hand-made shop, agreement with the
behaviour_change built-in run by the engine, and the demo's declining and growing personas."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from segmentum.analysis.behaviour import behaviour_changes
from segmentum.errors import ModelError
from segmentum.workspace import Workspace

AS_OF = datetime(2024, 12, 31, 23, 59, 59, 999999)


def _orders() -> list[tuple]:
    rows = []  # customer, day, amount, status, categories with their line values

    def add(customer, days_ago, amount, cats=None, status=None):
        cats = cats or {"home": amount}
        rows.append((customer, AS_OF - timedelta(days=days_ago, hours=3), amount, status, cats))

    for d in (100, 130):
        add("g", d, 10)
    for d in (5, 20, 40, 60, 80):
        add("g", d, 10)
    for d in (95, 110, 120, 150, 170):
        add("d", d, 10)
    add("d", 30, 10)
    add("d", 31, 10, status="cancelled")  # not an order
    add("d", 32, -10)  # a refund: not an order
    for d in (100, 160):
        add("s", d, 100)
    for d in (10, 50):
        add("s", d, 20)
    for d in (100, 160):
        add("t", d, 50, {"books": 40, "toys": 10})
    for d in (10, 50):
        add("t", d, 50, {"toys": 35, "books": 5, "garden": 10})
    add("n", 100, 10)
    add("n", 10, 10)
    add("r", 10, 10)
    add("old", 400, 10)  # outside both periods
    add("x", 200, 10)  # only in the 360-day baseline
    add("x", 250, 10)
    add("x", 20, 10)
    return rows


ORDERS = _orders()


@pytest.fixture
def shop(workspace: Workspace) -> Workspace:
    con = workspace.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute(
        "CREATE TABLE main.order_items (order_id VARCHAR, line BIGINT, customer_id VARCHAR, "
        "ordered_at TIMESTAMP, product_id VARCHAR, quantity DECIMAL(38, 6), unit_price DECIMAL(38, 6), "
        "category VARCHAR)"
    )
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    for i, (customer, ts, amount, status, cats) in enumerate(ORDERS):
        con.execute("INSERT INTO main.orders VALUES (?, ?, ?, ?, ?)", [f"o{i}", customer, ts, amount, status])
        for line, (category, value) in enumerate(cats.items(), 1):
            con.execute(
                "INSERT INTO main.order_items VALUES (?, ?, ?, ?, 'p', 1, ?, ?)",
                [f"o{i}", line, customer, ts, value, category],
            )
    con.executemany("INSERT INTO main.customers VALUES (?)", [[c] for c in sorted({o[0] for o in ORDERS})])
    return workspace


def reference(period_days: int, baseline_days: int) -> pd.DataFrame:
    mid, start = AS_OF - timedelta(days=period_days), AS_OF - timedelta(days=baseline_days)
    rows = [
        (c, ts, float(a), cats, ts > mid)
        for c, ts, a, st, cats in ORDERS
        if a >= 0 and st is None and start < ts <= AS_OF
    ]
    out = []
    for customer in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == customer]
        rec = [r for r in mine if r[4]]
        prev = [r for r in mine if not r[4]]
        base = len(prev) * period_days / (baseline_days - period_days)

        def mix(part):
            total = pd.Series(dtype=float)
            for r in part:
                total = total.add(pd.Series(r[3], dtype=float), fill_value=0)
            return total / total.sum() if len(total) else None

        mr, mp = mix(rec), mix(prev)
        tvd = None if mr is None or mp is None else 0.5 * mr.sub(mp, fill_value=0).abs().sum()
        avg_r = np.mean([r[2] for r in rec]) if rec else np.nan
        avg_p = np.mean([r[2] for r in prev]) if prev else np.nan
        out.append(
            {
                "customer_id": customer,
                "orders_recent": len(rec),
                "orders_previous": len(prev),
                "frequency_change": len(rec) / base - 1 if base else np.nan,
                "size_change": avg_r / avg_p - 1,
                "mix_change": np.nan if tvd is None else tvd,
            }
        )
    frame = pd.DataFrame(out)

    def status(r):
        if r.orders_previous < 2:
            return "not_comparable"
        if r.frequency_change <= -0.6 or r.size_change <= -0.7:
            return "declining"
        if r.frequency_change >= 1.0 or r.size_change >= 2.0:
            return "growing"
        return "stable"

    frame["status"] = [status(r) for r in frame.itertuples()]
    return frame


@pytest.mark.parametrize("baseline", [None, "360d"])
def test_changes_match_a_pandas_computation(shop: Workspace, baseline: str | None) -> None:
    got = behaviour_changes(shop, AS_OF, "90d", baseline=baseline)
    want = reference(90, 360 if baseline else 180)
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    for col in ("orders_recent", "orders_previous", "status"):
        assert got[col].tolist() == want[col].tolist(), col
    for col in ("frequency_change", "size_change", "mix_change"):
        assert got[col].to_numpy(float) == pytest.approx(want[col].to_numpy(float), nan_ok=True), col


def test_each_status_names_the_rule_that_decided_it(shop: Workspace) -> None:
    got = behaviour_changes(shop, AS_OF).set_index("customer_id")
    assert got.loc["g", "status"] == "growing" and "orders per period +150%" in got.loc["g", "reason"]
    assert got.loc["d", "status"] == "declining" and "orders per period -80%" in got.loc["d", "reason"]
    assert got.loc["s", "status"] == "declining" and "average order value -80%" in got.loc["s", "reason"]
    assert got.loc["t", "status"] == "stable" and got.loc["t", "reason"].startswith("within the thresholds")
    assert got.loc["n", "status"] == "not_comparable" and "1 orders" in got.loc["n", "reason"]
    # t's mix moved from 80 % books to 70 % toys: TVD = 0.5 x (|.1-.8| + |.7-.2| + |.2-0|) = 0.7
    assert got.loc["t", "mix_change"] == pytest.approx(0.7) and bool(got.loc["t", "category_shift"])
    assert got.loc["t", ["top_category_previous", "top_category_recent"]].tolist() == ["books", "books"]
    assert "old" not in got.index


def test_statuses_agree_with_the_behaviour_change_builtin(shop: Workspace) -> None:
    (shop.root / "segmentum.yml").write_text("name: test\nbuiltins: [behaviour_change]\n", encoding="utf-8")
    with Workspace(shop.root) as ws:
        result = ws.run(as_of=AS_OF)
        members = (
            ws.store.cursor()
            .execute(
                "SELECT customer_id, segmentation, segment FROM segmentum.memberships WHERE run_id = ?",
                [result.run_id],
            )
            .df()
        )
        ours = behaviour_changes(ws, AS_OF, "90d", baseline="360d").set_index("customer_id")
    builtin = members[members["segmentation"] == "behaviour_change"].set_index("customer_id")["segment"]
    expected = (
        ours["status"].reindex(builtin.index).fillna("not_comparable")
    )  # no orders at all: not comparable
    assert builtin.sort_index().to_dict() == expected.sort_index().to_dict()
    shift = set(members[members["segment"] == "category_shift"]["customer_id"])
    differs = (
        ours["top_category_recent"].notna()
        & ours["top_category_previous"].notna()
        & (ours["top_category_recent"] != ours["top_category_previous"])
    )
    assert shift == set(ours.index[differs])


def test_bad_durations_are_reported(shop: Workspace) -> None:
    with pytest.raises(ModelError, match="90 days"):
        behaviour_changes(shop, AS_OF, "90 days")
    with pytest.raises(ModelError, match="longer than the period"):
        behaviour_changes(shop, AS_OF, "90d", baseline="60d")


@pytest.mark.slow
def test_demo_declining_and_growing_personas(tmp_path) -> None:
    from segmentum.demo import workspace as demo_workspace

    root = tmp_path / "demo"
    demo_workspace.create_demo_workspace(root, customers=2000, seed=5, run=False, report=False)
    with Workspace(root) as ws:
        frame = behaviour_changes(ws, "latest", "90d", baseline="360d")
        personas = ws.store.cursor().execute("SELECT customer_id, persona FROM main.customers").df()
    frame = frame.merge(personas, on="customer_id")
    comparable = frame[frame["status"] != "not_comparable"]
    share = comparable.groupby("persona")["status"].value_counts(normalize=True).unstack().fillna(0)
    assert share.loc["declining", "declining"] > 0.8
    assert share.loc["growing", "growing"] > 0.8
    assert share.loc["key_account", "stable"] > 0.9


@pytest.mark.slow
def test_cli_lists_customers_of_a_status(shop: Workspace) -> None:
    shop.close()  # the CLI process opens the store itself
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmentum.cli.main",
            "behaviour",
            "-w",
            str(shop.root),
            "--as-of",
            "2024-12-31",
            "--status",
            "declining",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert sorted(r["customer_id"] for r in rows) == ["d", "s"]
    assert all(r["reason"] for r in rows)
