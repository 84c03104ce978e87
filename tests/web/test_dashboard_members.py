"""The segment page's members: search and paging run in the store and agree with the snapshot."""

from __future__ import annotations

import httpx
import pytest

from segmentum.web import routes

pytestmark = pytest.mark.slow


def test_paging_and_search_cover_every_member_once(dashboard, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = dashboard.ws
    everyone = {
        r[0]
        for r in ws.store.cursor()
        .execute("SELECT customer_id FROM segmentum.memberships WHERE run_id = 2 AND name = 'value_tier.low'")
        .fetchall()
    }
    monkeypatch.setattr(routes, "PAGE_SIZE", 4)  # several pages from a small segment
    total = routes._members_page(ws, "value_tier.low", 2, "", 1).total
    assert total == len(everyone) > 4
    seen: list[str] = []
    for page in range(1, total // 4 + 2):
        seen += list(routes._members_page(ws, "value_tier.low", 2, "", page).rows["customer_id"])
    assert sorted(seen) == sorted(everyone)
    found = routes._members_page(ws, "value_tier.low", 2, "pl", 1)  # case-insensitive, any column
    assert found.total == sum(1 for c in everyone if int(c[1:]) % 3 == 1)
    assert set(found.rows["country"]) <= {"PL"}


def test_csv_of_an_unknown_segment_is_404(dashboard) -> None:
    with httpx.Client(base_url=dashboard.url, timeout=60) as client:
        client.post("/login", data={"user": "anna", "password": "correct horse battery"})
        response = client.get("/segments/value_tier.nope/members.csv")
        assert response.status_code == 404 and "value_tier.nope" in response.text
