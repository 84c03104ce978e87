"""The HTML report is self-contained (no external resources) and speaks English, Ukrainian and Russian."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from runs_helpers import DEFINITIONS, make_shop, set_orders
from segmentum.report import build_report, write_report
from segmentum.workspace import Workspace


@pytest.mark.parametrize(
    ("lang", "title"),
    [("en", "Segmentation report"), ("uk", "Звіт про сегментацію"), ("ru", "Отчёт о сегментации")],
)
def test_report_in_each_language_is_self_contained(
    handmade_snapshot: Workspace, lang: str, title: str
) -> None:
    html = build_report(handmade_snapshot, lang=lang)
    assert f"<title>{title}" in html
    assert "Plotly" in html and len(html) > 1_000_000  # plotly.js inlined
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?://", html), "no external resources"
    for chart in ("chart-pareto", "chart-migration"):
        assert f'id="{chart}"' in html


def test_numbers_are_formatted_for_the_locale(handmade_snapshot: Workspace) -> None:
    assert "50,0\u00a0%" in build_report(handmade_snapshot, lang="uk")
    assert "50.0%" in build_report(handmade_snapshot, lang="en")


def test_cli_writes_the_file(handmade_snapshot: Workspace) -> None:
    target = handmade_snapshot.root / "out" / "r.html"
    handmade_snapshot.close()  # the CLI process opens the store itself
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmentum.cli.main",
            "report",
            "-o",
            str(target),
            "--lang",
            "ru",
            "--workspace",
            str(handmade_snapshot.root),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_write_report_default_path(handmade_snapshot: Workspace) -> None:
    assert write_report(handmade_snapshot, lang="uk").name == "report.uk.html"


def _section(html: str, section: str) -> str:
    start = html.index(f'<section id="{section}">')
    return html[start : html.index("</section>", start)]


def _first_cells(html: str) -> list[str]:
    return re.findall(r"<tr><td>([^<]*)</td>", html)


SHOP = DEFINITIONS.replace("big:", "big_spender:")  # the shared shop, its segment titled in two words
ORDERS = [
    ("a", datetime(2024, 1, 5), 600),
    ("b", datetime(2024, 2, 10), 150),
    ("c", datetime(2024, 1, 20), 20),
    ("c", datetime(2024, 3, 3), 700),
]


@pytest.fixture
def shop(tmp_path: Path) -> Workspace:
    """The shared shop (runs_helpers) with its orders such that a segment shrinks, and two real runs: c turns
    gold in March and leaves bronze empty."""
    ws = make_shop(tmp_path / "ws", SHOP)
    set_orders(ws, ORDERS)
    ws.run(as_of="2024-02-29")
    ws.run(as_of="2024-03-31")
    yield ws
    ws.close()


def test_the_report_leads_with_what_changed_and_segments_in_definition_order(shop: Workspace) -> None:
    """As the dashboard's overview (issue 19): no treemap of segmentations; what changed since the previous
    run first, then each segmentation's segments in the order of their definition, titled as people read."""
    html = build_report(shop, lang="en")
    assert "chart-overview" not in html
    assert re.findall(r'<section id="([^"]+)">', html)[:2] == ["changes", "segments"]
    changes = _section(html, "changes")
    assert "compared with 2024-02-29" in changes and "Open tasks: 0" in changes
    # c moved from bronze to gold: gold 1 -> 2 with c's 720 of revenue; titles, not names
    assert re.search(
        r"<tr><td>Gold \(Tier\)</td><td[^>]*>2</td><td[^>]*>\+1</td><td[^>]*>1,320\xa0USD</td>", changes
    )
    assert re.search(r"<tr><td>Bronze \(Tier\)</td><td[^>]*>0</td><td[^>]*>−1</td>", changes)
    segments = _section(html, "segments")
    # definition order (gold, silver, then the else), not by name; standalone segments after the segmentations
    assert _first_cells(segments) == ["Gold", "Silver", "Bronze", "Big spender"]
    assert segments.index("<caption>Tier</caption>") < segments.index(
        "<caption>Standalone segments</caption>"
    )
    uk = _section(build_report(shop, lang="uk"), "changes")
    assert "Що змінилося з попереднього запуску" in uk and "compared with" not in uk


def test_the_report_loads_the_definitions_once(shop: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    import segmentum.spec.loader as loader

    loads: list[int] = []
    real = loader.load_definitions

    def counting(*args: object, **kwargs: object) -> object:
        loads.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "load_definitions", counting)
    build_report(shop, lang="uk")
    assert len(loads) == 1
