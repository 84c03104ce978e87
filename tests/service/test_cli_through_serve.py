"""DESIGN.md principle 6: while `segmentum serve` owns a workspace's store, every CLI command of that
workspace goes through it (real processes: a server on 127.0.0.1 and the CLI as a user runs it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from segmentum.workspace import Workspace
from servers import serve_log, start_serve

ORDERS_CSV = """order_id,customer_id,ordered_at,amount,status
o1,c1,2024-01-05,100,
o2,c1,2024-02-05,300,
o3,c2,2024-02-10,50,
o4,c3,2024-02-11,20,cancelled
o5,c3,2024-02-12,30,
o6,c4,2024-03-20,700,
"""
DEFINITIONS = """
traits:
  spend: {sum: orders.amount}
segments:
  big_spenders: {where: "spend >= 300"}
segmentations:
  value_tier:
    segments:
      - {name: vip, where: "spend >= 300"}
    else: low
triggers:
  new_vip:
    on: enter
    segment: value_tier.vip
    do:
      - task: {title: "Welcome {{ customer.customer_id }}", due: 3d}
"""


def cli(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args, "-w", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "SEGMENTUM_PROGRESS_AFTER": "0"},
    )
    if check:
        assert result.returncode == 0, f"{args}: {result.stderr}"
    return result


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    ws = Workspace.init(tmp_path / "ws", name="served")
    (ws.root / "definitions" / "shop.yml").write_text(DEFINITIONS, encoding="utf-8")
    (tmp_path / "orders.csv").write_text(ORDERS_CSV, encoding="utf-8")
    ws.close()
    proc, url = start_serve(ws.root)
    try:
        yield ws.root, int(url.rsplit(":", 1)[1])
    finally:
        proc.terminate()
        proc.wait(30)
        print(f"segmentum serve's log:\n{serve_log(proc)}")  # pytest shows it when the test failed


@pytest.mark.slow  # a server and a dozen CLI processes
def test_every_cli_command_goes_through_the_running_server(served, tmp_path: Path) -> None:
    root, _port = served
    # the server holds DuckDB's lock on the store: a command that opened it would fail with a lock error
    ingested = cli(root, "ingest", "orders", str(tmp_path / "orders.csv"))
    assert "6 rows read, 6 stored, 0 quarantined" in ingested.stdout
    # the server's record of the operation, read back under the CLI's tag: its progress shows here too
    assert re.search(r"^ingest: checking and storing 6 rows 6/6 \(.* done\)$", ingested.stderr, re.M)
    backfilled = cli(
        root, "backfill", "--from", "2024-01-31", "--to", "2024-02-29", "--every", "1m", "--format", "json"
    )
    # the server's backfill job, polled: its progress shows here (stderr is a pipe: plain lines)
    assert "through segmentum serve 2/2" in backfilled.stderr and "done)" in backfilled.stderr
    assert [r["as_of"] for r in json.loads(backfilled.stdout)] == ["2024-01-31", "2024-02-29"]
    forwarded = cli(root, "run", "--as-of", "latest", "--format", "json")
    ran = json.loads(forwarded.stdout)
    assert ran["status"] == "complete" and ran["run_id"] == 3
    # at least where the run ended, even when it was quicker than one poll of its progress
    assert re.search(r"^run: diff 1/1 \(.* done\)$", forwarded.stderr, re.M), forwarded.stderr
    sizes = {s["name"]: s["customers"] for s in ran["sizes"]}
    assert sizes["value_tier.vip"] == 2 and sizes["big_spenders"] == 2

    segments = json.loads(cli(root, "segments", "--format", "json").stdout)
    assert {s["name"]: s["customers"] for s in segments}["value_tier.vip"] == 2
    vips = json.loads(cli(root, "members", "value_tier.vip", "--format", "json").stdout)
    assert sorted(m["customer_id"] for m in vips) == ["c1", "c4"]
    cli(root, "members", "value_tier.vip", "--filter", "spend > 500", "-o", str(tmp_path / "vip.csv"))
    assert (tmp_path / "vip.csv").read_text(encoding="utf-8-sig").splitlines() == ["customer_id", "c4"]
    customer = json.loads(cli(root, "customer", "c1", "--format", "json").stdout)
    assert "value_tier.vip" in customer["segments"]
    explained = json.loads(cli(root, "explain", "c4", "value_tier.vip", "--format", "json").stdout)
    assert explained["member"] is True
    # an error reads as it does without a server: the library's own message, no transport prefix
    bad = cli(root, "profile", "value_tier.vipp", check=False)
    assert (
        bad.returncode == 1
        and bad.stderr.startswith("Error: ")
        and "did you mean 'value_tier.vip'" in bad.stderr
    )
    assert "server answered" not in bad.stderr
    profile = json.loads(cli(root, "profile", "value_tier.vip", "--format", "json").stdout)
    assert profile["size"] == 2
    migration = json.loads(cli(root, "migration", "value_tier", "--format", "json").stdout)
    assert {(f["from_segment"], f["to_segment"]) for f in migration} >= {
        ("(new)", "vip")
    }  # c4 appeared in March
    preview = json.loads(cli(root, "preview", "--format", "json").stdout)
    assert preview["changed"] == {}
    tasks = json.loads(cli(root, "tasks", "--format", "json").stdout)
    assert [t["customer_id"] for t in tasks] == ["c4"]  # entered vip in the last run
    done = json.loads(cli(root, "tasks", "done", str(tasks[0]["id"]), "--format", "json").stdout)
    assert done[0]["status"] == "done"
    outbox = json.loads(cli(root, "outbox", "--format", "json").stdout)
    assert [item["action_type"] for item in outbox] == ["task"]

    forgotten = json.loads(cli(root, "forget", "c3", "--yes", "--format", "json").stdout)
    assert forgotten["rows_deleted"]["main.orders"] == 2


@pytest.mark.slow
def test_the_command_channel_answers_only_the_local_cli(served) -> None:
    root, port = served
    key = cli(root, "keys", "create", "--scope", "admin").stdout.strip().splitlines()[-1]
    response = httpx.post(
        f"http://127.0.0.1:{port}/v1/commands/forget",
        json={"customer_id": "c1"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 403
    assert "local CLI" in response.json()["error"]["message"]


CUSTOMERS_CSV = """customer_id,country
c1,UK
c2,DE
c3,UK
c4,FR
"""


@pytest.mark.slow  # a server and a dozen CLI processes
def test_the_reads_group_goes_through_the_running_server(served, tmp_path: Path) -> None:
    """runs, quarantine, coverage, pareto, compare, crosstab, sql, validate, builtins and users while the server
    holds the store: each would fail with DuckDB's lock error if it opened the store itself."""
    root, _port = served
    (tmp_path / "orders.csv").write_text(ORDERS_CSV + "o7,c2,2024-03-01,not-a-number,\n", encoding="utf-8")
    (tmp_path / "customers.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    assert "1 quarantined" in cli(root, "ingest", "orders", str(tmp_path / "orders.csv")).stdout
    cli(root, "ingest", "customers", str(tmp_path / "customers.csv"))
    cli(root, "run", "--as-of", "latest")

    runs = json.loads(cli(root, "runs", "--format", "json").stdout)
    assert [(r["run_id"], r["status"]) for r in runs] == [(1, "complete")]
    table = cli(root, "runs").stdout  # the table shows as_of as a time, parsed back from the JSON answer
    assert "complete" in table and f"{datetime.fromisoformat(runs[0]['as_of']):%Y-%m-%d %H:%M:%S}" in table

    quarantined = json.loads(cli(root, "quarantine", "--format", "json").stdout)
    assert [(q["table"], q["line"], q["column"]) for q in quarantined] == [("orders", 8, "amount")]

    coverage = json.loads(cli(root, "coverage", "--format", "json").stdout)
    assert coverage["customers"] == 4
    assert {t["table"]: t["rows"] for t in coverage["tables"]}["orders"] == 6
    assert "customers" in cli(root, "coverage", "--section", "tables").stdout

    pareto = json.loads(cli(root, "pareto", "--points", "4", "--format", "json").stdout)
    assert pareto["curve"][-1]["revenue_share"] == pytest.approx(1.0)
    assert "customer_share" in cli(root, "pareto", "--format", "csv").stdout.splitlines()[0]

    compared = json.loads(cli(root, "compare", "value_tier.vip", "value_tier.low", "--format", "json").stdout)
    assert {c["name"]: c["size"] for c in compared} == {"value_tier.vip": 2, "value_tier.low": 2}
    crosstab = json.loads(cli(root, "crosstab", "value_tier", "country", "--format", "json").stdout)
    assert sum(row["customers"] for row in crosstab) == 4
    assert (
        "country" in cli(root, "crosstab", "value_tier", "country", "--format", "csv").stdout.splitlines()[0]
    )

    sql = cli(root, "sql", "big_spenders").stdout
    assert "SELECT" in sql.upper() and sql.rstrip().endswith(";")
    validated = json.loads(cli(root, "validate", "--format", "json").stdout)
    assert validated["valid"] is True and validated["segments"] >= 1 and validated["triggers"] == 1
    assert "Definitions are valid" in cli(root, "validate").stderr
    builtins = {b["name"]: b for b in json.loads(cli(root, "builtins", "--format", "json").stdout)}
    assert builtins["rfm"]["has_data"] == "yes"

    cli(root, "users", "add", "alice", "--password", "correct horse")
    assert [u["name"] for u in json.loads(cli(root, "users", "list", "--format", "json").stdout)] == ["alice"]
    cli(root, "users", "remove", "alice")
    assert json.loads(cli(root, "users", "list", "--format", "json").stdout) == []


# ------------------------------------------------------------------------------- models and reports


@pytest.fixture
def served_demo(tmp_path: Path) -> Iterator[Path]:
    """A demo workspace (orders, items, events, subscriptions, tickets, surveys, runs) served on 127.0.0.1."""
    root = tmp_path / "demo"
    subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "demo", "--dir", str(root), "--customers", "300"]
        + ["--no-report"],
        capture_output=True,
        check=True,
        timeout=300,
    )
    proc, _url = start_serve(root)
    try:
        yield root
    finally:
        proc.terminate()
        proc.wait(30)
        print(f"segmentum serve's log:\n{serve_log(proc)}")  # pytest shows it when the test failed


@pytest.mark.slow  # a demo workspace, a server and a dozen CLI processes
def test_models_and_reports_go_through_the_running_server(
    served_demo: Path, tmp_path: Path, monkeypatch
) -> None:
    root = served_demo
    # each command below would fail with DuckDB's lock error if it opened the store the server holds
    churn = json.loads(cli(root, "churn", "-s", "rfm", "--format", "json").stdout)
    assert churn["period"] == "month" and churn["as_of"].startswith("20")
    assert churn["rates"] and {"period_start", "churn_rate", "segment"} <= set(churn["rates"][0])
    rates_csv = cli(root, "churn", "--format", "csv").stdout.splitlines()
    assert rates_csv[0].startswith("period_start,period_end") and len(rates_csv) > 2
    fit = cli(root, "churn", "fit", "--format", "json")
    assert json.loads(fit.stdout)["customers_scored"] == 300
    assert "300 customers scored in segmentum.model_churn" in fit.stderr

    clv = cli(root, "clv", "--calibration-end", "latest", "--format", "json")
    clv_fit = json.loads(clv.stdout)
    assert clv_fit["stored"]["table"] == "segmentum.model_clv" and clv_fit["stored"]["rows"] > 0
    clv_csv = cli(root, "clv", "--calibration-end", "latest", "--no-store", "--format", "csv").stdout
    assert clv_csv.splitlines()[0].startswith("customer_id,") and "p_alive" in clv_csv.splitlines()[0]

    cluster = json.loads(
        cli(
            root,
            "cluster",
            "habits",
            "--k",
            "3",
            "--features",
            "recency_days,frequency,monetary",
            "-f",
            "json",
        ).stdout
    )
    assert cluster["k"] == 3 and sum(c["size"] for c in cluster["clusters"]) == cluster["assigned"] > 0
    reassigned = cli(root, "cluster", "habits", "--assign")
    assert "Re-assigned" in reassigned.stderr and "Assignments" in reassigned.stdout

    replenishment = json.loads(cli(root, "replenishment", "--format", "json").stdout)
    assert {row["status"] for row in replenishment} <= {"due", "overdue", "not_due"} and replenishment
    behaviour = json.loads(cli(root, "behaviour", "--customers", "--format", "json").stdout)
    assert behaviour and {"customer_id", "status"} <= set(behaviour[0])
    totals = cli(root, "behaviour")
    assert "Behaviour change" in totals.stdout and "last period (" in totals.stderr
    experience = json.loads(cli(root, "experience", "-s", "rfm", "--format", "json").stdout)
    assert set(experience) == {"nps", "csat", "first_response", "churn"} and experience["nps"]

    # the report file is written by the server; a relative -o is this shell's folder, not the server's
    monkeypatch.chdir(tmp_path)
    written = cli(root, "report", "-o", "out/report.html")
    target = tmp_path / "out" / "report.html"
    assert f"Report written to {target}" in written.stderr
    assert target.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
