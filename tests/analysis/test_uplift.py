"""Uplift (DESIGN.md 5.2): a simulated response. After the transition, orders are added for treated customers
at a planted higher rate than for the hold-out; the report recovers the planted effect inside its 95 %
interval, and shows none (the interval spans zero) where none was planted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from segmentum.actions import process_run
from segmentum.actions.policy import group_of
from segmentum.analysis.uplift import NOT_ENOUGH, proportion_interval, uplift, welch_interval
from segmentum.api.main import create_app
from segmentum.api.server import web_routers
from segmentum.errors import ActionError, NotFoundError
from segmentum.service.keys import KeyStore
from segmentum.service.users import add_user
from segmentum.store import META
from segmentum.store.memberships import add as add_memberships
from segmentum.workspace import Workspace

DEFINITIONS = """\
traits:
  orders_total: {count: orders}
segments:
  at_risk: {where: "orders_total = 0"}
triggers:
  winback:
    on: enter
    segment: at_risk
    holdout: 30%
    measure: {revenue: orders.amount, conversion: "count(orders) >= 1", within: 30d}
    do:
      - task: {title: "Win back {{ customer.customer_id }}"}
  placebo:
    on: enter
    segment: at_risk
    holdout: 30%
    measure: {revenue: orders.amount, conversion: "count(orders) >= 1", within: 30d}
    do:
      - task: {title: "Nothing planted for {{ customer.customer_id }}"}
  unmeasured:
    on: enter
    segment: at_risk
    do:
      - task: {title: "x"}
"""

N = 4000
T0 = datetime(2024, 1, 2, 23, 59, 59)
CONVERSION = {"treated": 0.30, "control": 0.20}  # planted: +10 points for the treated
AMOUNT = 50.0  # mean amount of a converting order


def _run(ws: Workspace, run_id: int, as_of: datetime, members: list[str]) -> None:
    hashes = {"at_risk": ws.definitions().hashes["at_risk"]}
    con = ws.store.cursor()
    con.execute(
        f"INSERT INTO {META}.runs VALUES (?, ?, ?, ?, 'complete', 'duckdb', 'batch', 'h', ?, ?, NULL)",
        [run_id, as_of, as_of, as_of, json.dumps(hashes), len(members)],
    )
    frame = pd.DataFrame({"customer_id": pd.Series(members, dtype="object")})
    con.register("_m", frame)
    con.execute(f"CREATE TABLE {META}.traits_{run_id} AS SELECT customer_id::VARCHAR AS customer_id FROM _m")
    add_memberships(con, "SELECT ?, customer_id, NULL, 'at_risk', 'at_risk' FROM _m", [run_id])
    con.unregister("_m")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("uplift") / "ws"
    Workspace.init(root, name="uplift")
    config = (root / "segmentum.yml").read_text().replace("builtins: [rfm, abc, lifecycle]", "builtins: []")
    (root / "segmentum.yml").write_text(config)
    (root / "definitions" / "shop.yml").write_text(DEFINITIONS)
    ws = Workspace(root)
    ids = [f"c{i:05d}" for i in range(N)]
    late = [f"late{i:03d}" for i in range(50)]  # enter 5 days before the data ends: still inside the window
    rng = np.random.default_rng(18)
    orders = []
    for cid in ids:
        group = group_of("winback", cid, 0.3)
        # an order before the transition and one after the window: neither may count
        orders.append((cid, T0 - timedelta(days=3), 500.0))
        orders.append((cid, T0 + timedelta(days=31), 500.0))
        if rng.random() < CONVERSION[group]:
            orders.append((cid, T0 + timedelta(days=int(rng.integers(1, 30))), float(rng.normal(AMOUNT, 10))))
    orders.append(("late000", T0 + timedelta(days=33), 5.0))
    frame = pd.DataFrame(orders, columns=["customer_id", "ordered_at", "amount"])
    frame.insert(0, "order_id", [f"o{i}" for i in range(len(frame))])
    con = ws.store.cursor()
    con.register("_o", frame)
    con.execute(
        "CREATE TABLE main.orders AS SELECT order_id, customer_id, ordered_at, amount::DECIMAL(38, 6) AS amount, "
        "NULL::VARCHAR AS status FROM _o"
    )
    con.unregister("_o")
    # a refund in the window is not a qualifying order: never a conversion
    con.execute("INSERT INTO main.orders VALUES ('refund', 'c00000', TIMESTAMP '2024-01-10', -20, NULL)")
    con.execute("CREATE TABLE main.customers AS SELECT DISTINCT customer_id FROM main.orders")
    _run(ws, 1, T0 - timedelta(days=1), [])
    _run(ws, 2, T0, ids)
    _run(ws, 3, T0 + timedelta(days=28), ids + late)
    for run_id in (2, 3):
        assert process_run(ws, run_id).processed
    yield ws
    ws.close()


def test_the_planted_effect_is_recovered_within_its_interval(simulated: Workspace) -> None:
    report = uplift(simulated, "winback")
    assert report.as_of == datetime(2024, 2, 4, 23, 59, 59, 999999)  # latest: the end of the data
    t, c = report.treated, report.control
    assert t.customers + c.customers == N and 0.27 < c.customers / N < 0.33
    assert (t.inside_window, c.inside_window) == (
        sum(group_of("winback", f"late{i:03d}", 0.3) == "treated" for i in range(50)),
        sum(group_of("winback", f"late{i:03d}", 0.3) == "control" for i in range(50)),
    )
    conversion = report.conversion
    assert conversion is not None and conversion.low < 0.10 < conversion.high and conversion.low > 0
    revenue = report.revenue
    assert revenue is not None and revenue.low < 0.10 * AMOUNT < revenue.high and revenue.low > 0
    assert report.verdicts["conversion"].startswith("the action works: +")
    assert report.verdicts["revenue"].startswith("the action works: +")
    # the rates themselves, from the rows (the orders before and after the window never count)
    assert abs(t.conversion_rate - 0.30) < 0.03 and abs(c.conversion_rate - 0.20) < 0.03
    assert t.conversions == round(t.conversion_rate * t.customers)


def test_no_effect_where_none_was_planted(simulated: Workspace) -> None:
    """The same transitions and orders, another trigger: its hold-out is independent of winback's, so the
    planted response falls alike on both of its groups."""
    report = uplift(simulated, "placebo")
    assert report.conversion is not None and report.conversion.spans_zero
    assert report.revenue is not None and report.revenue.spans_zero
    assert report.verdicts == {"conversion": NOT_ENOUGH, "revenue": NOT_ENOUGH}


def test_windows_not_yet_ended_are_left_out(simulated: Workspace) -> None:
    early = uplift(simulated, "winback", as_of="2024-01-20")
    assert early.treated.customers == early.control.customers == 0
    assert early.treated.inside_window + early.control.inside_window == N
    assert early.conversion is None and early.verdicts["conversion"] == NOT_ENOUGH


def test_statistics_agree_with_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = list(rng.normal(10, 3, 40)), list(rng.normal(8, 6, 25))
    mine = welch_interval(a, b)
    theirs = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (
        mine is not None and mine.low == pytest.approx(theirs.low) and mine.high == pytest.approx(theirs.high)
    )
    p = proportion_interval(30, 100, 20, 100)
    se = (0.3 * 0.7 / 100 + 0.2 * 0.8 / 100) ** 0.5
    assert p is not None and p.difference == pytest.approx(0.1)
    assert p.low == pytest.approx(0.1 - 1.959964 * se) and p.high == pytest.approx(0.1 + 1.959964 * se)
    assert proportion_interval(1, 1, 0, 0) is None and welch_interval([1.0], [2.0, 3.0]) is None


def test_uplift_errors_name_the_fix(simulated: Workspace) -> None:
    with pytest.raises(NotFoundError, match="no trigger 'winbak'; did you mean 'winback'"):
        uplift(simulated, "winbak")
    with pytest.raises(ActionError, match="trigger 'unmeasured' has no measure; add e.g. measure:"):
        uplift(simulated, "unmeasured")


@pytest.mark.slow
def test_cli_and_api_show_the_same_report(simulated: Workspace, tmp_path: Path) -> None:
    from servers import start_app

    expected = json.loads(json.dumps(uplift(simulated, "winback").as_dict(), default=str))
    key = KeyStore(simulated.store).create("read", "uplift test")[0]
    add_user(simulated.store, "anna", "correct horse battery")
    server, thread, url = start_app(create_app(simulated, extra_routers=web_routers(), realtime=False))
    try:
        answer = httpx.get(
            f"{url}/v1/triggers/winback/uplift", headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["conversion"]["difference"] == pytest.approx(expected["conversion"]["difference"])
        assert body["treated"] == expected["treated"] and body["verdict"] == expected["verdict"]
        auth = {"Authorization": f"Bearer {key}"}
        early = httpx.get(
            f"{url}/v1/triggers/winback/uplift", params={"as_of": "2024-01-20"}, headers=auth
        ).json()
        assert early["treated"]["customers"] == 0 and early["verdicts"]["conversion"] == NOT_ENOUGH
        now = httpx.get(f"{url}/v1/triggers/winback/uplift", params={"as_of": "now"}, headers=auth).json()
        assert now["as_of"] > "2025" and now["treated"]["inside_window"] == 0  # every window has ended by now
        missing = httpx.get(f"{url}/v1/triggers/nope/uplift", headers={"Authorization": f"Bearer {key}"})
        assert missing.status_code == 404 and "no trigger 'nope'" in missing.text
        listed = httpx.get(
            f"{url}/v1/outbox",
            params={"reason": "holdout", "limit": 5},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert listed.status_code == 200 and [r["reason"] for r in listed.json()] == ["holdout"] * 5
        with httpx.Client(base_url=url, timeout=60) as browser:  # the dashboard's page, signed in
            browser.post("/login", data={"user": "anna", "password": "correct horse battery"})
            page = browser.get("/triggers/winback/uplift", params={"lang": "uk"})
            assert page.status_code == 200, page.text
            assert "Ефект дії: winback" in page.text and 'id="uplift-conversion"' in page.text
            assert "the action works" in page.text
            assert f"{expected['treated']['customers']} / {expected['control']['customers']}" in page.text
            assert browser.get("/triggers/nope/uplift").status_code == 404
    finally:
        server.should_exit = True
        thread.join(15)
    # the CLI opens the store itself: a copy, as this process holds the original
    simulated.store.cursor().execute("CHECKPOINT")
    root = str(tmp_path / "copy")
    shutil.copytree(simulated.root, root)
    cli = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "uplift", "winback", "-w", root],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, COLUMNS="200"),
    )
    assert cli.returncode == 0, cli.stderr
    assert "conversion (count(orders) >= 1)" in cli.stdout and "the action works" in cli.stdout
    assert f"compared: {expected['treated']['customers']} treated" in cli.stderr
    assert "verdict: conversion: the action works" in cli.stderr
