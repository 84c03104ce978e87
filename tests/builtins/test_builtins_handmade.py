"""Built-ins on small hand-made data where every customer's segment is known exactly."""

from __future__ import annotations

import pytest

from segmentum.store import CATALOG

AS_OF = "2026-06-30"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from segmentum.store import snapshots as snapshot
    from segmentum.workspace import Workspace

    root = tmp_path_factory.mktemp("hand") / "ws"
    ws = Workspace.init(root, name="hand")
    con = ws.store.cursor()
    con.execute(f"CREATE TABLE {CATALOG}.main.customers (customer_id VARCHAR, first_source VARCHAR)")
    con.execute(
        f"INSERT INTO {CATALOG}.main.customers VALUES ('a', 'Google'), ('b', 'instagram'), "
        "('c', NULL), ('d', 'tv'), ('e', 'Referral'), ('f', 'direct')"
    )
    con.execute(
        f"CREATE TABLE {CATALOG}.main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    # revenue in the last 365 days: a 1000, b 500, c 100, d 50, e 10; f only a cancelled order
    con.execute(
        f"INSERT INTO {CATALOG}.main.orders VALUES "
        "('1', 'a', '2026-06-01', 1000, NULL), ('2', 'b', '2026-05-01', 500, NULL), "
        "('3', 'c', '2026-04-01', 100, NULL), ('4', 'd', '2026-03-01', 50, NULL), "
        "('5', 'e', '2026-02-01', 10, 'completed'), ('6', 'f', '2026-02-01', 999, 'cancelled'), "
        "('7', 'e', '2024-01-01', 5000, NULL)"
    )
    con.execute(
        f"CREATE TABLE {CATALOG}.main.responses (customer_id VARCHAR, question VARCHAR, answer VARCHAR, "
        "answered_at TIMESTAMP)"
    )
    con.execute(
        f"INSERT INTO {CATALOG}.main.responses VALUES "
        "('a', 'nps', '3', '2025-01-01'), ('a', 'nps', '10', '2026-01-01'), "  # latest: promoter
        "('b', 'nps', '9.0', '2025-01-01'), ('b', 'nps', '6', '2026-02-01'), "  # latest: detractor
        "('c', 'nps', '8', '2026-01-01'), ('d', 'nps', 'n/a', '2026-01-01'), "
        "('e', 'nps', '10', '2026-07-15'), "  # after as_of: ignored
        # f's latest answer is 'n/a': the latest VALID score (7, then CSAT 4) stands
        "('f', 'nps', '7', '2026-01-01'), ('f', 'nps', 'n/a', '2026-03-01'), "
        "('f', 'csat', '4', '2026-01-01'), ('f', 'csat', ' ', '2026-03-01'), "
        "('a', 'csat', '5', '2026-01-01'), ('b', 'csat', '2', '2026-01-01'), ('c', 'csat', '3.0', '2026-01-01')"
    )
    con.execute(
        f"CREATE TABLE {CATALOG}.main.events (event_id VARCHAR, customer_id VARCHAR, event VARCHAR, "
        "occurred_at TIMESTAMP, properties JSON)"
    )
    con.execute(
        f"INSERT INTO {CATALOG}.main.events VALUES "
        "('e1', 'a', 'email_sent', '2026-06-01', NULL), ('e2', 'a', 'email_open', '2026-06-02', NULL), "
        "('e3', 'b', 'email_sent', '2026-06-01', NULL), "
        "('e4', 'c', 'email_sent', '2025-01-01', NULL), ('e5', 'c', 'email_open', '2025-01-02', NULL), "
        "('e6', 'c', 'email_sent', '2026-06-01', NULL), "
        "('e7', 'd', 'email_sent', '2026-05-01', NULL), ('e8', 'd', 'email_unsubscribe', '2026-05-02', NULL), "
        "('e9', 'a', 'support_contact', '2026-06-10 10:00', '{\"outcome\": \"resolved\"}'), "
        "('e10', 'b', 'sales_contact', '2026-06-10 10:00', '{\"outcome\": \"Negative\"}'), "
        "('e11', 'c', 'support_contact', '2026-06-10 10:00', '{\"outcome\": \"resolved\"}'), "
        "('e12', 'c', 'sales_contact', '2026-06-10 10:00', '{\"outcome\": \"negative\"}'), "
        "('e13', 'e', 'support_contact', '2026-06-10 10:00', '{\"channel\": \"phone\"}'), "
        "('e14', 'f', 'support_contact', '2025-06-10 10:00', '{\"outcome\": \"resolved\"}')"
    )
    (root / "segmentum.yml").write_text(
        "name: hand\nbuiltins: [value, nps, engagement, interaction, source]\n"
        "value: {top_rank: 0.75, high_rank: 0.5, medium_rank: 0.25}\n",
        encoding="utf-8",
    )
    ws.close()
    ws = Workspace(root)
    result = ws.run(as_of=AS_OF)
    members = snapshot.memberships(ws.store, result.run_id)
    seg = members[members["segmentation"].notna()].pivot(
        index="customer_id", columns="segmentation", values="segment"
    )
    yield seg
    ws.close()


def test_value_tiers_rank_the_buyers_of_the_window(run) -> None:
    # percent_rank over a..e: e 0, d 0.25, c 0.5, b 0.75, a 1; f has no qualifying order
    assert run["value"].to_dict() == {
        "a": "top",
        "b": "top",
        "c": "high",
        "d": "medium",
        "e": "low",
        "f": "none",
    }


def test_nps_uses_the_latest_valid_answer_as_of_the_run(run) -> None:
    assert run["nps"].to_dict() == {
        "a": "promoters",
        "b": "detractors",
        "c": "passives",
        "d": "no_answer",
        "e": "no_answer",
        "f": "passives",
    }
    assert run["csat"].to_dict() == {
        "a": "satisfied",
        "b": "dissatisfied",
        "c": "neutral",
        "d": "no_csat",
        "e": "no_csat",
        "f": "satisfied",
    }


def test_email_engagement(run) -> None:
    assert run["engagement"].to_dict() == {
        "a": "engaged",
        "b": "never_opened",
        "c": "unengaged",
        "d": "unsubscribed",
        "e": "not_emailed",
        "f": "not_emailed",
    }


def test_last_contact_and_its_outcome(run) -> None:
    # c had a positive support and a negative sales contact at the same moment: negative wins
    assert run["interaction"].to_dict() == {
        "a": "support_positive",
        "b": "sales_negative",
        "c": "support_negative",
        "d": "no_contact",
        "e": "contacted",
        "f": "no_contact",
    }


def test_first_source(run) -> None:
    assert run["source"].to_dict() == {
        "a": "search",
        "b": "social",
        "c": "unknown",
        "d": "other",
        "e": "referral",
        "f": "direct",
    }
