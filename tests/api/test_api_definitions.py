"""Definitions over the API: list, validate unsaved text (file:line errors), preview (501 until available)."""

from __future__ import annotations

SHOP = """\
traits:
  revenue_365d: {sum: orders.amount, within: 365d}
segments:
  big_spenders:
    description: Spent at least 1000 in the last year
    where: "revenue_365d >= 1000"
"""


def _orders(ws) -> None:
    ws.store.cursor().execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, "
        "ordered_at TIMESTAMP, amount DECIMAL(38, 6), status VARCHAR)"
    )


def test_definitions_lists_segments_and_traits(live) -> None:
    _orders(live.ws)
    (live.ws.root / "definitions" / "shop.yml").write_text(SHOP, encoding="utf-8")
    with live.client("read") as client:
        body = client.get("/v1/definitions").json()
    assert [s["name"] for s in body["segments"]] == ["big_spenders"]
    assert "revenue_365d" in {t["name"] for t in body["traits"]}
    assert body["segments"][0]["location"].startswith("definitions/shop.yml:")


def test_validate_reports_errors_of_unsaved_text_with_their_place(live) -> None:
    _orders(live.ws)
    broken = SHOP.replace('"revenue_365d >= 1000"', '"revenu_365d >= 1000"')
    with live.client("write") as client:
        bad = client.post("/v1/definitions/validate", json={"files": {"definitions/shop.yml": broken}})
        good = client.post("/v1/definitions/validate", json={"files": {"definitions/shop.yml": SHOP}})
        outside = client.post("/v1/definitions/validate", json={"files": {"../x.yml": SHOP}})
    assert bad.status_code == 200 and bad.json()["valid"] is False
    assert (
        "definitions/shop.yml:6" in bad.json()["error"]
        and "did you mean 'revenue_365d'" in bad.json()["error"]
    )
    assert good.json()["valid"] is True and [s["name"] for s in good.json()["segments"]] == ["big_spenders"]
    assert outside.status_code == 422
    assert not (live.ws.root / "definitions" / "shop.yml").exists()  # nothing was saved


def test_preview_of_unchanged_definitions_answers(live) -> None:
    with live.client("write") as client:
        response = client.post("/v1/definitions/preview", json={"files": {}})
    assert response.status_code == 200, response.text


def test_explain_checks_the_segment_name_first(live) -> None:
    with live.client("read") as client:
        response = client.get("/v1/customers/c1/explain/no_such_segment")
    assert response.status_code == 404


def test_validate_checks_the_new_functions_with_their_place(live) -> None:
    """The editor validates through the loader: a wrong date_trunc unit or was_in_segment name is named where
    it is, with a did-you-mean; a correct use of every new function is valid."""
    _orders(live.ws)
    good = SHOP + (
        "  weekend: {where: \"weekday(last_at) in (6, 7) and date_trunc('month', last_at) = date_trunc('month', as_of)\"}\n"
        "  fell: {where: \"was_in_segment('big_spenders', 30d) and not in_segment('big_spenders')\"}\n"
        "  top: {where: \"percent_rank_by(revenue_365d, if(hours_between(last_at, as_of) > 24, 'old', 'new')) > 0.5\"}\n"
    ).replace("segments:\n", "segments:\n", 1)
    good = good.replace("traits:\n", "traits:\n  last_at: {max: orders.ordered_at}\n", 1)
    with live.client("write") as client:
        ok = client.post("/v1/definitions/validate", json={"files": {"definitions/shop.yml": good}})
        unit = client.post(
            "/v1/definitions/validate",
            json={
                "files": {
                    "definitions/shop.yml": good.replace(
                        "date_trunc('month', last_at)", "date_trunc('mnth', last_at)"
                    )
                }
            },
        )
        name = client.post(
            "/v1/definitions/validate",
            json={
                "files": {
                    "definitions/shop.yml": good.replace(
                        "was_in_segment('big_spenders'", "was_in_segment('big_spender'"
                    )
                }
            },
        )
    assert ok.json()["valid"] is True, ok.json()
    assert unit.json()["valid"] is False
    assert (
        "definitions/shop.yml:8:" in unit.json()["error"] and "did you mean 'month'" in unit.json()["error"]
    )
    assert name.json()["valid"] is False
    assert "definitions/shop.yml:9:" in name.json()["error"]
    assert "unknown segment 'big_spender'; did you mean 'big_spenders'?" in name.json()["error"]
