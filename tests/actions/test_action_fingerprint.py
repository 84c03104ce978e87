"""End to end (Workspace.run, real triggers, the task outbox): editing what describes a segment keeps its
baseline, so the next run's enter trigger fires; changing what decides membership starts a new baseline."""

from __future__ import annotations

from pathlib import Path

from actions_helpers import make_workspace

from segmentum.views.tasks import tasks

DEFS = """\
traits:
  revenue_30d: {sum: orders.amount, within: 30d, description: Spent in the last 30 days}
segments:
  big_spenders:
    description: Spent at least 1000 in 30 days
    offer: 10% off
    channel: email
    where: "revenue_30d >= 1000 and (revenue_30d > 0)"
triggers:
  welcome_big:
    on: enter
    segment: big_spenders
    do:
      - task: {title: "Welcome {{ customer.name }} ({{ segment.offer }})", due: 2d}
"""

# Only words, comments, spacing, parentheses and key order differ: the same meaning.
DESCRIBED_DIFFERENTLY = """\
# Our segments (reworded on the second day)
traits:
  revenue_30d:
    within: 30d
    sum: orders.amount
    description: Revenue of the last thirty days   # reworded
segments:
  big_spenders:
    where: "revenue_30d>=1000   AND revenue_30d > 0"   # spacing, keyword case, no parentheses
    channel: sms
    offer: Free delivery
    description: Our best customers this month
triggers:
  welcome_big:
    on: enter
    segment: big_spenders
    do:
      - task: {title: "Welcome {{ customer.name }} ({{ segment.offer }})", due: 2d}
"""


def _orders(ws) -> None:  # noqa: ANN001 - a Workspace
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute(
        """INSERT INTO main.orders VALUES
        ('o1', 'c1', '2024-01-10', 1500, NULL),
        ('o2', 'c2', '2024-02-10', 1200, NULL),
        ('o3', 'c3', '2024-03-10', 900, NULL),
        ('o4', 'c4', '2024-03-12', 2000, NULL)"""
    )


def _tasks(ws) -> list[tuple[str, str]]:  # noqa: ANN001 - a Workspace
    return sorted((t["customer_id"], t["title"]) for t in tasks(ws)["tasks"])


def test_a_metadata_edit_keeps_the_baseline_and_the_enter_trigger_fires(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", definitions=DEFS)
    _orders(ws)
    first = ws.run(as_of="2024-01-31")  # c1 is in: the first run is the baseline
    assert first.baselines == ["big_spenders"] and first.actions["baseline"] == ["welcome_big"]
    hashes = ws.definitions().hashes

    (ws.root / "definitions" / "shop.yml").write_text(DESCRIBED_DIFFERENTLY)
    edited = ws.definitions()
    assert edited.hashes == hashes
    assert edited.segments["big_spenders"].offer == "Free delivery"

    second = ws.run(as_of="2024-02-29")  # c1 left (no order in February), c2 entered
    assert second.baselines == []
    assert second.actions["baseline"] == []
    assert second.actions["fired"] == {"welcome_big": 1}
    assert _tasks(ws) == [("c2", "Welcome Bob (Free delivery)")]  # the new wording is what gets sent
    ws.close()


def test_a_changed_threshold_starts_a_new_baseline_and_fires_nothing(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", definitions=DEFS)
    _orders(ws)
    ws.run(as_of="2024-02-29")  # c2 is in
    before = ws.definitions().hashes["big_spenders"]

    (ws.root / "definitions" / "shop.yml").write_text(
        DEFS.replace("revenue_30d >= 1000", "revenue_30d >= 800")
    )
    assert ws.definitions().hashes["big_spenders"] != before

    second = ws.run(as_of="2024-03-31")  # c3 (900) and c4 (2000) are in under either threshold's meaning
    assert second.baselines == ["big_spenders"]
    assert second.actions["baseline"] == ["welcome_big"]
    assert second.actions["fired"] == {"welcome_big": 0}
    assert _tasks(ws) == []
    ws.close()
