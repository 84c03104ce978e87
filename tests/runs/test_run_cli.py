"""The run-related commands end to end: run, runs, segments, members, customer, sql, explain, preview."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
from engine_helpers import write_definitions
from typer.testing import CliRunner

from segmentum.cli.main import app

DEFS = """
traits:
  spent: {sum: orders.amount}
  orders_n: {count: orders}
segments:
  big: {where: "spent >= 100 and orders_n >= 1"}
  nobody: {where: "spent > 1000000"}
  top: {where: "percent_rank(spent) >= 0.5"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "spent >= 500"}
      - {name: silver, where: "spent >= 100"}
    else: bronze
"""


@pytest.fixture
def ws(make_ws):
    orders = [
        {"order_id": f"o{i}", "customer_id": c, "ordered_at": datetime(2024, 1, i + 1), "amount": a}
        for i, (c, a) in enumerate([("a", 600), ("b", 150), ("c", 50)])
    ]
    return make_ws(
        DEFS,
        {"customers": [{"customer_id": c, "email": f"{c}@example.com"} for c in "abcd"], "orders": orders},
    )


def cli(ws, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(app, [*args, "--workspace", str(ws.root)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_run_prints_sizes_and_json_holds_only_json(ws):
    code, out, err = cli(ws, "run", "--as-of", "latest")
    assert code == 0, err
    assert "tier.gold" in out and "Run 1" in out
    assert "New baseline" in err
    code, out, _ = cli(ws, "run", "--as-of", "2024-01-31", "-f", "json")
    data = json.loads(out)
    assert data["run_id"] == 2 and data["status"] == "complete"
    sizes = {s["name"]: s["customers"] for s in data["sizes"]}
    assert sizes["tier.gold"] == 1 and sizes["tier.bronze"] == 2


def test_runs_and_segments(ws):
    cli(ws, "run", "--as-of", "latest")
    code, out, _ = cli(ws, "runs", "-f", "json")
    assert code == 0 and json.loads(out)[0]["status"] == "complete"
    code, out, _ = cli(ws, "segments", "-f", "csv")
    df = pd.read_csv(__import__("io").StringIO(out))
    row = df.set_index("name").loc["tier.gold"]
    assert row.customers == 1 and row.share == 0.25 and abs(row.revenue_share - 600 / 800) < 1e-9


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_members_writes_files_with_customer_id_even_when_empty(ws, tmp_path, suffix):
    cli(ws, "run", "--as-of", "latest")
    target = tmp_path / f"big{suffix}"
    code, _, err = cli(ws, "members", "big", "-o", str(target))
    assert code == 0, err
    read = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".json": pd.read_json}[suffix]
    df = read(target)
    assert list(df.customer_id) == ["a", "b"] and "email" in df.columns
    empty = tmp_path / f"nobody{suffix}"
    cli(ws, "members", "nobody", "-o", str(empty))
    if suffix == ".csv":
        assert empty.read_text(encoding="utf-8-sig").splitlines()[0].split(",")[0] == "customer_id"
        assert len(empty.read_text(encoding="utf-8-sig").splitlines()) == 1
    elif suffix == ".parquet":
        assert list(pd.read_parquet(empty).columns)[0] == "customer_id"
    else:
        assert json.loads(empty.read_text()) == []


def test_members_of_an_unknown_segment_is_an_error_with_a_hint(ws):
    from segmentum.cli.main import main

    cli(ws, "run", "--as-of", "latest")
    with pytest.raises(SystemExit) as exc:
        main(["members", "tier.gld", "--workspace", str(ws.root)])
    assert exc.value.code == 1


def test_sql_in_three_dialects(ws):
    for dialect, marker in (
        ("duckdb", '"main"."orders"'),
        ("pyspark", "`main`.`orders`"),
        ("postgres", '"main"."orders"'),
    ):
        code, out, err = cli(ws, "sql", "tier.gold", "--dialect", dialect)
        assert code == 0, err
        assert marker in out and "SUM(" in out.upper() and "gold" in out


def test_explain_lists_each_condition_with_values(ws):
    cli(ws, "run", "--as-of", "latest")
    code, out, _ = cli(ws, "explain", "b", "big", "-f", "json")
    data = json.loads(out)
    assert data["member"] is True
    assert [c["held"] for c in data["checks"]] == [True, True, True]
    assert data["checks"][1]["values"] == {"spent": 150.0}
    code, out, _ = cli(ws, "explain", "c", "tier.silver", "-f", "json")
    data = json.loads(out)
    assert data["member"] is False and data["actual_segment"] == "bronze"
    assert [(c["segment"], c["held"]) for c in data["checks"]] == [("gold", False), ("silver", False)]


def test_preview_shows_who_would_enter_and_leave_without_storing(ws):
    cli(ws, "run", "--as-of", "latest")
    write_definitions(ws, DEFS.replace('"spent >= 100 and orders_n >= 1"', '"spent >= 50"'))
    code, out, _ = cli(ws, "preview", "-f", "json")
    data = json.loads(out)
    assert data["changed"] == {"big": "edited"}
    big = next(s for s in data["segments"] if s["name"] == "big")
    assert big["entered"] == ["c"] and big["left"] == [] and (big["before"], big["after"]) == (2, 3)
    code, out, _ = cli(ws, "runs", "-f", "json")
    assert len(json.loads(out)) == 1


def test_customer_shows_traits_and_segments(ws):
    cli(ws, "run", "--as-of", "latest")
    code, out, err = cli(ws, "customer", "a", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["traits"]["spent"] == 600
    assert "tier.gold" in data["segments"]
