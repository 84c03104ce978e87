"""A run reports its steps to a progress callback (segmentum.progress): each step in order, each ending with done
== total, and the evaluate step with DuckDB's own estimate of its one query while it runs
(segmentum.store.progress.watch_query), whose polling thread never outlives the query, even a failing one."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from runs_helpers import make_shop
from segmentum.errors import RunError
from segmentum.runs.execute import run
from segmentum.store import progress as query_progress
from segmentum.store.progress import THOUSANDTHS, watch_query
from segmentum.workspace import Workspace

# the two DuckDB settings watch_query turns on for its cursor and must restore
PROGRESS_SETTINGS = (
    "SELECT current_setting('enable_progress_bar'), current_setting('enable_progress_bar_print')"
)

Call = tuple[int, int | None, str, str]


def collect() -> tuple[list[Call], Any]:
    calls: list[Call] = []

    def progress(done: int, total: int | None, label: str, unit: str = "") -> None:
        calls.append((done, total, label, threading.current_thread().name))

    return calls, progress


def steps(calls: list[Call]) -> list[str]:
    """The labels in the order the steps came, each once."""
    order: list[str] = []
    for _, _, label, _ in calls:
        if not order or order[-1] != label:
            order.append(label)
    return order


def pollers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("segmentum-progress-")]


def more_orders(ws: Workspace, rows: int, *, huge_at: int | None = None) -> None:
    """`rows` orders of 1,000 customers by plain SQL (one of `huge_at`'s amount 1e20)."""
    amount = "(i % 97)" if huge_at is None else f"(CASE WHEN i = {huge_at} THEN 1e20 ELSE i % 97 END)"
    ws.store.cursor().execute(
        "INSERT INTO main.orders SELECT 'x' || i, 'c' || (i % 1000), "
        f"TIMESTAMP '2024-01-01' + INTERVAL (i % 300) DAY, {amount}::DECIMAL(38, 6), NULL FROM range({rows}) r(i)"
    )


def assert_each_step_ends_done(calls: list[Call]) -> None:
    for label in steps(calls):
        mine = [(done, total) for done, total, name, _ in calls if name == label]
        dones = [done for done, _ in mine]
        assert dones == sorted(dones), (label, mine)  # done never goes back within a step
        assert mine[-1][0] == mine[-1][1], (label, mine)  # and the step ends at its total


def test_a_run_reports_its_steps_in_order_each_ending_with_done_equal_to_total(shop: Workspace) -> None:
    calls, progress = collect()
    result = run(shop, as_of="2024-03-31", progress=progress)
    # the sizes are counted with the memberships (the shop's revenue), before the commit
    assert steps(calls) == ["compile", "evaluate", "write memberships", "sizes", "commit", "diff"]
    assert_each_step_ends_done(calls)
    # the steps are the phases the run times
    assert set(result.timings) == {"compile", "evaluate", "write_memberships", "sizes", "commit", "diff"}
    evaluate = [(done, total) for done, total, label, _ in calls if label == "evaluate"]
    assert {total for _, total in evaluate} == {THOUSANDTHS} and evaluate[0] == (0, THOUSANDTHS)
    assert pollers() == []


def test_a_run_without_a_callback_changes_nothing_of_the_store_connection(shop: Workspace) -> None:
    run(shop, as_of="2024-03-31")
    calls, progress = collect()
    run(shop, as_of="2024-03-31", progress=progress)
    # watch_query turned DuckDB's progress bar on for its own cursor only, and back off after
    assert shop.store.cursor().execute(PROGRESS_SETTINGS).fetchone() == (False, True)
    assert calls and pollers() == []


def test_a_preview_and_a_run_without_details_report_their_steps(shop: Workspace) -> None:
    calls, progress = collect()
    run(shop, as_of="2024-03-31", preview=True, progress=progress)
    assert steps(calls) == ["compile", "evaluate"]
    assert_each_step_ends_done(calls)
    calls, progress = collect()
    run(shop, as_of="2024-03-31", details=False, progress=progress)  # a backfill's point: no diff, no sizes
    assert steps(calls) == ["compile", "evaluate", "write memberships", "commit"]
    assert_each_step_ends_done(calls)


def test_the_evaluate_step_reports_duckdbs_estimate_while_its_query_runs(
    shop: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    more_orders(shop, 600_000)
    monkeypatch.setattr(query_progress, "EVERY", 0.005)  # read DuckDB's estimate often: the query is short
    calls, progress = collect()
    run(shop, as_of="2024-12-31", progress=progress)
    evaluate = [(done, thread) for done, _, label, thread in calls if label == "evaluate"]
    between = [done for done, thread in evaluate if 0 < done < THOUSANDTHS]
    assert between, evaluate  # fractions while the query ran ...
    # ... read by the polling thread, which is gone now
    assert {thread for done, thread in evaluate if 0 < done < THOUSANDTHS} == {"segmentum-progress-evaluate"}
    assert evaluate[-1][0] == THOUSANDTHS and pollers() == []
    assert_each_step_ends_done(calls)


def test_a_run_whose_query_fails_leaves_no_polling_thread(tmp_path: Path) -> None:
    ws = make_shop(
        tmp_path / "ws",
        "traits:\n  spent: {sum: orders.amount}\n"
        '  power: {expr: "spent * spent * spent * spent * spent"}\n'
        'segments:\n  big: {where: "power >= 100"}\n',
    )
    try:
        more_orders(ws, 200_000, huge_at=150_000)  # 1e20 to the fifth power: DECIMAL(38) overflows
        calls, progress = collect()
        with pytest.raises(RunError, match="Overflow"):
            run(ws, as_of="2024-12-31", progress=progress)
        assert steps(calls) == ["compile", "evaluate"] and calls[-1][0] < THOUSANDTHS  # evaluate never ended
        assert pollers() == []
        assert ws.store.query("SELECT status FROM segmentum.runs") == [("failed",)]
    finally:
        ws.close()


def test_watch_query_polls_from_a_thread_that_stops_with_the_query_even_when_it_fails() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE src AS SELECT i, i % 1000 AS k FROM range(3000000) r(i)")
    cur = con.cursor()
    seen: list[tuple[int, str]] = []

    def progress(done: int, total: int | None, label: str, unit: str = "") -> None:
        seen.append((done, threading.current_thread().name))
        if threading.current_thread().name.startswith("segmentum-progress-"):
            time.sleep(0.01)  # a slow display: the query may end meanwhile

    slow = "SELECT k, count(DISTINCT i), sum(i) FROM src GROUP BY k"
    with watch_query(cur, progress, "grouping", every=0.001):
        cur.execute(slow).fetchall()
    assert seen[0] == (0, "MainThread") and seen[-1] == (THOUSANDTHS, "MainThread")
    assert any(0 < done < THOUSANDTHS and name == "segmentum-progress-grouping" for done, name in seen), seen
    assert pollers() == []

    seen.clear()
    failing = "SELECT k, sum(i), max(CASE WHEN i = 2999999 THEN error('boom') END) FROM src GROUP BY k"
    with pytest.raises(duckdb.Error, match="boom"), watch_query(cur, progress, "failing", every=0.001):
        cur.execute(failing).fetchall()
    assert pollers() == []
    assert THOUSANDTHS not in [done for done, _ in seen]  # a failed step does not end as done
    # the cursor's settings are as they were (DuckDB's defaults: no progress bar, printing on)
    assert cur.execute(PROGRESS_SETTINGS).fetchone() == (False, True)
    con.close()


def test_without_a_callback_watch_query_starts_no_thread_and_sets_nothing() -> None:
    con = duckdb.connect()
    before = threading.active_count()
    # DuckDB's default for the progress bar depends on where the process runs (a pytest-xdist worker gets
    # True): what matters is that watch_query leaves it as it found it
    found = con.execute(PROGRESS_SETTINGS).fetchone()
    with watch_query(con, None, "nothing"):
        assert threading.active_count() == before
        assert con.execute(PROGRESS_SETTINGS).fetchone() == found
    assert con.execute(PROGRESS_SETTINGS).fetchone() == found
    con.close()


@pytest.mark.spark
@pytest.mark.slow
def test_on_spark_the_evaluate_step_has_no_fraction_until_it_ends(shop: Workspace) -> None:
    pytest.importorskip("pyspark")
    calls, progress = collect()
    run(shop, as_of="2024-03-31", engine="spark", progress=progress)
    evaluate = [(done, total) for done, total, label, _ in calls if label == "evaluate"]
    assert evaluate == [(0, None), (1, 1)]  # Spark computes in one call: no estimate of DuckDB's to read
    assert steps(calls)[:3] == ["compile", "evaluate", "write memberships"]
    assert_each_step_ends_done(calls)
