"""Every message the dashboard shows has a Ukrainian and a Russian translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segmentum.i18n import catalog

WEB = Path(__file__).resolve().parents[2] / "src" / "segmentum" / "web"
MESSAGE = re.compile(r"""(?<![\w.])t\(\s*(["'])(.+?)\1""")


def messages() -> set[str]:
    found: set[str] = set()
    for path in [*WEB.glob("templates/*.html"), WEB / "routes.py"]:
        found |= {m.group(2) for m in MESSAGE.finditer(path.read_text(encoding="utf-8"))}
    return found


@pytest.mark.parametrize("lang", ["uk", "ru"])
def test_every_dashboard_message_is_translated(lang: str) -> None:
    found = messages()
    assert len(found) > 50 and "Definition editor" in found
    missing = sorted(m for m in found if m not in catalog(lang))
    assert not missing, f"add to src/segmentum/locales/{lang}.json: {missing}"
