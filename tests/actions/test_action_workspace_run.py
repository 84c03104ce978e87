"""End to end: Workspace.run computes a real snapshot, its triggers fire once, and deliver sends them."""

from __future__ import annotations

from pathlib import Path

from actions_helpers import Receiver, make_workspace

from segmentum.actions import list_outbox
from segmentum.views.tasks import tasks as task_list

DEFS = """\
traits:
  revenue_30d: {sum: orders.amount, within: 30d}
segmentations:
  tier:
    segments:
      - {name: vip, where: "revenue_30d >= 1000", offer: "Personal call", channel: call}
    else: low
triggers:
  slipping:
    on: move
    from: tier.vip
    to: tier.low
    do:
      - task: {title: "Call {{ customer.name }} ({{ from_segment.offer }} no longer applies)", due: 2d}
      - webhook: {url: "http://127.0.0.1:PORT/hooks/run", secret_env: SEG_TEST_SECRET}
"""


def test_run_fires_triggers_once_per_transition(tmp_path: Path, receiver: Receiver) -> None:
    ws = make_workspace(tmp_path / "ws", port=receiver.port, definitions=DEFS)
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute("""INSERT INTO main.orders VALUES
        ('o1', 'c1', '2024-01-10', 1500, NULL), ('o2', 'c2', '2024-01-12', 2000, NULL),
        ('o3', 'c2', '2024-02-20', 1200, NULL), ('o4', 'c3', '2024-01-05', 10, NULL)""")
    first = ws.run(as_of="2024-01-31")
    assert first.actions["enqueued"] == 0 and "slipping" in first.actions["baseline"]
    second = ws.run(as_of="2024-02-29")  # c1 had no order in February: vip -> low; c2 stays vip
    assert second.actions["fired"] == {"slipping": 1}
    assert second.actions["delivery"]["delivered"] == 2
    assert [r["headers"]["Idempotency-Key"] for r in receiver.requests] == [f"slipping:c1:{second.run_id}:1"]
    assert receiver.requests[0]["signature_ok"]
    tasks = task_list(ws, status="open")["tasks"]
    assert [(t["customer_id"], t["title"]) for t in tasks] == [
        ("c1", "Call Ann (Personal call no longer applies)")
    ]
    third = ws.run(as_of="2024-02-29")  # same state again: no transition, nothing new
    assert third.actions["fired"] == {"slipping": 0}
    assert len(list_outbox(ws)) == 2 and len(receiver.requests) == 1
    ws.close()
