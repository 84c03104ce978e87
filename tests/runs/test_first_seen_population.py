"""A run's customers are those whose first_seen_at is null or at or before as_of (DESIGN section 4), though the
compiler reads the other tables only for customers whose created_at leaves that open
(`rules.first_seen_unsettled`, issue 16): the population must stay the one of the whole rule, as the store
queries compute it (`rules.existing_sql`: `first_seen` over every table, then `exists_at`)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from segmentum.compile import rules
from segmentum.runs.execute import run

D = datetime
START = D(2024, 1, 1)


def _store_population(ws, as_of: datetime) -> set[str]:
    sql = rules.existing_sql(ws.store, f"TIMESTAMP '{as_of:%Y-%m-%d %H:%M:%S.%f}'")
    assert sql is not None
    return {r[0] for r in ws.store.query(f"SELECT customer_id FROM ({sql})")}


def _data(seed: int) -> dict[str, list[dict]]:
    """Customers created before, after or never, with events that often come before any order (page views
    before the first purchase), orders and tickets scattered over two years."""
    rng = random.Random(seed)

    def moment() -> datetime:
        return START + timedelta(hours=rng.randrange(0, 2 * 365 * 24))

    ids = [f"c{i:03d}" for i in range(60)]
    customers = [
        {"customer_id": c, "created_at": None if rng.random() < 0.3 else moment(), "country": "UA"}
        for c in ids
    ]
    events = [
        {
            "event_id": f"e{i}",
            "customer_id": rng.choice(ids),
            "occurred_at": moment(),
            "event": "page_view",
        }
        for i in range(80)
    ]
    orders = [
        {"order_id": f"o{i}", "customer_id": rng.choice(ids), "ordered_at": moment(), "amount": 10 + i}
        for i in range(50)
    ]
    tickets = [
        {"ticket_id": f"t{i}", "customer_id": rng.choice(ids), "opened_at": moment()} for i in range(15)
    ]
    return {"customers": customers, "events": events, "orders": orders, "tickets": tickets}


@pytest.mark.parametrize("seed", [1, 2])
def test_a_runs_customers_are_those_the_whole_first_seen_rule_keeps(make_ws, seed):
    ws = make_ws(
        'traits:\n  n: {count: orders}\n  views: {count: events}\nsegments:\n  everyone: {where: "true"}\n',
        _data(seed),
    )
    checked = 0
    for as_of in (D(2023, 12, 31), D(2024, 3, 1), D(2024, 9, 15, 12), D(2025, 6, 1), D(2026, 2, 1)):
        r = run(ws, as_of=as_of)
        expected = _store_population(ws, as_of)
        assert set(r.traits().customer_id) == expected, as_of
        assert set(r.memberships("everyone").customer_id) == expected, as_of
        checked += len(expected)
    assert checked > 0  # the points see customers: the comparison is not between empty sets


def test_events_before_any_order_make_a_customer_created_later_exist(make_ws):
    """The case that the shortcut must not miss: created after as_of (or never), seen earlier by an event
    only; and one created later and seen only later, who does not exist yet."""
    customers = [
        {"customer_id": "early_event", "created_at": D(2025, 1, 1)},
        {"customer_id": "no_created_event", "created_at": None},
        {"customer_id": "later", "created_at": D(2025, 1, 1)},
        {"customer_id": "never_seen", "created_at": None},
        {"customer_id": "null_later_order", "created_at": None},
        {"customer_id": "created", "created_at": D(2024, 1, 5)},
    ]
    events = [
        {"event_id": "1", "customer_id": "early_event", "occurred_at": D(2024, 2, 1), "event": "page_view"},
        {
            "event_id": "2",
            "customer_id": "no_created_event",
            "occurred_at": D(2024, 3, 1),
            "event": "page_view",
        },
        {"event_id": "3", "customer_id": "later", "occurred_at": D(2025, 2, 1), "event": "page_view"},
    ]
    orders = [
        {"order_id": "1", "customer_id": "early_event", "ordered_at": D(2025, 3, 1), "amount": 5},
        {"order_id": "2", "customer_id": "null_later_order", "ordered_at": D(2025, 3, 1), "amount": 5},
    ]
    ws = make_ws(
        'traits:\n  n: {count: orders}\nsegments:\n  everyone: {where: "true"}\n',
        {"customers": customers, "events": events, "orders": orders},
    )
    r = run(ws, as_of="2024-12-31")
    expected = {"early_event", "no_created_event", "never_seen", "created"}
    assert set(r.traits().customer_id) == expected == _store_population(ws, D(2024, 12, 31, 23, 59, 59))
