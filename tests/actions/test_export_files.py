"""Exports a CRM imports without editing (issue 19 item 10): CSV with a BOM and the asked delimiter, a real
.xlsx, JSON with numbers and lists, chosen columns (traits and model outputs too), money with the workspace's
decimals. Every file is read back by pandas / openpyxl, as a spreadsheet or a CRM would."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from segmentum.actions.sinks.export import ExportOptions, export_bytes, export_options, write_export
from segmentum.errors import ConfigError
from segmentum.workspace import Workspace

ROWS = pd.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3"],
        "name": ["Світлана Коваль", '=HYPERLINK("http://x")', "Ann; Bob"],
        "interests": [
            np.array(["fashion", "travel"]),
            None,
            np.array([], dtype=object),
        ],  # as DuckDB lists come
        "revenue": [Decimal("1234.565000"), Decimal("-5.000000"), None],  # DECIMAL(38, 6) money
        "clv_12m": [100.0049, 2.5, float("nan")],  # a model output in money
        "employees": [13.0, float("nan"), 7.0],  # whole numbers with a missing value
        "p_alive": [0.25, 0.5, 1.0],
        "last_order_at": pd.to_datetime(["2026-12-01 10:30:00", "2026-11-02 00:00:00", None]),
    }
)
OPTIONS = ExportOptions(delimiter=";", money_decimals=2)


def test_csv_has_a_bom_the_delimiter_rounded_money_and_readable_lists() -> None:
    content = export_bytes(ROWS, "csv", OPTIONS)
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark: Excel on Windows reads Cyrillic
    text = content.decode("utf-8-sig")
    assert (
        text.splitlines()[0] == "customer_id;name;interests;revenue;clv_12m;employees;p_alive;last_order_at"
    )
    back = pd.read_csv(io.BytesIO(content), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    first = back.iloc[0]
    assert first["name"] == "Світлана Коваль"
    assert first["interests"] == "fashion, travel"  # not ['fashion' 'travel']
    assert first["revenue"] == "1234.57" and back.iloc[1]["revenue"] == "-5.00"  # half up, 2 decimals
    assert first["clv_12m"] == "100.00"
    assert first["employees"] == "13" and back.iloc[1]["employees"] == ""  # not 13.0
    assert first["last_order_at"] == "2026-12-01 10:30:00"
    assert back.iloc[1]["name"].startswith("'=")  # never a formula
    assert back.iloc[2]["name"] == "Ann; Bob"  # the delimiter inside a cell is quoted


def test_csv_comma_and_no_bom_when_configured() -> None:
    content = export_bytes(ROWS, "csv", ExportOptions(delimiter=",", bom=False, money_decimals=0))
    assert content.startswith(b"customer_id,name,")
    back = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    assert back.iloc[0]["revenue"] == "1235"
    with pytest.raises(ConfigError, match="delimiter"):
        ExportOptions(delimiter="|")


def test_xlsx_holds_typed_cells() -> None:
    book = openpyxl.load_workbook(io.BytesIO(export_bytes(ROWS, "xlsx", OPTIONS)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header == list(ROWS.columns)
    first = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert first["name"].value == "Світлана Коваль"
    assert first["revenue"].value == pytest.approx(1234.57) and first["revenue"].number_format == "#,##0.00"
    assert first["clv_12m"].value == pytest.approx(100.0)
    assert first["employees"].value == 13 and first["p_alive"].value == 0.25
    assert first["interests"].value == "fashion, travel"
    assert first["last_order_at"].value == datetime(2026, 12, 1, 10, 30)
    second = {h: c for h, c in zip(header, sheet[3], strict=True)}
    assert second["name"].data_type == "s" and second["name"].value.startswith(
        "=HYPERLINK"
    )  # text, not a formula
    assert second["employees"].value is None
    frame = pd.read_excel(io.BytesIO(export_bytes(ROWS, "xlsx", OPTIONS)))
    assert frame["revenue"].tolist()[:2] == [1234.57, -5.0]


def test_json_has_numbers_as_numbers_and_lists_as_lists() -> None:
    rows = json.loads(export_bytes(ROWS, "json", OPTIONS))
    assert rows[0]["interests"] == ["fashion", "travel"] and rows[2]["interests"] == []
    assert rows[0]["revenue"] == 1234.57 and isinstance(rows[0]["revenue"], float)
    assert rows[0]["employees"] == 13 and rows[1]["employees"] is None
    assert rows[0]["last_order_at"] == "2026-12-01T10:30:00" and rows[2]["last_order_at"] is None
    lines = export_bytes(ROWS, "jsonl", OPTIONS).decode().splitlines()
    assert [json.loads(line)["customer_id"] for line in lines] == ["c1", "c2", "c3"]


def test_options_come_from_the_workspace(workspace: Workspace) -> None:
    assert export_options(workspace) == ExportOptions(delimiter=",", bom=True, money_decimals=2)
    config = workspace.root / "segmentum.yml"
    config.write_text(
        config.read_text().replace("currency: USD", "currency: JPY") + "\nexports: {delimiter: ';'}\n"
    )
    ws = Workspace(workspace.root)
    try:
        assert export_options(ws) == ExportOptions(delimiter=";", bom=True, money_decimals=0)
        assert export_options(ws, ",").delimiter == ","
    finally:
        ws.close()


CUSTOMERS = "customer_id,name,email\nc1,Олена Шевченко,olena@example.com\nc2,Bob,bob@example.com\nc3,Cid,\n"
ORDERS = "order_id,customer_id,ordered_at,amount\no1,c1,2026-01-05,100.125\no2,c1,2026-02-05,300\no3,c2,2026-02-10,50\n"
DEFINITIONS = 'traits:\n  spend: {sum: orders.amount}\nsegments:\n  buyers: {where: "spend > 0"}\n'


def _shop(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    ws = Workspace.init(root, name="export", currency="UAH")
    config = (root / "segmentum.yml").read_text().replace("builtins: [rfm, abc, lifecycle]", "builtins: []")
    (root / "segmentum.yml").write_text(config)
    (root / "definitions" / "shop.yml").write_text(DEFINITIONS)
    ws.close()
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "orders.csv").write_text(ORDERS)
    ws = Workspace(root)
    try:
        ws.ingest("customers", tmp_path / "customers.csv")
        ws.ingest("orders", tmp_path / "orders.csv")
        ws.run(as_of="2026-03-01")
        # a model output per customer, as `segmentum clv` stores it
        ws.store.con.execute(
            "CREATE TABLE segmentum.model_clv AS SELECT * FROM (VALUES ('c1', 1234.5678, 0.9), ('c2', 10.0, 0.5)) "
            "t(customer_id, clv_12m, p_alive)"
        )
    finally:
        ws.close()
    return root


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args, "-w", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    return done


def test_members_exports_chosen_columns_to_xlsx_and_csv(tmp_path: Path) -> None:
    root = _shop(tmp_path)
    columns = "name,spend,clv_12m,email"
    _cli(root, "members", "buyers", "-o", str(tmp_path / "b.xlsx"), "--columns", columns)
    frame = pd.read_excel(tmp_path / "b.xlsx")
    assert list(frame.columns) == ["customer_id", "name", "spend", "clv_12m", "email"]
    assert frame["name"].tolist() == ["Олена Шевченко", "Bob"]
    assert frame["spend"].tolist() == [400.13, 50.0]  # money with UAH's 2 decimals (100.125 rounds half up)
    assert frame["clv_12m"].tolist() == [1234.57, 10.0]  # the model output, chosen like an attribute

    _cli(root, "members", "buyers", "-o", str(tmp_path / "b.csv"), "--columns", columns, "--delimiter", ";")
    raw = (tmp_path / "b.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfcustomer_id;name;spend;clv_12m;email\r\n")
    back = pd.read_csv(tmp_path / "b.csv", sep=";", encoding="utf-8-sig", dtype=str)
    assert back.iloc[0].tolist() == ["c1", "Олена Шевченко", "400.13", "1234.57", "olena@example.com"]

    failed = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "members", "buyers", "-c", "nmae", "-w", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert failed.returncode == 1 and "no column 'nmae' (did you mean 'name'?)" in failed.stderr


def test_the_api_and_the_dashboard_export_through_the_same_home(tmp_path: Path) -> None:
    import httpx

    from segmentum.api.main import create_app
    from segmentum.api.server import web_routers
    from segmentum.service import users
    from segmentum.service.keys import KeyStore
    from servers import start_app

    root = _shop(tmp_path)
    ws = Workspace(root)
    users.add_user(ws.store, "anna", "correct horse battery")
    key = KeyStore(ws.store).create("read", "export test")[0]
    server, thread, url = start_app(create_app(ws, extra_routers=web_routers(), realtime=False))
    try:
        with httpx.Client(base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"}) as api:
            csv = api.get(
                "/v1/segments/buyers/members",
                params={"format": "csv", "delimiter": ";", "columns": ["name", "spend", "clv_12m"]},
            )
            assert csv.status_code == 200, csv.text
            assert csv.content.startswith(b"\xef\xbb\xbfcustomer_id;name;spend;clv_12m\r\nc1;")
            xlsx = api.get("/v1/segments/buyers/members", params={"format": "xlsx"})
            assert xlsx.status_code == 200, xlsx.text
            assert xlsx.headers["content-type"].startswith("application/vnd.openxml")
            frame = pd.read_excel(io.BytesIO(xlsx.content))
            assert frame["customer_id"].tolist() == ["c1", "c2"] and frame["spend"].tolist() == [400.13, 50.0]
            as_json = api.get("/v1/segments/buyers/members", params={"columns": ["spend", "clv_12m"]}).json()
            assert as_json["members"][0] == {
                "customer_id": "c1",
                "spend": pytest.approx(400.125),
                "clv_12m": 1234.5678,
            }
        with httpx.Client(base_url=url, timeout=60) as web:
            web.post("/login", data={"user": "anna", "password": "correct horse battery"})
            page = web.get("/segments/buyers/members.xlsx")
            assert page.status_code == 200, page.text
            frame = pd.read_excel(io.BytesIO(page.content))
            assert frame["name"].tolist() == ["Олена Шевченко", "Bob"]
            assert web.get("/segments/buyers/members.csv").content.startswith(b"\xef\xbb\xbfcustomer_id,")
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()


def test_write_export_replaces_the_file_whole(tmp_path: Path) -> None:
    target = write_export(ROWS.head(1), tmp_path / "out" / "x.csv", OPTIONS)
    assert target.read_bytes().startswith(b"\xef\xbb\xbf") and not list(target.parent.glob(".*.tmp"))
