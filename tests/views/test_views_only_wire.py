"""Interfaces only wire (DESIGN.md section 3, principle 7): no interface reads the store itself, and every
dashboard page goes through the one sign-in check."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import APIRoute

import segmentum
from segmentum.web import routes

INTERFACES = ("cli", "api", "web", "report")
# what reading the store looks like: SQL text, a cursor, DuckDB's query calls
STORE_READ = re.compile(r"\bSELECT\b|\.cursor\(|\.execute\(|\.query\(|\.sql\(")
PUBLIC = {"/login", "/logout", "/static/plotly.js", "/static/{name}"}


def test_interfaces_hold_no_sql_and_open_no_cursor() -> None:
    package = Path(segmentum.__file__).parent
    found = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for name in INTERFACES
        for path in sorted((package / name).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if STORE_READ.search(line)
    ]
    assert not found, "interfaces must call segmentum.views / analysis instead:\n" + "\n".join(found)


def _routes(items: list) -> list[APIRoute]:
    """Routes of a router, those of included routers too (FastAPI may keep them as one included entry)."""
    out: list[APIRoute] = []
    for item in items:
        included = getattr(item, "original_router", None) or getattr(item, "router", None)
        if isinstance(item, APIRoute):
            out.append(item)
        elif included is not None:
            out += _routes(list(included.routes))
    return out


def test_every_dashboard_page_depends_on_the_one_sign_in_check() -> None:
    pages = [r for r in _routes(list(routes.router.routes)) if r.path not in PUBLIC]
    assert len(pages) >= 11
    for route in pages:
        calls = [d.call for d in route.dependant.dependencies]
        assert routes.signed_in in calls, f"{sorted(route.methods)} {route.path} does not check sign-in"
