"""CLI polish (issue 19 item 13): --version, run ids as integers, a customer's history as a table, tables that
keep their rows on one line in a pipe, and a migration that reads at 80 columns."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from rich.console import Console

from segmentum.cli import common
from segmentum.cli import migration as migration_cli
from segmentum.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def segmentum(*args: str, columns: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it in a pipe; COLUMNS unset unless given (Rich then assumes 80)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["NO_COLOR"] = "1"
    if columns is not None:
        env["COLUMNS"] = columns
    done = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_version_prints_the_packages_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert segmentum("--version").stdout == f"segmentum {version}\n"


def test_ids_print_as_the_integers_they_are() -> None:
    assert common._cell(1234, "run_id") == "1234"  # not 1,234
    assert common._cell(12.0, "from_run") == "12"  # not 12.00 (a column with a missing value is float)
    assert common._cell(1234, "customers") == "1,234"  # counts keep their separators
    assert common._cell(["a", "b"], "interests") == "a, b"  # not ['a', 'b']


def _lines_of_table(text: str, first_cell: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("│") and first_cell in line]


def test_a_piped_table_keeps_each_row_on_one_line(handmade_snapshot: Workspace) -> None:
    root = str(handmade_snapshot.root)
    handmade_snapshot.close()
    runs = segmentum("runs", "-w", root).stdout
    rows = [line for line in runs.splitlines() if line.startswith("│")]
    assert len(rows) == 2, runs  # two runs, two lines: no cell folded onto a second line
    assert "2024-02-29 23:59:59" in rows[0] and "complete" in rows[0]
    assert max(len(line) for line in runs.splitlines()) > 80  # wider than the 80 columns Rich assumes


def test_customer_history_is_a_table_of_what_changed(handmade_snapshot: Workspace) -> None:
    root = str(handmade_snapshot.root)
    handmade_snapshot.close()
    shown = segmentum("customer", "c2", "-w", root).stdout
    assert "['" not in shown  # no Python list
    history = shown[shown.index("History") :]
    assert "entered" in history and "left" in history
    rows = [line for line in history.splitlines() if line.startswith("│")]
    assert len(rows) == 2, history  # one line per run, oldest first
    assert "2024-01-31" in rows[0] and "2024-02-29" in rows[1]
    assert "value_tier.vip" in rows[1] and "value_tier.low" in rows[1]  # entered vip, left low


def test_the_migration_reads_at_80_columns_on_a_terminal(
    handmade_snapshot: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = handmade_snapshot.root
    handmade_snapshot.close()
    # two segments fit 80 columns as a matrix; on a screen too narrow for it (a dozen RFM segments at 80
    # columns, here 2 segments at 27) the flows come one per line instead
    for width, matrix in ((80, True), (27, False)):
        buf = io.StringIO()
        console = Console(file=buf, force_terminal=True, width=width, no_color=True)
        monkeypatch.setattr(common, "out", console)
        monkeypatch.setattr(migration_cli, "out", console)
        migration_cli.migration_command(
            "value_tier", None, None, None, False, root, common.OutputFormat.table
        )
        text = re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue())
        if matrix:
            assert all(len(line) <= width for line in text.splitlines()), text
            assert "from_segment" in text and "(rows -> columns)" in text
        else:  # one line per flow, with the share of its origin
            assert "from_segment" not in text
            # 2 of the 3 low customers stayed, 1 moved to vip (the columns fold at this width)
            assert "67" in text and "33" in text and "rows -> columns" not in text, text


@pytest.mark.slow
def test_demo_shows_its_steps_with_an_estimate(tmp_path: Path) -> None:
    env = {**os.environ, "NO_COLOR": "1", "SEGMENTUM_PROGRESS_AFTER": "0"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmentum.cli.main",
            "demo",
            "-n",
            "150",
            "-d",
            str(tmp_path / "d"),
            "--no-report",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("demo: ")]
    assert lines[0].startswith("demo: Generating 150 customers") and "about ? left" in lines[0]
    assert any("Ingesting" in line and " left)" in line for line in lines) or len(lines) >= 2
    assert lines[-1].startswith("demo: demo workspace ready ") and lines[-1].endswith("done)")


class Recorder:
    """A `segmentum.progress.Progress` that keeps what it heard."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None, str]] = []

    def __call__(self, done: int, total: int | None, label: str, unit: str = "") -> None:
        self.calls.append((done, total, label))


def _steps_are_whole(calls: list[tuple[int, int | None, str]]) -> None:
    assert calls and calls[0][0] == 0 and calls[-1][0] == calls[-1][1]  # starts at 0, ends done
    dones = [done for done, _, _ in calls]
    assert dones == sorted(dones) and len({total for _, total, _ in calls}) == 1  # one step, never backwards


def test_clustering_reports_each_k_and_the_final_fit() -> None:
    import numpy as np
    import pandas as pd

    from segmentum.models.cluster import CustomerClusterer

    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [10, 10], [0, 10]])
    points = np.vstack([c + rng.normal(size=(100, 2)) for c in centers])
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(300)], "x": points[:, 0], "y": points[:, 1]})
    heard = Recorder()
    CustomerClusterer(k="auto", k_range=(2, 4)).fit(frame.set_index("customer_id"), progress=heard)
    _steps_are_whole(heard.calls)
    assert [label for _, _, label in heard.calls[:3]] == ["trying k = 2", "trying k = 3", "trying k = 4"]
    assert heard.calls[0][1] == 3 + 3  # three k, then the final fit, the stability check and the profiles


@pytest.mark.slow
def test_clv_reports_its_steps(tmp_path: Path) -> None:
    from segmentum.demo.workspace import create_demo_workspace
    from segmentum.models.clv import fit_clv

    create_demo_workspace(tmp_path / "shop", customers=400, seed=42, run=False, report=False)
    ws = Workspace(tmp_path / "shop")
    try:
        heard = Recorder()
        fit_clv(ws, calibration_end="latest", progress=heard)
    finally:
        ws.close()
    _steps_are_whole(heard.calls)
    assert [label for _, _, label in heard.calls][:3] == [
        "reading purchases",
        "fitting BG/NBD",
        "fitting Gamma-Gamma",
    ]
