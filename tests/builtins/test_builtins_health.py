"""The health built-in on hand-made accounts whose score can be worked out by hand."""

from __future__ import annotations

import pytest

from segmentum.store import CATALOG


@pytest.fixture(scope="module")
def health(tmp_path_factory):
    from segmentum.store import snapshots as snapshot
    from segmentum.workspace import Workspace

    root = tmp_path_factory.mktemp("health") / "ws"
    ws = Workspace.init(root, name="health")
    con = ws.store.cursor()
    con.execute(f"CREATE TABLE {CATALOG}.main.customers (customer_id VARCHAR)")
    con.execute(f"INSERT INTO {CATALOG}.main.customers VALUES ('k'), ('r'), ('h'), ('l'), ('n')")
    con.execute(
        f"CREATE TABLE {CATALOG}.main.subscriptions (subscription_id VARCHAR, customer_id VARCHAR, "
        "started_at TIMESTAMP, mrr DECIMAL(38, 6), renews_at TIMESTAMP, cancelled_at TIMESTAMP)"
    )
    con.execute(
        f"INSERT INTO {CATALOG}.main.subscriptions VALUES ('s1', 'k', '2025-01-01', 1000, NULL, NULL), "
        "('s2', 'r', '2025-01-01', 900, NULL, NULL), ('s3', 'h', '2025-01-01', 10, NULL, NULL), "
        "('s4', 'l', '2025-01-01', 20, NULL, NULL), ('s5', 'l', '2025-01-01', 500, NULL, '2026-01-01')"
    )
    con.execute(
        f"CREATE TABLE {CATALOG}.main.events (customer_id VARCHAR, event VARCHAR, occurred_at TIMESTAMP, "
        "properties JSON)"
    )
    features = ["reports", "dashboards", "integrations", "automation", "api"]
    rows = []
    for customer, logins, used in (("k", 20, features), ("h", 10, features[:2]), ("l", 25, features)):
        rows += [
            f"('{customer}', 'login', TIMESTAMP '2026-06-20' + INTERVAL ({i}) MINUTE, NULL)"
            for i in range(logins)
        ]
        rows += [f"('{customer}', 'feature_used', '2026-04-15', '{{\"feature\": \"{f}\"}}')" for f in used]
    con.execute(f"INSERT INTO {CATALOG}.main.events VALUES {', '.join(rows)}")
    con.execute(
        f"CREATE TABLE {CATALOG}.main.responses (customer_id VARCHAR, question VARCHAR, answer VARCHAR, "
        "answered_at TIMESTAMP)"
    )
    con.execute(
        f"INSERT INTO {CATALOG}.main.responses VALUES ('k', 'nps', '10', '2026-03-01'), "
        "('r', 'nps', '9', '2026-01-01'), ('r', 'nps', '2', '2026-05-01'), ('l', 'nps', '9.0', '2026-05-01')"
    )
    con.execute(
        f"CREATE TABLE {CATALOG}.main.tickets (ticket_id VARCHAR, customer_id VARCHAR, opened_at TIMESTAMP)"
    )
    con.execute(
        f"INSERT INTO {CATALOG}.main.tickets VALUES ('t1', 'r', '2026-06-01'), ('t2', 'r', '2026-06-02'), "
        "('t3', 'r', '2026-06-03'), ('t4', 'h', '2026-06-04'), ('t5', 'k', '2025-06-04')"
    )
    (root / "segmentum.yml").write_text("name: health\nbuiltins: [health]\n", encoding="utf-8")
    ws.close()
    ws = Workspace(root)
    result = ws.run(as_of="2026-06-30")
    traits = snapshot.traits(ws.store, result.run_id).set_index("customer_id")
    members = snapshot.memberships(ws.store, result.run_id).set_index("customer_id")
    yield traits, members["segment"].to_dict()
    ws.close()


def test_health_scores_are_the_weighted_dimensions(health) -> None:
    traits, _ = health
    scores = traits["health_score"].to_dict()
    # k: usage 100, activation 100, outcome 100 (promoter), support 100 (its ticket is older than 90 days)
    assert scores["k"] == 100
    # r: nothing used, latest NPS 2 (detractor), 3 tickets: support 40 -> (20 * 40) / 100
    assert scores["r"] == 8
    # h: 10/20 logins = 50, 2 of 5 features = 40, no answer = 50, 1 ticket = 80
    assert scores["h"] == round((35 * 50 + 20 * 40 + 25 * 50 + 20 * 80) / 100)
    assert scores["l"] == 100
    assert traits["health_score"].isna()["n"]


def test_health_groups(health) -> None:
    _, segments = health
    # account size = MRR not cancelled: k 1000, r 900, l 20, h 10 -> k alone ranks >= 0.7 among accounts
    assert segments == {
        "k": "key_accounts",
        "r": "at_risk",
        "h": "low_potential",
        "l": "high_potential",
        "n": "not_an_account",
    }
