"""Every interface reads the store through the same read model, so they agree: members of a segment from the CLI,
the API, the dashboard and the export sink; size history from the API and the dashboard; a customer's 360 from
the CLI and the API; the filter language from the CLI and the API."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import numpy as np
import pytest
from views_support import FILTER, PASSWORD, USER

pytestmark = pytest.mark.slow


def _api(shop) -> httpx.Client:
    return httpx.Client(base_url=shop.url, headers={"Authorization": f"Bearer {shop.key}"}, timeout=60)


@contextmanager
def _dashboard(shop) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.url, timeout=60) as client:
        assert client.post("/login", data={"user": USER, "password": PASSWORD}).status_code == 303
        yield client


def _csv_ids(text: str) -> list[str]:
    assert text.startswith("\ufeff")  # every CSV export starts with a UTF-8 byte order mark (for Excel)
    return [r["customer_id"] for r in csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))]


def _stored(shop, name: str) -> list[str]:
    """The oracle: the memberships table of the newest complete batch run, read directly."""
    rows = (
        shop.ws.store.cursor()
        .execute(
            "SELECT customer_id FROM segmentum.memberships WHERE name = ? AND run_id = (SELECT max(run_id) "
            "FROM segmentum.runs WHERE status = 'complete' AND kind = 'batch') ORDER BY customer_id",
            [name],
        )
        .fetchall()
    )
    return [r[0] for r in rows]


def test_members_of_a_segment_are_one_set_from_cli_api_dashboard_and_export(shop) -> None:
    expected = _stored(shop, "value_tier.low")
    with _api(shop) as api:
        as_csv = _csv_ids(api.get("/v1/segments/value_tier.low/members", params={"format": "csv"}).text)
        page = api.get("/v1/segments/value_tier.low/members", params={"limit": 100_000}).json()
    with _dashboard(shop) as dashboard:
        response = dashboard.get("/segments/value_tier.low/members.csv")
        assert response.headers["content-type"].startswith("text/csv")
        from_dashboard = _csv_ids(response.text)
    # the export sink ran after run 4 (`Workspace.run` delivers what its triggers enqueued)
    export = shop.ws.root / "exports" / "low_4.csv"
    from_export = _csv_ids(export.read_text(encoding="utf-8"))
    assert len(expected) > 10
    assert shop.cli["members"] == expected
    assert as_csv == expected
    assert [m["customer_id"] for m in page["members"]] == expected and page["total"] == len(expected)
    assert from_dashboard == expected
    assert from_export == expected


def test_a_filter_selects_the_same_members_from_cli_and_api(shop) -> None:
    with _api(shop) as api:
        page = api.get("/v1/segments/value_tier.low/members", params={"filter": FILTER, "limit": 1000}).json()
    # the oracle: the condition evaluated in Python over the run's traits and the customers' attributes
    rows = (
        shop.ws.store.cursor()
        .execute(
            "SELECT m.customer_id, c.country, t.revenue_365d FROM segmentum.memberships m "
            "JOIN segmentum.traits_4 t USING (customer_id) JOIN main.customers c USING (customer_id) "
            "WHERE m.run_id = 4 AND m.name = 'value_tier.low' ORDER BY 1"
        )
        .fetchall()
    )
    expected = [
        cid for cid, country, revenue in rows if country == "PL" and revenue is not None and revenue > 100
    ]
    assert 0 < len(expected) < len(rows)
    assert [m["customer_id"] for m in page["members"]] == expected == shop.cli["filtered"]


def _chart_points(html: str, div_id: str) -> dict[str, tuple[list[str], list[int]]]:
    """Trace name -> (x, y) of a Plotly chart in a page (y may come as a base64 typed array)."""
    match = re.search(r'Plotly\.newPlot\(\s*"' + re.escape(div_id) + r'",\s*', html)
    assert match, f"no chart {div_id} on the page"
    data, _ = json.JSONDecoder().raw_decode(html, match.end())
    out = {}
    for trace in data:
        y = trace["y"]
        if isinstance(y, dict):  # {"dtype": "i8", "bdata": "..."}
            y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).tolist()
        out[trace["name"]] = ([str(x)[:19].replace("T", " ") for x in trace["x"]], [int(v) for v in y])
    return out


@pytest.mark.parametrize("name", ["big_spenders", "value_tier.vip"])
def test_size_history_is_the_same_from_the_api_and_the_dashboard(shop, name: str) -> None:
    with _api(shop) as api:
        history = api.get(f"/v1/segments/{name}").json()["history"]
    with _dashboard(shop) as dashboard:
        page = dashboard.get(f"/segments/{name}")
        assert page.status_code == 200
    x, y = _chart_points(page.text, "chart-size")[name]
    assert x == [h["as_of"][:19].replace("T", " ") for h in history]
    assert y == [h["customers"] for h in history]
    # ordered by as_of (run 3 is a backfill-like run computed after 1 and 2); run 3 computed big_spenders
    # and it was empty there: 0, not dropped; run 4 (`--only value_tier`) did not compute it: absent
    runs = [h["run_id"] for h in history]
    if name == "big_spenders":
        assert runs == [3, 1, 2] and history[0]["customers"] == 0 and min(y[1:]) > 0
    else:
        assert runs == [3, 1, 2, 4]


def test_customer_360_from_cli_and_api_agree(shop) -> None:
    with _api(shop) as api:
        from_api = api.get("/v1/customers/c001").json()
    assert from_api == shop.cli["customer"]
    assert from_api["segments"] and from_api["traits"]["revenue_365d"] is not None
    assert [t["title"] for t in from_api["tasks"]] == ["Call c001"]
    # in time order: run 3 (a backfill at 2023-12-31, computed after runs 1 and 2) comes first
    assert [h["run_id"] for h in from_api["history"]] == [3, 1, 2, 4]


def test_a_bad_filter_is_422_with_its_position(shop) -> None:
    with _api(shop) as api:
        cases = {
            "country = 'PL' and": "filter:1:19: expected a value",
            "revenu_365d > 1": "filter:1:1: unknown trait or attribute 'revenu_365d'; did you mean 'revenue_365d'?",
            "revenue_365d > 'lots'": "filter:1:16: 'lots' is not a number",
        }
        for text, message in cases.items():
            response = api.get("/v1/segments/value_tier.low/members", params={"filter": text})
            assert response.status_code == 422, text
            body = response.json()["error"]
            assert body["code"] == "invalid_request" and body["message"].startswith(message), body
        second = api.get(
            "/v1/segments/value_tier.low/members", params={"filter": ["country = 'PL'", "orders_total >"]}
        )
        assert second.status_code == 422 and second.json()["error"]["message"].startswith("filter[2]:1:15:")


def test_a_quote_in_a_filter_value_is_text_and_injects_nothing(shop) -> None:
    with _api(shop) as api:
        everyone = "/v1/segments/value_tier.*/members"
        obrien = api.get(everyone, params={"filter": "name = 'O''Brien'"}).json()
        assert [m["customer_id"] for m in obrien["members"]] == ["c007"]
        tautology = api.get(everyone, params={"filter": "name = 'x'' or ''1''=''1'"}).json()
        assert tautology["total"] == 0
        dropped = api.get(everyone, params={"filter": "country = 'PL'; DROP TABLE segmentum.runs; --"})
        assert dropped.status_code == 422 and "unexpected character ';'" in dropped.json()["error"]["message"]
        assert api.get("/v1/runs").json()["total"] == 4
