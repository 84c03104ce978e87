"""Long commands show their progress on standard error: a bar on a terminal, plain lines in a pipe or a log
(segmentum.cli.progress drawing the callbacks of segmentum.progress)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from segmentum.cli.progress import ProgressDisplay
from segmentum.progress import BYTES
from segmentum.workspace import Workspace

ORDERS = "order_id,customer_id,ordered_at,amount\n" + "".join(
    f"o{i},c{i % 5},2024-0{1 + i % 3}-{1 + i % 27:02d},{10 + i}\n" for i in range(30)
)
DEFINITIONS = 'traits:\n  spend: {sum: orders.amount}\nsegments:\n  big: {where: "spend >= 100"}\n'


def segmentum(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, its standard error a pipe (not a terminal)."""
    done = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args, "-w", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        # every step shows, however quick (by default only those longer than 2 s do)
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "SEGMENTUM_PROGRESS_AFTER": "0"},
    )
    assert done.returncode == 0, done.stderr
    return done


def _shop(tmp_path: Path) -> tuple[Path, Workspace]:
    """A workspace without built-ins holding the shop's definitions (no data yet)."""
    root = tmp_path / "ws"
    ws = Workspace.init(root, name="progress")
    (root / "segmentum.yml").write_text(
        "\n".join(
            ln for ln in (root / "segmentum.yml").read_text().splitlines() if not ln.startswith("builtins:")
        )
        + "\nbuiltins: []\n"
    )
    (root / "definitions" / "shop.yml").write_text(DEFINITIONS)
    return root, ws


def test_ingest_backfill_and_report_print_progress_lines_in_a_pipe(tmp_path: Path) -> None:
    root, ws = _shop(tmp_path)
    ws.close()
    (tmp_path / "orders.csv").write_text(ORDERS)

    ingested = segmentum(root, "ingest", "orders", str(tmp_path / "orders.csv"))
    assert re.search(
        r"^ingest: reading orders\.csv [\d.]+ MB/[\d.]+ MB \(.* elapsed, done\)$", ingested.stderr, re.M
    )
    assert "ingest: checking and storing 30 rows 30/30 (" in ingested.stderr
    assert "\x1b[" not in ingested.stderr  # no bar drawn into a pipe

    backfilled = segmentum(root, "backfill", "--from", "2024-01-01", "--to", "2024-03-15")
    lines = [ln for ln in backfilled.stderr.splitlines() if ln.startswith("backfill: ")]
    assert lines[0].startswith("backfill: backfill to 2024-01-31 0/3 (")  # the start shows at once
    assert lines[-1].startswith("backfill: backfill to 2024-03-15 3/3 (") and lines[-1].endswith(" done)")
    assert "3 runs" in backfilled.stdout

    reported = segmentum(root, "report", "-o", str(tmp_path / "report.html"))
    assert re.search(r"^report: report written 7/7 \(.* elapsed, done\)$", reported.stderr, re.M)
    assert re.search(r"^report: what changed 0/7 \(", reported.stderr, re.M)  # the step named once
    assert "report: report:" not in reported.stderr
    # the profiles of the run's segments, computed here (no server warmed them): counted segment by segment
    assert re.search(r"^report: segment profiles (\d+)/\1 \(.* elapsed, done\)$", reported.stderr, re.M)
    assert (tmp_path / "report.html").exists()


def test_plain_lines_come_at_most_every_few_seconds_and_always_at_the_end() -> None:
    out = io.StringIO()
    with ProgressDisplay(
        "ingest", console=Console(file=out, force_terminal=False), every=3600, after=0
    ) as progress:
        for done in range(0, 101, 10):
            progress(done * 1_000_000, 100_000_000, "reading big.csv", BYTES)
        progress(100_000_000, 100_000_000, "reading big.csv", BYTES)  # the end told twice shows once
        for done in range(0, 6):
            progress(done, 5, "checking and storing 5 rows")
    lines = out.getvalue().splitlines()
    assert len(lines) == 4, lines  # the first line and the last of each step
    assert lines[0].startswith("ingest: reading big.csv 0.0 MB/100.0 MB (0:00 elapsed, about ? left)")
    assert lines[1].startswith("ingest: reading big.csv 100.0 MB/100.0 MB (") and lines[1].endswith("done)")
    assert lines[2].startswith("ingest: checking and storing 5 rows 0/5 (")
    assert lines[3].startswith("ingest: checking and storing 5 rows 5/5 (")


def test_a_step_that_ended_followed_by_another_label_of_the_same_total_is_a_new_step() -> None:
    """What a CLI polling a server's progress sees: a run's steps all count 0/1 then 1/1, and two polls half a
    second apart can catch "compile 1/1" and then "diff 1/1" with nothing between; the last step still shows.
    A label that changes within a step (k-means trying k = 2, 3, ...) stays one step."""
    out = io.StringIO()
    with ProgressDisplay(
        "run", console=Console(file=out, force_terminal=False), every=3600, after=0
    ) as progress:
        progress(1, 1, "compile")
        progress(1, 1, "diff")
        progress(1, 1, "diff")  # the answer's last poll tells the end again: shown once
        progress(1, 4, "trying k = 3")
        progress(2, 4, "trying k = 4")
        progress(4, 4, "clusters fitted")
    lines = [ln.split(" (")[0] for ln in out.getvalue().splitlines()]
    assert lines == ["run: compile 1/1", "run: diff 1/1", "run: trying k = 3 1/4", "run: clusters fitted 4/4"]


def test_on_a_terminal_it_draws_a_bar_and_leaves_no_line_behind() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with ProgressDisplay("backfill", console=console, after=0) as progress:
        assert progress.terminal
        for done in range(4):
            progress(done, 3, f"backfill to point {done}")
        progress(7, None, "reading rows of a workbook")  # an unknown total draws too
    assert "backfill: " not in out.getvalue()  # no plain lines: the bar is transient


def test_a_step_quicker_than_two_seconds_shows_nothing_and_a_longer_one_shows_from_then() -> None:
    out = io.StringIO()
    clock = {"now": 0.0}
    console = Console(file=out, force_terminal=False)
    with ProgressDisplay("ingest", console=console, every=3600, clock=lambda: clock["now"]) as progress:
        progress(0, 10, "quick step")
        progress(10, 10, "quick step")
        assert out.getvalue() == ""  # done within 2 s: nothing printed
        progress(0, 99, "long step")
        clock["now"] = 1.0
        progress(10, 99, "long step")
        assert out.getvalue() == ""
        clock["now"] = 2.5
        progress(20, 99, "long step")
        clock["now"] = 9.0
        progress(99, 99, "long step")
    lines = out.getvalue().splitlines()
    assert [ln.split(" (")[0] for ln in lines] == ["ingest: long step 20/99", "ingest: long step 99/99"]
    assert lines[-1].endswith("done)")


def test_run_prints_each_step_with_its_progress_and_a_quick_run_its_answer_alone(tmp_path: Path) -> None:
    root, ws = _shop(tmp_path)
    (tmp_path / "orders.csv").write_text(ORDERS)
    ws.ingest("orders", tmp_path / "orders.csv")
    ws.close()

    ran = segmentum(root, "run", "--as-of", "2024-03-31")
    lines = [ln for ln in ran.stderr.splitlines() if ln.startswith("run: ")]
    # every step from its start to its end, in the order the run takes them
    ended = [ln.split(" (")[0] for ln in lines if ln.endswith(" done)")]
    assert ended == [
        "run: compile 1/1",
        "run: evaluate 1,000/1,000",  # DuckDB's estimate of the query, in thousandths
        "run: write memberships 1/1",  # statements that read results: no estimate polled meanwhile
        "run: sizes 1/1",  # counted with the memberships (the revenue is there)
        "run: commit 1/1",
        "run: diff 1/1",
    ], ran.stderr
    assert lines[0].startswith("run: compile 0/1 (0:00 elapsed, about ? left)")
    assert "\x1b[" not in ran.stderr and "Run 1 at 2024-03-31" in ran.stdout

    quick = subprocess.run(  # by default only a step longer than 2 s shows: this run prints its answer alone
        [sys.executable, "-m", "segmentum.cli.main", "run", "--as-of", "2024-03-31", "-w", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in {**os.environ, "NO_COLOR": "1"}.items() if k != "SEGMENTUM_PROGRESS_AFTER"},
    )
    assert quick.returncode == 0, quick.stderr
    assert "run: " not in quick.stderr and "Run 2 at 2024-03-31" in quick.stdout
