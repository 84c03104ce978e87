"""Reads keep answering, from the previous complete run, while a batch run writes."""

from __future__ import annotations

import time

import pytest

DEFS = """\
traits:
  cart_adds_7d: {count: events, where: "event = 'cart_add'", within: 7d}
  views_30d: {count: events, where: "event = 'page_view'", within: 30d}
segments:
  cart_active: {where: "cart_adds_7d > 0"}
  browsers: {where: "views_30d >= 3 and cart_adds_7d = 0"}
"""


@pytest.mark.slow
def test_reads_answer_from_the_previous_run_while_a_batch_run_writes(live) -> None:
    ws = live.ws
    (ws.root / "definitions" / "iso.yml").write_text(DEFS, encoding="utf-8")
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.events AS SELECT 'e' || i AS event_id, 'c' || (i % 200000) AS customer_id, "
        "CASE WHEN i % 7 = 0 THEN 'cart_add' ELSE 'page_view' END AS event, "
        "now()::TIMESTAMP - to_seconds(i % 2000000) AS occurred_at, NULL::JSON AS properties "
        "FROM range(2000000) t(i)"
    )
    con.execute("CREATE TABLE main.customers AS SELECT DISTINCT customer_id FROM main.events")
    with live.client("write") as client:
        assert client.post("/v1/runs", json={}).status_code == 202
        while client.get("/v1/runs").json()["in_progress"] is not None:
            time.sleep(0.1)
        first = client.get("/v1/segments").json()
        assert first["run"] is not None
        assert client.post("/v1/runs", json={}).status_code == 202
        answers, slowest = 0, 0.0
        while client.get("/v1/runs").json()["in_progress"] is not None:
            t0 = time.monotonic()
            body = client.get("/v1/segments").json()
            slowest = max(slowest, time.monotonic() - t0)
            # until the new run commits, readers see the previous run whole; then the new one whole
            if body["run"]["run_id"] == first["run"]["run_id"]:
                assert body["segments"] == first["segments"]
                answers += 1
        second = client.get("/v1/segments").json()
    print(f"\n{answers} reads answered during the run; slowest {slowest:.3f} s")
    assert second["run"]["run_id"] > first["run"]["run_id"]
    assert answers >= 1 and slowest < 5
