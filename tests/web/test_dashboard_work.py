"""The pages' work (issue 19): the overview leads with what changed, the segment page's members table, plain
language beside definitions, migration cells that open their customers, the customer's summary, the task
queue and the editor's helpers; on a real workspace served by a real server (tests/web/conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from segmentum.views.changes import humanise, run_changes

pytestmark = pytest.mark.slow
USER, PASSWORD = "anna", "correct horse battery"  # tests/web/conftest.py's user


@contextmanager
def signed_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=120) as client:
        assert client.post("/login", data={"user": USER, "password": PASSWORD}).status_code == 303
        yield client


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_run_changes_compare_each_segment_with_its_previous_run(dashboard) -> None:
    ws = dashboard.ws
    changes = run_changes(ws)
    seg = changes.segments.set_index("name")
    before = dict(
        ws.store.query("SELECT name, count(*) FROM segmentum.memberships WHERE run_id = 1 GROUP BY name")
    )
    after = dict(
        ws.store.query("SELECT name, count(*) FROM segmentum.memberships WHERE run_id = 2 GROUP BY name")
    )
    for name in ("value_tier.vip", "value_tier.regular", "value_tier.low", "big_spenders"):
        assert seg.loc[name, "previous"] == before.get(name, 0)
        assert seg.loc[name, "customers"] == after.get(name, 0)
        assert seg.loc[name, "change"] == after.get(name, 0) - before.get(name, 0)
    # definition order, not name order: vip, regular, low as written in shop.yml
    tier = [n for n in changes.segments["name"] if n.startswith("value_tier.")]
    assert tier == ["value_tier.vip", "value_tier.regular", "value_tier.low", "value_tier.other"]
    movers = changes.movers()
    assert list(movers["change"].abs()) == sorted(movers["change"].abs(), reverse=True)
    assert humanise("rfm.at_risk") == "At risk"


def test_the_overview_leads_with_what_changed_in_definition_order(dashboard) -> None:
    with signed_in(dashboard.url) as client:
        html = client.get("/?lang=en").text
    assert "chart-overview" not in html  # the treemap of every segmentation is gone
    text = text_of(html)
    assert text.index("What changed since the previous run") < text.index("Value tier")
    movers = html[html.index('id="movers"') : html.index("</table>", html.index('id="movers"'))]
    assert "Vip" in movers or "Regular" in movers or "Low" in movers
    tier = html[html.index("<h2>Value tier</h2>") :]
    assert tier.index(">Vip<") < tier.index(">Regular<") < tier.index(">Low<")
    assert "\u00a0USD" in html  # revenue in the workspace's currency
    assert 'id="open-tasks"' in html
