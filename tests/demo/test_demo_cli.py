"""`segmentum demo` end to end: a workspace with every table ingested, definitions run, a summary printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segmentum.cli.main import app
from segmentum.demo.generator import generate_demo
from segmentum.workspace import Workspace

runner = CliRunner()
pytestmark = pytest.mark.slow  # ingest and a full run of every built-in take tens of seconds


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("demo") / "shop"
    result = runner.invoke(
        app, ["demo", "--customers", "500", "--seed", "9", "--dir", str(folder), "--no-report"]
    )
    return folder, result


def test_demo_creates_a_workspace_and_prints_where_things_are(demo_run: tuple[Path, object]) -> None:
    folder, result = demo_run
    assert result.exit_code == 0, result.output
    assert (folder / "segmentum.yml").is_file()
    assert (folder / "segmentum.duckdb").is_file()
    assert (folder / "definitions" / "shop.yml").is_file()
    for text in (
        f"Workspace: {folder.resolve()}",
        "Store:",
        "segmentum segments",
        "segmentum serve",
        "customers",
        "order_items",
    ):
        assert text in result.output


def test_demo_stores_every_generated_row(demo_run: tuple[Path, object]) -> None:
    folder, _ = demo_run
    expected = generate_demo(500, seed=9)
    with Workspace(folder) as ws:
        assert ws.config.timezone == "Europe/Kyiv" and ws.config.currency == "UAH"
        for table, data in expected.items():
            stored = ws.store.query(f"SELECT count(*) FROM main.{table}")[0][0]
            assert stored == data.num_rows, table
        assert ws.store.query("SELECT count(*) FROM segmentum.quarantine")[0][0] == 0


def test_demo_enables_every_builtin_and_runs_the_example_definitions(demo_run: tuple[Path, object]) -> None:
    folder, result = demo_run
    from segmentum.spec.builtins import builtin_names

    with Workspace(folder) as ws:
        assert ws.config.builtins == builtin_names()
        runs = ws.store.query("SELECT run_id, status FROM segmentum.runs")
        assert runs and runs[-1][1] == "complete"
        names = {r[0] for r in ws.store.query("SELECT DISTINCT name FROM segmentum.memberships")}
    assert {"value_tier.vip", "big_spenders", "rfm.champions", "lifecycle.prospect"} <= names
    assert "value_tier.vip" in result.output


def test_demo_personas_land_in_the_segments_they_imply(demo_run: tuple[Path, object]) -> None:
    folder, _ = demo_run
    with Workspace(folder) as ws:
        rows = dict(
            ws.store.query("""
            SELECT c.persona, avg((m.segment = 'prospect')::INT) FROM main.customers c
            JOIN segmentum.memberships m ON m.customer_id = c.customer_id AND m.segmentation = 'lifecycle'
            GROUP BY 1""")
        )
    assert rows["prospect"] == 1 and rows["browser"] == 1
    assert rows["loyal"] == 0


def test_demo_json_output_is_only_json(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--customers", "120", "--dir", str(tmp_path / "j"), "--no-report", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["rows"]["customers"] == 120
    assert data["workspace"] == str((tmp_path / "j").resolve())
    assert "segmentum serve --workspace" in " ".join(data["next"])


def test_demo_refuses_a_folder_that_already_holds_a_workspace(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "taken").close()
    result = runner.invoke(app, ["demo", "--customers", "50", "--dir", str(tmp_path / "taken")])
    assert result.exit_code != 0
    assert "already holds a workspace" in str(result.exception) + result.output


def test_demo_writes_the_report(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    result = runner.invoke(app, ["demo", "--customers", "150", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    html = folder / "report.html"
    assert html.is_file() and html.stat().st_size > 10_000
    assert f"Report:    {html}" in result.output


def _audit(root: Path, run_id: int) -> list[str]:
    ws = Workspace(root)
    try:
        rows = ws.store.query(
            "SELECT action FROM segmentum.audit_log WHERE subject = ? AND action LIKE 'actions_%' ORDER BY 1",
            [str(run_id)],
        )
    finally:
        ws.close()
    return [r[0] for r in rows]


def test_the_demo_run_records_its_actions_as_owed_then_processed(demo_run: tuple[Path, object]) -> None:
    """The demo runs as `Workspace.run` does: the snapshot records its actions as pending, then they are
    processed (it used to skip the pending record, so a crash in between lost them)."""
    folder, result = demo_run
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert _audit(folder, 1) == ["actions_pending", "actions_processed"]


def test_a_demo_killed_after_its_snapshot_leaves_a_run_the_next_start_finishes(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from segmentum.actions.triggers import finish_pending, pending_runs
    from segmentum.faults import ENV, EXIT_CODE

    folder = tmp_path / "killed"
    env = dict(os.environ, **{ENV: "after_snapshot"})
    killed = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "demo", "--customers", "80", "--dir", str(folder)]
        + ["--no-report"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert killed.returncode == EXIT_CODE, killed.stderr
    assert _audit(folder, 1) == ["actions_pending"]  # owed to the outbox, not lost
    ws = Workspace(folder)
    try:
        assert pending_runs(ws) == [1]
        reports, warnings = finish_pending(ws)
        assert [r.run_id for r in reports] == [1] and warnings == []
        assert pending_runs(ws) == []
    finally:
        ws.close()
    assert _audit(folder, 1) == ["actions_pending", "actions_processed"]
