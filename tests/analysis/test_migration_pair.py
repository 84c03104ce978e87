"""Which two runs a migration compares by default (DESIGN.md section 5, "Which run"; issue 14 item 1): the latest
run and the newest run of the same definition with an EARLIER as_of. After the README tour (a run at the data's
last day D, then a monthly backfill whose last run is also at D) the CLI, the dashboard and the report used to
compare D with D: a pure diagonal, "Nobody moved". Every expected number here is computed in the test from the
memberships table, not by the code under test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import httpx
import pandas as pd
import pytest

from segmentum.analysis import migration, time_in_segment
from segmentum.api.main import create_app
from segmentum.api.server import web_routers
from segmentum.demo import workspace as demo_workspace
from segmentum.errors import NotFoundError
from segmentum.report import build_report
from segmentum.runs.backfill import backfill
from segmentum.service import users as auth
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace
from servers import start_app

D = datetime(2026, 10, 31, 23, 59, 59, 999999)  # the demo's last day
MONTH_BEFORE = datetime(2026, 9, 30, 23, 59, 59, 999999)


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README tour on a small demo: `demo` (a run as of D), then `backfill --from 2026-07-01 --to D`."""
    root = tmp_path_factory.mktemp("tour") / "demo"
    demo_workspace.create_demo_workspace(root, customers=600, seed=3, run=False, report=False)
    config = root / "segmentum.yml"
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("builtins:")]
    config.write_text("\n".join([*lines, "builtins: [rfm]"]) + "\n")
    (root / "definitions" / "shop.yml").write_text(
        'segments:\n  big_spenders: {where: "rfm_monetary >= 500"}\n', encoding="utf-8"
    )
    ws = Workspace(root)
    try:
        assert ws.run(as_of="latest").as_of == D
        backfill(ws, date(2026, 7, 1), date(2026, 10, 31), "1m")
    finally:
        ws.close()
    return root


@pytest.fixture
def ws(tour: Path) -> Iterator[Workspace]:
    opened = Workspace(tour)
    yield opened
    opened.close()


def _run_at(ws: Workspace, as_of: datetime) -> int:
    """The run of that as_of the default pair must use: the newest id (two runs share D)."""
    return ws.store.query(
        "SELECT max(run_id) FROM segmentum.runs WHERE status = 'complete' AND kind = 'batch' AND as_of = ?",
        [as_of],
    )[0][0]


def _flows(ws: Workspace, from_id: int, to_id: int, segmentation: str) -> dict[tuple[str, str], int]:
    rows = ws.store.query(
        """WITH a AS (SELECT customer_id, segment FROM segmentum.memberships WHERE run_id = ? AND segmentation = ?),
           b AS (SELECT customer_id, segment FROM segmentum.memberships WHERE run_id = ? AND segmentation = ?)
           SELECT coalesce(a.segment, '(new)'), coalesce(b.segment, '(gone)'), count(*)
           FROM a FULL OUTER JOIN b USING (customer_id) GROUP BY ALL""",
        [from_id, segmentation, to_id, segmentation],
    )
    return {(f, t): int(n) for f, t, n in rows}


def _moves(flows: dict[tuple[str, str], int]) -> int:
    return sum(n for (f, t), n in flows.items() if f != t)


def test_two_runs_share_the_last_day_and_the_default_pair_is_d_against_the_month_before(
    ws: Workspace,
) -> None:
    at_d = ws.store.query("SELECT run_id FROM segmentum.runs WHERE as_of = ? ORDER BY run_id", [D])
    assert len(at_d) == 2  # the demo's run and the backfill's last one
    start, end = snapshot.migration_pair(ws.store, "rfm")
    assert end.run_id == _run_at(ws, D) == snapshot.latest_run(ws.store).run_id
    assert start.run_id == _run_at(ws, MONTH_BEFORE) and start.as_of == MONTH_BEFORE
    # the demo's own run at D has the same as_of as the latest: never a pair, its predecessor is September too
    demo_run = snapshot.get_run(ws.store, at_d[0][0])
    assert snapshot.previous_run(ws.store, demo_run, "rfm").run_id == start.run_id


def test_default_migration_shows_the_real_moves_of_the_month(ws: Workspace) -> None:
    result = migration(ws, "rfm")
    from_id, to_id = _run_at(ws, MONTH_BEFORE), _run_at(ws, D)
    assert (result["from_run"], result["to_run"]) == (from_id, to_id)
    expected = _flows(ws, from_id, to_id, "rfm")
    got = {(r.from_segment, r.to_segment): int(r.customers) for r in result["flows"].itertuples()}
    assert got == expected
    assert _moves(expected) > 20  # customers did move between September and October
    # what the old default compared (two runs of D) is a pure diagonal: the bug this rule removes
    same_day = [r[0] for r in ws.store.query("SELECT run_id FROM segmentum.runs WHERE as_of = ?", [D])]
    assert _moves(_flows(ws, same_day[0], same_day[1], "rfm")) == 0


def test_the_report_and_the_dashboard_compare_the_same_pair(ws: Workspace) -> None:
    from_id, to_id = _run_at(ws, MONTH_BEFORE), _run_at(ws, D)
    html = build_report(ws)
    assert f"from run {from_id} (" in html and f"to run {to_id} (" in html

    auth.add_user(ws.store, "tour", "long enough secret", replace=True)
    server, thread, url = start_app(create_app(ws, extra_routers=web_routers(), realtime=False))
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            login = {"user": "tour", "password": "long enough secret"}
            assert client.post("/login", data=login).status_code == 303
            page = client.get("/migration").text
    finally:
        server.should_exit = True
        thread.join(15)
    assert f'<option value="{from_id}" selected>' in page and f'<option value="{to_id}" selected>' in page
    assert "Nobody moved" not in page
    assert f"from run {from_id} (" in page


def test_the_cli_default_is_the_same_pair(tour: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "migration", "rfm", "--format", "json", "-w", str(tour)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    got = {(f["from_segment"], f["to_segment"]): f["customers"] for f in json.loads(result.stdout)}
    with Workspace(tour) as ws:
        assert got == _flows(ws, _run_at(ws, MONTH_BEFORE), _run_at(ws, D), "rfm")
    table = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "migration", "rfm", "-w", str(tour)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    # the title names the pair by its run dates: rows the month before, columns the run at D
    assert re.search(r"as of 2026-09-30 -> run \d+ as of 2026-10-31 \(rows -> columns\)", table.stdout), (
        table.stdout
    )


def test_a_standalone_segment_migrates_in_and_out(ws: Workspace) -> None:
    from_id, to_id = _run_at(ws, MONTH_BEFORE), _run_at(ws, D)
    result = migration(ws, "big_spenders")
    assert (result["from_run"], result["to_run"], result["kind"]) == (from_id, to_id, "segment")

    def states(run_id: int) -> pd.Series:
        everyone = snapshot.traits(ws.store, run_id)["customer_id"]
        members = set(snapshot.memberships(ws.store, run_id, "big_spenders")["customer_id"])
        return pd.Series(["in" if c in members else "out" for c in everyone], index=everyone)

    a, b = states(from_id), states(to_id)
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1)
    expected = both.fillna({"a": "(new)", "b": "(gone)"}).value_counts().to_dict()
    got = {(r.from_segment, r.to_segment): int(r.customers) for r in result["flows"].itertuples()}
    assert got == expected
    assert int(result["matrix"].loc["in"].sum()) == int((a == "in").sum())  # row sums are September's sizes
    # a segment of a segmentation works the same way
    champions = migration(ws, "rfm.champions")["matrix"]
    assert int(champions["in"].sum()) == len(snapshot.memberships(ws.store, to_id, "rfm.champions"))


def test_an_unknown_name_says_what_exists(ws: Workspace) -> None:
    with pytest.raises(
        NotFoundError, match="unknown segmentation or segment 'big_spender'; did you mean 'big_spenders'"
    ):
        migration(ws, "big_spender")


# ------------------------------------------------------------------------------------- the rule's edges

SHOP = """
traits:
  spent: {sum: orders.amount}
segments:
  big: {where: "spent >= 100"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "spent >= 500"}
    else: bronze
"""


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path / "shop", name="shop")
    (ws.root / "definitions" / "shop.yml").write_text(SHOP, encoding="utf-8")
    ws = Workspace(ws.root)
    orders = [
        ("a", "2024-01-05", 600),
        ("b", "2024-01-10", 50),
        ("b", "2024-02-10", 500),
        ("c", "2024-03-03", 700),
    ]
    ws.ingest_frame(
        "orders",
        pd.DataFrame(
            {
                "order_id": [f"o{i}" for i in range(len(orders))],
                "customer_id": [o[0] for o in orders],
                "ordered_at": pd.to_datetime([o[1] for o in orders]),
                "amount": [float(o[2]) for o in orders],
            }
        ),
    )
    yield ws
    ws.close()


def test_a_single_run_or_runs_of_one_day_have_no_pair(shop: Workspace) -> None:
    shop.run(as_of="2024-03-31", triggers=False)
    with pytest.raises(NotFoundError, match="no earlier run to compare with.*segmentum backfill"):
        migration(shop, "tier")
    shop.run(as_of="2024-03-31", triggers=False)
    with pytest.raises(NotFoundError, match="the same as_of, which is never a pair"):
        migration(shop, "tier")
    shop.run(as_of="2024-02-29", triggers=False)
    result = migration(shop, "tier")
    assert result["from_as_of"].date() == date(2024, 2, 29) and result["to_run"] == 2
    got = {(r.from_segment, r.to_segment): int(r.customers) for r in result["flows"].itertuples()}
    assert got == _flows(shop, result["from_run"], 2, "tier")
    # c first bought in March, so c was not yet a customer at the end of February (first_seen_at, DESIGN
    # section 4); b was gold by then already
    assert got[("(new)", "gold")] == 1 and ("bronze", "gold") not in got


def test_an_earlier_run_of_another_version_is_not_a_pair(shop: Workspace) -> None:
    shop.run(as_of="2024-01-31", triggers=False)
    (shop.root / "definitions" / "shop.yml").write_text(SHOP.replace("spent >= 500", "spent >= 400"))
    edited = Workspace(shop.root)
    try:
        edited.run(as_of="2024-02-29", triggers=False)
        with pytest.raises(NotFoundError, match="another version of 'tier'"):
            migration(edited, "tier")
        assert migration(edited, "big")["from_run"] == 1  # big was not edited
        edited.run(as_of="2024-03-31", triggers=False)
        assert (migration(edited, "tier")["from_run"], migration(edited, "tier")["to_run"]) == (2, 3)
    finally:
        edited.close()


def test_a_later_run_of_other_definitions_leaves_the_pair_alone(shop: Workspace) -> None:
    shop.run(as_of="2024-01-31", triggers=False)
    shop.run(as_of="2024-02-29", triggers=False)
    shop.run(as_of="2024-03-31", only=["big"], triggers=False)
    result = migration(shop, "tier")
    assert (result["from_run"], result["to_run"]) == (1, 2)  # run 3 did not compute tier
    assert (migration(shop, "big")["from_run"], migration(shop, "big")["to_run"]) == (2, 3)


def test_time_in_segment_counts_one_run_per_day_of_those_that_computed_it(shop: Workspace) -> None:
    for as_of in ("2024-01-31", "2024-02-29", "2024-03-31", "2024-03-31"):  # March twice
        shop.run(as_of=as_of, triggers=False)
    shop.run(as_of="2024-04-30", only=["big"], triggers=False)  # did not compute tier
    stay = time_in_segment(shop, "tier").set_index("segment")
    # gold at the end of March: a since January (3 month ends), b since February (2), c since March (1)
    assert stay.loc["gold", "customers"] == 3
    assert stay.loc["gold", "mean_runs"] == pytest.approx((3 + 2 + 1) / 3)
    assert stay.loc["gold", "mean_days"] == pytest.approx((60 + 31 + 0) / 3)
    # asked for the first March run, the other March run does not count either
    assert time_in_segment(shop, "tier", run_id=3).set_index("segment").loc[
        "gold", "mean_runs"
    ] == pytest.approx(2)
