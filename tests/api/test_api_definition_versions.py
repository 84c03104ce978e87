"""Definitions changed through the API (DESIGN section 5.2): If-Match versions, who saved, rollback, and the
dashboard editor on the same versions."""

from __future__ import annotations

import threading

import httpx

from segmentum.errors import VersionConflictError
from segmentum.service import definitions as versions

SHOP = """\
traits:
  revenue_365d: {sum: orders.amount, within: 365d}
segments:
  big_spenders:
    where: "revenue_365d >= 1000"
"""
STRICTER = SHOP.replace(">= 1000", ">= 5000")
BROKEN = SHOP.replace('"revenue_365d >= 1000"', '"revenu_365d >= 1000"')


def _orders(ws) -> None:
    ws.store.cursor().execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, "
        "ordered_at TIMESTAMP, amount DECIMAL(38, 6), status VARCHAR)"
    )


def test_create_change_and_read_back_with_versions_and_who_saved(live) -> None:
    _orders(live.ws)
    with live.client("write") as client:
        created = client.put("/v1/definitions/shop.yml", json={"text": SHOP})
        assert created.status_code == 201, created.text
        tag = created.headers["ETag"]
        read = client.get("/v1/definitions/shop.yml")
        assert read.json()["text"] == SHOP and read.headers["ETag"] == tag and read.json()["version"] == 1

        missing = client.put("/v1/definitions/shop.yml", json={"text": STRICTER})
        assert missing.status_code == 428 and missing.json()["error"]["details"]["current"] == tag

        changed = client.put("/v1/definitions/shop.yml", json={"text": STRICTER}, headers={"If-Match": tag})
        assert changed.status_code == 200, changed.text
        assert changed.json()["version"] == 2 and changed.headers["ETag"] != tag

        history = client.get("/v1/definitions/shop.yml/versions").json()
        one = client.get("/v1/definitions/shop.yml/versions/1").json()
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert {v["saved_by"] for v in history["versions"]} == {"key:test write"}
    assert history["current"]["version"] == 2
    assert one["text"] == SHOP
    assert (live.ws.root / "definitions" / "shop.yml").read_text(encoding="utf-8") == STRICTER


def test_an_invalid_text_is_refused_and_nothing_is_written(live) -> None:
    _orders(live.ws)
    with live.client("write") as client:
        tag = client.put("/v1/definitions/shop.yml", json={"text": SHOP}).headers["ETag"]
        bad = client.put("/v1/definitions/shop.yml", json={"text": BROKEN}, headers={"If-Match": tag})
        outside = client.put("/v1/definitions/..%2Fsegmentum.yml", json={"text": SHOP})
        history = client.get("/v1/definitions/shop.yml/versions").json()
    assert bad.status_code == 422 and "did you mean 'revenue_365d'" in bad.json()["error"]["message"]
    assert outside.status_code in (404, 422)
    assert (live.ws.root / "definitions" / "shop.yml").read_text(encoding="utf-8") == SHOP
    assert [v["version"] for v in history["versions"]] == [1]


def test_two_concurrent_edits_of_one_version_one_wins_the_other_gets_412(live) -> None:
    _orders(live.ws)
    with live.client("write") as client:
        tag = client.put("/v1/definitions/shop.yml", json={"text": SHOP}).headers["ETag"]
    texts = [SHOP.replace(">= 1000", f">= {n}") for n in (2000, 3000)]
    answers: list[httpx.Response] = []
    start = threading.Barrier(2)

    def edit(text: str) -> None:
        with live.client("write") as client:
            start.wait()
            answers.append(
                client.put("/v1/definitions/shop.yml", json={"text": text}, headers={"If-Match": tag})
            )

    threads = [threading.Thread(target=edit, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
    winner = next(a for a in answers if a.status_code == 200)
    on_disk = (live.ws.root / "definitions" / "shop.yml").read_text(encoding="utf-8")
    assert on_disk in texts and versions.etag(on_disk) == winner.headers["ETag"]
    assert [v.version for v in versions.versions(live.ws, "shop.yml")] == [1, 2]  # the loser wrote nothing


def test_rollback_restores_the_earlier_meaning_and_its_fingerprint(live) -> None:
    _orders(live.ws)
    with live.client("write") as client:
        first = client.put("/v1/definitions/shop.yml", json={"text": SHOP})
        second = client.put(
            "/v1/definitions/shop.yml", json={"text": STRICTER}, headers={"If-Match": first.headers["ETag"]}
        )
        stale = client.post(
            "/v1/definitions/shop.yml/rollback",
            json={"version": 1},
            headers={"If-Match": first.headers["ETag"]},
        )
        back = client.post(
            "/v1/definitions/shop.yml/rollback",
            json={"version": 1},
            headers={"If-Match": second.headers["ETag"]},
        )
    assert second.json()["hashes"]["big_spenders"] != first.json()["hashes"]["big_spenders"]
    assert stale.status_code == 412
    assert back.status_code == 200, back.text
    assert (
        back.json()["version"] == 3 and back.json()["action"] == "rollback" and back.json()["restored"] == 1
    )
    assert back.json()["hashes"]["big_spenders"] == first.json()["hashes"]["big_spenders"]
    assert live.ws.definitions().hashes["big_spenders"] == first.json()["hashes"]["big_spenders"]


def test_a_hand_edit_on_disk_is_a_version_that_a_rollback_can_return_to(live) -> None:
    _orders(live.ws)
    path = live.ws.root / "definitions" / "shop.yml"
    path.write_text(SHOP, encoding="utf-8")  # edited by hand, never saved through the API
    with live.client("write") as client:
        tag = client.get("/v1/definitions/shop.yml").headers["ETag"]
        changed = client.put("/v1/definitions/shop.yml", json={"text": STRICTER}, headers={"If-Match": tag})
        history = client.get("/v1/definitions/shop.yml/versions").json()["versions"]
        read_only = httpx.put(
            f"{live.url}/v1/definitions/shop.yml",
            json={"text": SHOP},
            headers={"Authorization": f"Bearer {live.keys['read']}", "If-Match": changed.headers["ETag"]},
        )
    assert changed.status_code == 200
    assert [(v["version"], v["action"], v["saved_by"]) for v in history] == [
        (1, "found", None),
        (2, "save", "key:test write"),
    ]
    assert read_only.status_code == 403


def test_the_dashboard_editor_saves_through_the_same_versions(live) -> None:
    """The editor's form carries the tag it was opened on: a save after someone else's is refused, not lost."""
    _orders(live.ws)
    ws = live.ws
    opened = versions.save(ws, "shop.yml", SHOP, by="user:ann", if_match=None)
    versions.save(ws, "shop.yml", STRICTER, by="key:bot", if_match=opened.etag)  # someone else saves
    try:
        versions.save(ws, "shop.yml", SHOP.replace("1000", "1500"), by="user:ann", if_match=opened.etag)
    except VersionConflictError as exc:
        assert exc.current == versions.state(ws, "shop.yml").etag
    else:
        raise AssertionError("a stale save must be refused")
    assert [v.saved_by for v in versions.versions(ws, "shop.yml")] == ["user:ann", "key:bot"]
