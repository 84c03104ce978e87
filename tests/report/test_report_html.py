"""The HTML report is self-contained (no external resources) and speaks English, Ukrainian and Russian."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

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
    for chart in ("chart-overview", "chart-pareto", "chart-migration"):
        assert f'id="{chart}"' in html
    assert "value_tier.vip" in html


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
