"""The report's segment profiles show the numbers the dashboard's segment pages show (both read the run's
stored profiles): size, shares, orders, recency, and the first distinguishing features in the same order."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from segmentum.analysis.base import segment_names
from segmentum.analysis.profile import COMPUTED
from segmentum.report.build import PROFILE_FEATURES, build_report
from segmentum.store import snapshots as snapshot

USER, PASSWORD = "anna", "correct horse battery"  # tests/web/conftest.py's user
# the metrics both show in the same format (the page shows money in the currency, the report a plain number)
SHARED = ("Customers", "Share", "Revenue share", "Orders per customer", "Days since last order")


def _text(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", value)).strip()


def page_numbers(page: str) -> tuple[dict[str, str], list[tuple[str, ...]]]:
    metrics = {
        _text(k): _text(v) for k, v in re.findall(r'<div class="metric">(.*?)<b>(.*?)</b></div>', page)
    }
    table = re.search(r'<table id="features">(.*?)</table>', page, re.S)
    features = []
    for row in re.findall(r"<tr>(<td>.*?)</tr>", table.group(1) if table else ""):
        cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        features.append(tuple(cells[:5]))  # feature, segment, everyone, direction, effect size
    return metrics, features


def report_numbers(report: str, name: str) -> tuple[dict[str, str], list[tuple[str, ...]]]:
    blocks = [
        b for b in report.split('<div class="profile">')[1:] if b.lstrip().startswith(f"<h3>{name}</h3>")
    ]
    assert len(blocks) == 1, name
    block = blocks[0]
    metrics = {
        _text(k): _text(v) for k, v in re.findall(r'<tr><td>(.*?)</td><td class="num">(.*?)</td></tr>', block)
    }
    features = []
    for item in re.findall(r"<li>(.*?)</li>", block, re.S):
        found = re.fullmatch(
            r"(.*): (.*) · Everyone (.*) \((.*), Effect size ([^,]*)(?:, Lift .*)?\)", _text(item)
        )
        assert found, item
        features.append(found.groups())
    return metrics, features


def test_the_reports_profiles_show_the_pages_numbers(dashboard: Any) -> None:
    ws = dashboard.ws
    run = snapshot.latest_run(ws.store)
    assert run is not None
    with_members = segment_names(ws, run.run_id)
    with httpx.Client(base_url=dashboard.url, timeout=120) as client:
        assert client.post("/login", data={"user": USER, "password": PASSWORD}).status_code == 303
        # two pages first (each computes and stores its profile), then the report (computes the rest), then
        # every page: each reads what the other stored
        first = {name: client.get(f"/segments/{name}").text for name in with_members[:2]}
        count = COMPUTED["count"]
        report = build_report(ws, lang="en")
        # every segment of the run, the empty ones too
        names = re.findall(r'<div class="profile">\s*<h3>(.*?)</h3>', report)
        assert set(with_members) < set(names)
        assert COMPUTED["count"] == count + len(names) - 2
        pages = {name: first.get(name) or client.get(f"/segments/{name}").text for name in names}
    assert COMPUTED["count"] == count + len(names) - 2  # the pages computed nothing either
    compared = 0
    for name in names:
        page_metrics, page_features = page_numbers(pages[name])
        metrics, features = report_numbers(report, name)
        assert {k: page_metrics[k] for k in SHARED} == {k: metrics[k] for k in SHARED}, name
        assert features == page_features[:PROFILE_FEATURES], name
        compared += len(features)
    assert compared > 3  # real features were compared, not only empty lists
