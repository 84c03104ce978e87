"""Triggers on the built-in RFM over real shop data (UCI Online Retail II)."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentum.actions import deliver, list_outbox, process_run
from segmentum.views.tasks import tasks as task_list
from segmentum.workspace import Workspace

TRIGGERS = """\
triggers:
  slipping_loyal:
    on: move
    from: rfm.loyal_customers
    to: rfm.at_risk
    do:
      - task: {title: "Call {{ customer.customer_id }} ({{ customer.country }}): orders dropped", due: 3d}
  new_champions:
    on: enter
    segment: rfm.champions
    do:
      - export: {path: "exports/champions_{{ run.run_id }}.parquet"}
"""


@pytest.mark.realdata
@pytest.mark.slow
def test_rfm_triggers_on_online_retail(tmp_path: Path, shared_data: Path) -> None:
    ws = Workspace.init(tmp_path / "retail", name="retail")
    config = (
        (ws.root / "segmentum.yml").read_text().replace("builtins: [rfm, abc, lifecycle]", "builtins: [rfm]")
    )
    (ws.root / "segmentum.yml").write_text(config)
    (ws.root / "definitions" / "triggers.yml").write_text(TRIGGERS)
    ws = Workspace(ws.root)
    source = str(shared_data / "online_retail_ii_2009_2010.parquet").replace("'", "''")
    con = ws.store.cursor()
    con.execute(f"""
        CREATE TABLE main.orders AS
        SELECT Invoice::VARCHAR AS order_id, regexp_replace("Customer ID"::VARCHAR, '\\.0$', '') AS customer_id,
               min(InvoiceDate)::TIMESTAMP AS ordered_at,
               round(sum(Quantity * Price), 6)::DECIMAL(38, 6) AS amount,
               CASE WHEN Invoice::VARCHAR LIKE 'C%' THEN 'cancelled' END AS status,
               any_value(Country) AS country
        FROM read_parquet('{source}') WHERE "Customer ID" IS NOT NULL GROUP BY ALL""")
    con.execute("""CREATE TABLE main.customers AS SELECT customer_id, any_value(country) AS country
                   FROM main.orders GROUP BY customer_id""")
    first = ws.run(as_of="2010-06-30")
    assert first.actions["enqueued"] == 1  # the export; the moves of a first run are a baseline
    second = ws.run(as_of="2010-09-30")
    moved = second.transitions
    expected = set(
        moved[(moved.from_segment == "loyal_customers") & (moved.to_segment == "at_risk")].customer_id
    )
    assert len(expected) > 10
    tasks = task_list(ws, status="open")["tasks"]
    assert {t["customer_id"] for t in tasks} == expected
    assert all(t["title"].startswith("Call ") and "(" in t["title"] for t in tasks)
    assert process_run(ws, second.run_id).enqueued == 0
    deliver(ws)
    assert {r["status"] for r in list_outbox(ws)} == {"delivered"}
    import pyarrow.parquet as pq

    champions = pq.read_table(ws.root / "exports" / f"champions_{second.run_id}.parquet")
    assert champions.num_rows == int((second.memberships("rfm.champions")).shape[0])
    ws.close()
