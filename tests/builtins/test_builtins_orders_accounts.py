"""Replenishment and renewal on hand-made data with known answers."""

from __future__ import annotations

import pytest

from segmentum.store import CATALOG


@pytest.fixture(scope="module")
def segments(tmp_path_factory):
    from segmentum.store import snapshots as snapshot
    from segmentum.workspace import Workspace

    root = tmp_path_factory.mktemp("orders") / "ws"
    ws = Workspace.init(root, name="orders")
    con = ws.store.cursor()
    con.execute(
        f"CREATE TABLE {CATALOG}.main.customers (customer_id VARCHAR, renewal_at TIMESTAMP, "
        "lifecycle_stage VARCHAR)"
    )
    con.execute(
        f"INSERT INTO {CATALOG}.main.customers VALUES ('p', NULL, NULL), ('q', NULL, NULL), "
        "('s', NULL, NULL), ('t', NULL, NULL), ('u', NULL, NULL), ('v', NULL, NULL), "
        "('A', NULL, 'customer'), ('B', '2026-07-15', 'churned'), ('C', NULL, 'Onboarding'), "
        "('D', NULL, 'customer'), ('E', NULL, 'lead'), ('F', NULL, 'customer'), ('G', '2026-08-01', NULL)"
    )
    purchases = {  # customer: (dates, category)
        "p": (
            ["2026-03-21", "2026-04-20", "2026-05-20"],
            "consumables",
        ),  # every 30 days, 41 days ago: overdue
        "q": (["2026-05-01", "2026-06-10"], "Consumables"),  # every 40 days, 20 days ago: not due
        "s": (["2026-06-01"], "consumables"),  # one purchase: no pattern
        "t": (["2025-01-01", "2025-02-01"], "consumables"),  # long gone: lost
        "u": (["2026-05-01", "2026-05-31"], "consumables"),  # every 30 days, 30 days ago: due
        "v": (["2026-01-01", "2026-02-01", "2026-03-01"], "electronics"),  # not a consumable: no pattern
    }
    orders, items = [], []
    for customer, (dates, category) in purchases.items():
        for i, day in enumerate(dates):
            oid = f"{customer}{i}"
            orders.append(f"('{oid}', '{customer}', '{day}', 10, NULL)")
            items.append(f"('{oid}', 1, '{customer}', '{day}', 'x', 1, 10, '{category}')")
    con.execute(
        f"CREATE TABLE {CATALOG}.main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute(f"INSERT INTO {CATALOG}.main.orders VALUES {', '.join(orders)}")
    con.execute(
        f"CREATE TABLE {CATALOG}.main.order_items (order_id VARCHAR, line BIGINT, customer_id VARCHAR, "
        "ordered_at TIMESTAMP, product_id VARCHAR, quantity DECIMAL(38, 6), unit_price DECIMAL(38, 6), "
        "category VARCHAR)"
    )
    con.execute(f"INSERT INTO {CATALOG}.main.order_items VALUES {', '.join(items)}")
    con.execute(
        f"CREATE TABLE {CATALOG}.main.subscriptions (subscription_id VARCHAR, customer_id VARCHAR, "
        "started_at TIMESTAMP, renews_at TIMESTAMP, cancelled_at TIMESTAMP)"
    )
    con.execute(
        f"INSERT INTO {CATALOG}.main.subscriptions VALUES "
        "('1', 'A', '2025-08-01', '2026-08-01', NULL), "  # renews in 32 days
        "('2', 'B', '2025-01-01', '2026-07-01', '2026-05-01'), "  # cancelled: not up for renewal
        "('3', 'D', '2026-06-01', '2027-06-01', NULL), "  # started 29 days ago: onboarding
        "('4', 'F', '2025-12-31', '2026-12-31', NULL)"
    )  # renews in half a year
    (root / "segmentum.yml").write_text("name: o\nbuiltins: [replenishment, renewal]\n", encoding="utf-8")
    ws.close()
    ws = Workspace(root)
    result = ws.run(as_of="2026-06-30")
    members = snapshot.memberships(ws.store, result.run_id)
    wide = members.pivot(index="customer_id", columns="segmentation", values="segment")
    yield wide, snapshot.traits(ws.store, result.run_id).set_index("customer_id")
    ws.close()


def test_replenishment_from_each_customers_own_interval(segments) -> None:
    wide, traits = segments
    got = {c: wide.loc[c, "replenishment"] for c in "pqstuv"}
    assert got == {
        "p": "overdue",
        "q": "not_due",
        "s": "no_pattern",
        "t": "lost",
        "u": "due",
        "v": "no_pattern",
    }
    assert traits.loc["p", "replenishment_interval"] == 30
    assert traits.loc["p", "replenishment_next_in_days"] == -11  # expected 11 days ago
    assert traits.loc["q", "replenishment_next_in_days"] == 20


def test_renewal_onboarding_and_prospects(segments) -> None:
    wide, _ = segments
    got = {c: wide.loc[c, "renewal"] for c in "ABCDEFG"}
    assert got == {
        "A": "renewal_90d",
        "B": "no_account",
        "C": "onboarding",
        "D": "onboarding",
        "E": "prospects",
        "F": "renewal_later",
        "G": "renewal_90d",
    }
    assert wide.loc["p", "renewal"] == "no_account"
