"""Explain and preview through the API, with the real engine."""

from __future__ import annotations

import pytest

DEFS = """\
traits:
  cart_adds_7d: {count: events, where: "event = 'cart_add'", within: 7d}
segments:
  cart_active:
    where: "cart_adds_7d > 0"
"""


@pytest.fixture
def engine_live(live):
    (live.ws.root / "definitions" / "rt.yml").write_text(DEFS, encoding="utf-8")
    con = live.ws.store.cursor()
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    con.execute("INSERT INTO main.customers VALUES ('a'), ('b')")
    con.execute(
        "CREATE TABLE main.events (event_id VARCHAR, customer_id VARCHAR, event VARCHAR, "
        "occurred_at TIMESTAMP, properties JSON)"
    )
    con.execute(
        "INSERT INTO main.events VALUES ('e1', 'a', 'cart_add', now()::TIMESTAMP - INTERVAL 1 DAY, NULL), "
        "('e2', 'b', 'page_view', now()::TIMESTAMP - INTERVAL 1 DAY, NULL)"
    )
    live.ws.run(as_of=None, deliver=False)
    return live


@pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")
def test_explain_shows_each_condition_with_its_values(engine_live) -> None:
    with engine_live.client("read") as client:
        a = client.get("/v1/customers/a/explain/cart_active")
        b = client.get("/v1/customers/b/explain/cart_active")
    assert a.status_code == 200, a.text
    assert a.json()["member"] is True and b.json()["member"] is False
    assert b.json()["checks"][0]["values"] == {"cart_adds_7d": 0}


@pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")
def test_preview_of_an_edit_lists_who_would_enter_and_leave(engine_live) -> None:
    edited = DEFS.replace('"cart_adds_7d > 0"', '"cart_adds_7d = 0"')
    with engine_live.client("write") as client:
        response = client.post("/v1/definitions/preview", json={"files": {"definitions/rt.yml": edited}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changed"] == {"cart_active": "edited"}
    change = body["segments"][0]
    assert (change["entered"], change["left"]) == (["b"], ["a"])
    assert not engine_live.ws.store.query("SELECT * FROM segmentum.runs WHERE run_id > 1")  # nothing stored
