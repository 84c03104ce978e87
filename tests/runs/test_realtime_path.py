"""The real-time path (issue 20): compiled once per definitions fingerprint and day, the touched ids bound as a
table, the live table read by lookups; its memberships equal a batch run's at the same as_of."""

from __future__ import annotations

import gc
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest
from engine_helpers import write_definitions

from segmentum.engine.duckdb import DuckDBEngine
from segmentum.runs import execute as execute_mod
from segmentum.runs.execute import RunError, compile_for, definitions_at, run
from segmentum.runs.realtime import (
    MAX_PUSHED_IDS,
    OR_FILTER_SETTING,
    TOUCHED,
    DefinitionsCache,
    Evaluator,
    EventRow,
    EventWriter,
    SqlTemplate,
    bind_touched,
    read_staged,
    staged_tables,
)
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

DEFS = """
traits:
  spent: {sum: orders.amount}
  n: {count: orders}
  recent_spent: {sum: orders.amount, within: 2m}
  older_orders: {count: orders, between: [1y, 30d]}
  carts_7d: {count: events, where: "event = 'cart_add'", within: 7d}
  half: {expr: "ntile(spent, 2)"}
segments:
  cart_hot: {where: "carts_7d > 0 and recent_spent >= 0"}
  top_half: {where: "half = 2"}
segmentations:
  engagement:
    segments:
      - {name: carting, where: "carts_7d > 0"}
      - {name: buying, where: "n >= 3"}
    else: idle
  tier:
    segments:
      - {name: gold, where: "spent >= 400 and in_segment('top_half')"}
    else: other
"""
CUSTOMERS = [f"c{i:02d}" for i in range(12)]
T0 = datetime(2024, 3, 31, 12, 0, 0)


def _orders() -> list[dict]:
    rows = []
    for i, customer in enumerate(CUSTOMERS):
        for k in range(1 + i % 4):
            rows.append(
                {
                    "order_id": f"o{i}-{k}",
                    "customer_id": customer,
                    "ordered_at": datetime(2024, 1 + (i + k) % 3, 1 + (7 * i + 3 * k) % 27, 10),
                    "amount": 10 + (37 * i + 11 * k) % 200,
                }
            )
    return rows


@pytest.fixture
def ws(make_ws) -> Workspace:
    events = [
        {
            "event_id": "e0",
            "customer_id": "c01",
            "event": "cart_add",
            "occurred_at": T0 - timedelta(days=1),
            "properties": None,
        }
    ]
    return make_ws(
        DEFS,
        {"customers": [{"customer_id": c} for c in CUSTOMERS], "orders": _orders(), "events": events},
        builtins=["rfm"],
    )


def _now(ws: Workspace, customers: list[str]) -> list[tuple[str, str]]:
    """What a lookup shows: the one read of the live state."""
    rows = []
    for c in customers:
        current = snapshot.current_memberships(ws.store, c)
        rows += [(c, n) for n in current["name"]]
    return sorted(rows)


def _batch(ws: Workspace, as_of: datetime, customers: list[str]) -> list[tuple[str, str]]:
    mem = run(ws, as_of=as_of, preview=True).memberships()
    mine = mem[mem.customer_id.isin(customers)]
    return sorted(zip(mine.customer_id, mine.name, strict=True))


def _sql_now(ws: Workspace, evaluator: Evaluator, as_of: datetime, *, staged: bool = True) -> tuple[str, str]:
    """(the template's SQL, a fresh compile's SQL) at `as_of`, both reading the touched table (and, `staged`,
    the micro-batch's staged tables)."""
    defs = evaluator.definitions.current()
    usable = definitions_at(ws, defs, as_of)
    _, templated = evaluator.sql(defs, usable, as_of, staged=staged)
    engine = DuckDBEngine(ws.store)
    fresh = compile_for(ws, usable, engine, as_of, customers=["__segmentum_touched__"])
    bound = bind_touched(engine.to_sql(fresh.expr))
    return templated, read_staged(bound) if staged else bound


def test_the_template_renders_the_sql_a_fresh_compile_gives(ws: Workspace) -> None:
    run(ws, as_of=T0)
    evaluator = Evaluator(ws)
    for as_of in (
        T0,
        T0.replace(hour=0, minute=0, second=0),
        T0.replace(hour=23, minute=59, second=59, microsecond=999999),
    ):
        templated, fresh = _sql_now(ws, evaluator, as_of)
        assert templated == fresh, as_of
    assert evaluator.compiles == 2  # the two probes of the day, then only substitutions
    assert TOUCHED in templated and "__segmentum_touched__" not in templated
    # another day is another template (month windows clamp differently)
    templated, fresh = _sql_now(ws, evaluator, datetime(2024, 2, 29, 8, 30))
    assert templated == fresh and evaluator.compiles == 4
    # the staged text is the store-reading one with the canonical tables keyed by customer renamed, and only them
    reading_main, _ = _sql_now(ws, evaluator, datetime(2024, 2, 29, 8, 30), staged=False)
    assert staged_tables(templated) == ("customers", "events", "orders") and not staged_tables(reading_main)
    assert '"main"."orders"' in reading_main and '"main"."orders"' not in templated
    assert read_staged(reading_main) == templated
    # a micro-batch stages only the columns the SQL reads: not the events' properties (JSON, the widest)
    columns = evaluator.staged_columns(templated)
    assert set(columns) == {"customers", "events", "orders"}
    assert {"customer_id", "event", "occurred_at"} <= set(columns["events"])
    assert "properties" in ws.store.columns("events") and "properties" not in columns["events"]


def test_sql_that_is_not_a_fixed_offset_of_as_of_is_refused() -> None:
    day = T0.date()
    a = "SELECT MAKE_TIMESTAMP(2024, 3, 31, 3, 17, 29.123457), MAKE_TIMESTAMP(2020, 1, 1, 0, 0, 0.0)"
    b = "SELECT MAKE_TIMESTAMP(2024, 3, 31, 19, 41, 53.876543), MAKE_TIMESTAMP(2020, 1, 1, 0, 0, 0.0)"
    template = SqlTemplate.from_probes(day, a, b)
    assert template.render(datetime(2024, 3, 31, 6, 0, 1, 5)) == (
        "SELECT MAKE_TIMESTAMP(2024, 3, 31, 6, 0, 1.000005), MAKE_TIMESTAMP(2020, 1, 1, 0, 0, 0.0)"
    )
    from segmentum.runs.realtime import NotTemplatable

    with pytest.raises(NotTemplatable):  # a literal that moves, but not with as_of
        SqlTemplate.from_probes(day, a, b.replace("2020, 1, 1", "2020, 1, 2"))
    with pytest.raises(NotTemplatable):  # text that differs
        SqlTemplate.from_probes(day, a, b.replace("SELECT", "SELECT 1,"))
    with pytest.raises(ValueError):
        template.render(datetime(2024, 4, 1))


def test_an_event_makes_its_customer_enter_and_leave_segments_as_a_batch_run_would(ws: Workspace) -> None:
    run(ws, as_of=T0)
    writer = EventWriter(ws.store, ZoneInfo(ws.config.timezone))
    evaluator = Evaluator(ws, DefinitionsCache(ws))
    touched = ["c03", "c04", "new1"]
    assert ("c03", "engagement.carting") not in _now(ws, touched)

    t1 = T0 + timedelta(hours=3, minutes=30, microseconds=500)
    writer.append([EventRow("c03", "cart_add", t1 - timedelta(minutes=5)), EventRow("new1", "cart_add", t1)])
    result = evaluator.evaluate(touched, t1)
    assert result.kind == "realtime" and result.customers == 3
    entered = _now(ws, touched)
    assert {("c03", "engagement.carting"), ("c03", "cart_hot"), ("new1", "engagement.carting")} <= set(
        entered
    )
    assert entered == _batch(ws, t1, touched)  # the same answer as a batch run at the same as_of
    # the transition is the run's, for the outbox
    moved = result.transitions[result.transitions.customer_id == "c03"]
    assert set(moved.kind) >= {"entered", "moved"}

    # eight days later the cart is out of the 7-day window: the customers leave (another day, another template)
    t2 = t1 + timedelta(days=8)
    result = evaluator.evaluate(touched, t2)
    left = _now(ws, touched)
    assert ("c03", "engagement.carting") not in left and ("c03", "cart_hot") not in left
    assert left == _batch(ws, t2, touched)
    assert set(result.transitions[result.transitions.customer_id == "c03"].kind) >= {"exited", "moved"}

    # after a run of some definitions only, the real-time path still gives a full batch's answer
    run(ws, as_of=t2, only=["engagement"])
    writer.append([EventRow("c04", "cart_add", t2 - timedelta(hours=1))])
    evaluator.evaluate(touched, t2)
    assert ("c04", "engagement.carting") in _now(ws, touched)
    assert _now(ws, touched) == _batch(ws, t2, touched)


def test_lookups_read_the_live_row_until_a_newer_batch_run(ws: Workspace) -> None:
    first = run(ws, as_of=T0)
    evaluator = Evaluator(ws)
    rt = evaluator.evaluate(["c01", "c02"], T0 + timedelta(minutes=1))
    live = ws.store.query(
        "SELECT customer_id, run_id, len(memberships) FROM segmentum.live_memberships ORDER BY 1"
    )
    assert [(c, r) for c, r, _ in live] == [("c01", rt.run_id), ("c02", rt.run_id)]
    assert set(snapshot.current_memberships(ws.store, "c01").run_id) == {rt.run_id}
    # a customer no micro-batch touched: the latest run
    assert set(snapshot.current_memberships(ws.store, "c05").run_id) == {first.run_id}
    # a micro-batch again replaces the row, never adds one
    rt2 = evaluator.evaluate(["c01"], T0 + timedelta(minutes=2))
    assert ws.store.query(
        "SELECT count(*), max(run_id) FROM segmentum.live_memberships WHERE customer_id = 'c01'"
    ) == [(1, rt2.run_id)]
    # a newer batch run is the state now, live rows older than it are not
    batch = run(ws, as_of=T0 + timedelta(minutes=3))
    assert set(snapshot.current_memberships(ws.store, "c01").run_id) == {batch.run_id}
    expected = batch.memberships()
    assert list(snapshot.current_memberships(ws.store, "c01")["name"]) == sorted(
        expected[expected.customer_id == "c01"]["name"]
    )


def test_a_customer_in_no_segment_has_an_empty_live_row(make_ws) -> None:
    ws = make_ws(
        'traits:\n  n: {count: orders}\nsegments:\n  many: {where: "n >= 5"}\n',
        {
            "customers": [{"customer_id": "x"}],
            "orders": [{"order_id": "o", "customer_id": "x", "ordered_at": T0, "amount": 1}],
        },
    )
    run(ws, as_of=T0)
    Evaluator(ws).evaluate(["x"], T0 + timedelta(seconds=1))
    assert ws.store.query(
        "SELECT len(memberships) FROM segmentum.live_memberships WHERE customer_id = 'x'"
    ) == [(0,)]
    assert snapshot.current_memberships(ws.store, "x").empty
    assert isinstance(snapshot.current_memberships(ws.store, "x"), pd.DataFrame)


def test_edited_definitions_are_compiled_again(ws: Workspace) -> None:
    run(ws, as_of=T0)
    evaluator = Evaluator(ws, DefinitionsCache(ws))
    evaluator.evaluate(["c01"], T0 + timedelta(seconds=1))
    evaluator.evaluate(["c02"], T0 + timedelta(seconds=2))
    assert evaluator.compiles == 2
    write_definitions(
        ws,
        DEFS + '  big:\n    segments:\n      - {name: yes, where: "spent >= 100"}\n    else: no\n',
        ["rfm"],
    )
    result = evaluator.evaluate(["c01"], T0 + timedelta(seconds=3))
    assert evaluator.compiles == 4
    assert "big" in set(result.memberships().segmentation.dropna())


def test_the_in_process_replica_holds_what_the_store_read_says(ws: Workspace) -> None:
    from segmentum.runs.realtime import LiveState

    run(ws, as_of=T0)
    live = LiveState(ws.store)
    assert live.get("c01") is None and not live.ready  # not loaded: callers read the store
    live.load()
    evaluator = Evaluator(ws)
    writer = EventWriter(ws.store, ZoneInfo(ws.config.timezone))
    writer.append([EventRow("c02", "cart_add", T0), EventRow("fresh", "cart_add", T0)])
    evaluator.evaluate(["c02", "fresh"], T0 + timedelta(minutes=1))
    live.refresh(["c02", "fresh"])

    def agree() -> None:
        for c in [*CUSTOMERS, "fresh"]:
            current = snapshot.current_memberships(ws.store, c)
            entry = live.get(c)
            assert entry is not None, c
            assert list(entry.segments) == list(current["name"]), c
            assert entry.run_id == int(current["run_id"].iloc[0]), c

    agree()
    assert "engagement.carting" in live.get("fresh").segments
    run(ws, as_of=T0 + timedelta(minutes=2), only=["engagement"])
    live.load()
    agree()
    assert len(live) == len(CUSTOMERS) + 1
    # what it holds, loaded or refreshed, is never seen by Python's garbage collector: a dict of strings and
    # ints is not tracked. A replica of 1M tuples, or a dict that each micro-batch's fresh tuples tracked
    # again, was traversed by collections that held the GIL 20-150 ms while every lookup waited
    evaluator.evaluate(["c02"], T0 + timedelta(minutes=3))
    live.refresh(["c02"])
    assert live._states is not None and len(live._states) == len(CUSTOMERS) + 1
    assert not gc.is_tracked(live._states) and not gc.is_tracked(live._as_of)
    assert live.get("c02").run_id == int(snapshot.current_memberships(ws.store, "c02")["run_id"].iloc[0])
    agree()


def test_a_micro_batch_committed_while_the_replica_loads_is_not_hidden_by_the_older_read(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load takes no writer's lock: a refresh made after its read and before it takes the result is read
    again (the replica would otherwise hold c02's state before the micro-batch); a forget meanwhile drops it."""
    import threading
    import time

    from segmentum.runs.realtime import LiveState

    run(ws, as_of=T0)
    evaluator = Evaluator(ws)
    writer = EventWriter(ws.store, ZoneInfo(ws.config.timezone))
    evaluator.evaluate(["c01"], T0 + timedelta(seconds=1))  # compiled before the load: the next one is quick
    monkeypatch.setenv("SEGMENTUM_FAULT", "live_loaded")
    monkeypatch.setenv("SEGMENTUM_FAULT_SECONDS", "4")  # the load waits between its read and its result
    live = LiveState(ws.store)
    loading = threading.Thread(target=live.load)
    loading.start()
    assert "engagement.carting" not in snapshot.current_memberships(ws.store, "c02")["name"].tolist()
    writer.append([EventRow("c02", "cart_add", T0)])
    evaluator.evaluate(["c02"], T0 + timedelta(minutes=1))
    live.refresh(["c02"])
    assert loading.is_alive(), "the load ended before the micro-batch: raise SEGMENTUM_FAULT_SECONDS"
    loading.join(60)
    assert live.ready
    assert "engagement.carting" in live.get("c02").segments
    assert list(live.get("c02").segments) == list(snapshot.current_memberships(ws.store, "c02")["name"])

    forgotten = LiveState(ws.store)
    loading = threading.Thread(target=forgotten.load)
    loading.start()
    time.sleep(1)  # the read of this small store is done: the load waits at its delay point
    forgotten.forget()  # a batch run wrote meanwhile: the load's older read is not taken
    loading.join(60)
    assert not forgotten.ready
    # the server stops: a load waiting between its read and its result ends at once, and none starts again
    abandoned = LiveState(ws.store)
    monkeypatch.setenv("SEGMENTUM_FAULT_SECONDS", "120")
    loading = threading.Thread(target=abandoned.load)
    loading.start()
    time.sleep(1)
    started = time.monotonic()
    abandoned.abandon()
    loading.join(60)
    assert not loading.is_alive() and time.monotonic() - started < 30
    assert abandoned.load() == 0 and not abandoned.ready


def test_a_real_time_diff_in_one_query_gives_the_per_definition_rows(ws: Workspace) -> None:
    from segmentum.runs import diff as diff_mod
    from segmentum.runs.baseline import previous_states

    run(ws, as_of=T0)
    writer = EventWriter(ws.store, ZoneInfo(ws.config.timezone))
    evaluator = Evaluator(ws)
    writer.append(
        [EventRow("c03", "cart_add", T0), EventRow("c05", "cart_add", T0), EventRow("x9", "login", T0)]
    )
    first = evaluator.evaluate(["c03", "c05", "x9"], T0 + timedelta(hours=1))
    second = evaluator.evaluate(["c03", "c06"], T0 + timedelta(days=9))  # c03 leaves; compared with `first`
    for result in (first, second):
        info = snapshot.get_run(ws.store, result.run_id)
        kinds = diff_mod.current_kinds(ws.store, info)
        states = previous_states(ws.store, result.run_id, list(info.definition_hashes))
        per_definition = pd.concat(
            [
                diff_mod._diff_one(ws.store, info, s, kinds.get(n))
                for n, s in states.items()
                if not s.baseline
            ],
            ignore_index=True,
        )
        key = ["name", "customer_id"]
        got = result.transitions.sort_values(key).reset_index(drop=True).astype(str)
        expected = per_definition.sort_values(key).reset_index(drop=True)[got.columns].astype(str)
        assert len(got) > 0
        pd.testing.assert_frame_equal(got, expected)
    assert set(second.transitions[second.transitions.customer_id == "c03"].from_run) <= {first.run_id}


RESTRICTED_DEFS = """
traits:
  paid: {sum: orders.amount}
  every_order: {count: orders, all_orders: true}
  units: {sum: order_items.quantity}
  every_unit: {sum: order_items.quantity, all_orders: true}
  gap: {max: orders.days_since_previous}
  carts_30d: {count: events, where: "event = 'cart_add'", within: 30d}
  top: {expr: "ntile(paid, 2)"}
segments:
  unit_buyer: {where: "units >= 2"}
  carting: {where: "carts_30d > 0"}
segmentations:
  tier:
    segments:
      - {name: upper, where: "top = 2 and every_unit >= 1"}
      - {name: slow, where: "gap > 20"}
    else: other
"""


def test_the_restricted_read_gives_a_full_evaluation_s_traits_and_memberships(make_ws) -> None:
    """A micro-batch reads only its customers' rows (`customer_id IN _sgm_touched` on every fact table); what it
    computes for them equals a full evaluation of every customer at the same as_of, traits included: cancelled
    orders (qualifying or all_orders), an item whose order belongs to a customer not touched, the gap between a
    customer's orders (a window over their rows), an event window, a population value from the batch run."""
    customers = [f"k{i}" for i in range(8)]
    orders, items = [], []
    for i, c in enumerate(customers):
        for k in range(1 + i % 3):
            oid = f"o{i}-{k}"
            orders.append(
                {
                    "order_id": oid,
                    "customer_id": c,
                    "ordered_at": datetime(2024, 1, 3 + 11 * k + i, 9),
                    "amount": 20 + 13 * i + 7 * k,
                    "status": "cancelled" if (i + k) % 4 == 3 else "paid",
                }
            )
            items.append(
                {
                    "order_id": oid,
                    "customer_id": c,
                    "ordered_at": datetime(2024, 1, 3 + 11 * k + i, 9),
                    "product_id": "p",
                    "quantity": 1 + k,
                    "unit_price": 5,
                }
            )
    # k1's item in k6's order: it qualifies through k6's order, which the restricted read must still see
    items.append(
        {
            "order_id": "o6-0",
            "customer_id": "k1",
            "ordered_at": datetime(2024, 1, 9, 9),
            "product_id": "q",
            "quantity": 3,
            "unit_price": 2,
        }
    )
    events = [
        {
            "event_id": f"e{i}",
            "customer_id": c,
            "event": "cart_add",
            "occurred_at": datetime(2024, 3, 20 + i % 5),
        }
        for i, c in enumerate(customers)
        if i % 2
    ]
    ws = make_ws(
        RESTRICTED_DEFS,
        {
            "customers": [{"customer_id": c} for c in customers],
            "orders": orders,
            "order_items": items,
            "events": events,
        },
    )
    run(ws, as_of=T0)
    as_of = T0 + timedelta(hours=2)
    touched = ["k1", "k3", "k5"]  # not k6, whose order holds an item of k1
    result = Evaluator(ws).evaluate(touched, as_of)
    full = run(ws, as_of=as_of, preview=True)

    def frame(df: pd.DataFrame) -> pd.DataFrame:
        df = df.sort_values("customer_id").reset_index(drop=True).astype(object)
        return df.where(df.notna(), None)

    columns = ["customer_id", "paid", "every_order", "units", "every_unit", "gap", "carts_30d", "top"]
    mine = frame(result.traits(touched)[columns])
    theirs = frame(full.traits(touched)[columns])
    assert mine.to_dict("records") == theirs.to_dict("records")
    # k1's own items and the one in k6's order
    assert mine.set_index("customer_id").loc["k1", "units"] == 1 + 2 + 3
    got = result.memberships()
    expected = full.memberships()
    expected = expected[expected.customer_id.isin(touched)]
    assert sorted(zip(got.customer_id, got.name, strict=True)) == sorted(
        zip(expected.customer_id, expected.name, strict=True)
    )
    assert _now(ws, touched) == sorted(zip(expected.customer_id, expected.name, strict=True))


def _or_filter(cur) -> int:
    return int(cur.execute(f"SELECT current_setting('{OR_FILTER_SETTING}')").fetchone()[0])


@pytest.mark.parametrize("fails", [False, True])
def test_a_micro_batch_pushes_its_ids_into_the_scans_on_its_own_cursor_only(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    """The micro-batch's query runs with `dynamic_or_filter_threshold` raised to its number of touched ids
    (so the join's IN list reaches the fact tables' zonemaps); no other cursor sees it, and the micro-batch's
    cursor has DuckDB's default again afterwards, whether the run committed or failed."""
    run(ws, as_of=T0)
    default = _or_filter(ws.store.cursor())
    touched = CUSTOMERS + [f"new{i:03d}" for i in range(default + 10)]  # more ids than the default
    cursors: list = []
    real_cursor = ws.store.cursor
    monkeypatch.setattr(ws.store, "cursor", lambda: cursors.append(real_cursor()) or cursors[-1])
    seen: dict[str, int] = {}
    real_create = execute_mod.create_traits_table

    def create(cur, run_id, source):  # the micro-batch's query, as it runs
        seen["query"] = _or_filter(cur)
        seen["other cursor"] = _or_filter(real_cursor())
        assert cur.execute(f"SELECT count(*) FROM {TOUCHED}").fetchone()[0] == len(touched)
        if fails:
            raise RuntimeError("injected")
        return real_create(cur, run_id, source)

    monkeypatch.setattr(execute_mod, "create_traits_table", create)
    evaluator = Evaluator(ws)
    if fails:
        with pytest.raises(RunError, match="injected"):
            evaluator.evaluate(touched, T0 + timedelta(hours=1))
    else:
        result = evaluator.evaluate(touched, T0 + timedelta(hours=1))
        assert result.status == "complete"
    assert seen == {"query": len(touched), "other cursor": default}
    assert cursors and all(_or_filter(c) == default for c in cursors)
    for cur in cursors:  # the touched ids were unregistered too
        with pytest.raises(duckdb.CatalogException):
            cur.execute(f"SELECT * FROM {TOUCHED}")


def test_a_small_or_a_huge_micro_batch_keeps_duckdb_s_default(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One id: the default already pushes it (never lowered); more than MAX_PUSHED_IDS: nothing to prune."""
    run(ws, as_of=T0)
    default = _or_filter(ws.store.cursor())
    seen: list[int] = []
    real_create = execute_mod.create_traits_table

    def create(cur, run_id, source):
        seen.append(_or_filter(cur))
        return real_create(cur, run_id, source)

    monkeypatch.setattr(execute_mod, "create_traits_table", create)
    evaluator = Evaluator(ws)
    evaluator.evaluate(["c01"], T0 + timedelta(hours=1))
    huge = CUSTOMERS + [f"new{i:05d}" for i in range(MAX_PUSHED_IDS)]
    evaluator.evaluate(huge, T0 + timedelta(hours=1))
    assert seen == [default, default]


def test_a_refresh_reads_live_and_batch_states_by_the_one_rule(ws: Workspace) -> None:
    """The replica's refresh reads the latest run's memberships only for customers without a newer live row
    (`snapshots._current_sql`'s `among`): a mix of customers with a live row, with only the batch run's state
    and unknown ones reads what the one rule says, before and after a newer batch run."""
    from segmentum.runs.realtime import LiveState

    first = run(ws, as_of=T0)
    live = LiveState(ws.store)
    live.load()
    writer = EventWriter(ws.store, ZoneInfo(ws.config.timezone))
    writer.append([EventRow("c02", "cart_add", T0), EventRow("c03", "cart_add", T0)])
    rt = Evaluator(ws).evaluate(["c02", "c03"], T0 + timedelta(minutes=1))
    mixed = ["c02", "c04", "nobody", "c03", "c11"]

    def agree(run_ids: dict[str, int]) -> None:
        groups = snapshot.current_state_groups(ws.store, mixed)
        read = [c for *_, ids in groups for c in ids]
        assert sorted(read) == sorted(set(read)) == sorted(run_ids)  # one state per known customer
        # read from the real-time run on (the replica's refresh after it): the same states, whether its live
        # rows still hold them or a later batch run does, and for customers it did not re-evaluate
        bounded = snapshot.current_state_groups(ws.store, mixed, since_run=rt.run_id)
        assert {(r, n, c) for r, _, n, ids in bounded for c in ids} == {
            (r, n, c) for r, _, n, ids in groups for c in ids
        }
        live.refresh(mixed)
        for c in mixed:
            current = snapshot.current_memberships(ws.store, c)
            entry = live.get(c)
            if current.empty:
                assert entry is None, c
                continue
            assert entry is not None, c
            assert list(entry.segments) == list(current["name"]), c
            assert entry.run_id == int(current["run_id"].iloc[0]) == run_ids[c], c

    agree({"c02": rt.run_id, "c03": rt.run_id, "c04": first.run_id, "c11": first.run_id})
    assert "engagement.carting" in live.get("c02").segments
    later = run(ws, as_of=T0 + timedelta(minutes=2))  # the live rows are older than the latest run now
    agree({c: later.run_id for c in mixed if c != "nobody"})
