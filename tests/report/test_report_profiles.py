"""The report reads and stores a run's profiles where the dashboard does (segment_profiles): once for every language
and for the CLI after `segmentum serve` warmed them; it reads built-ins' docs without rendering."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

from segmentum.analysis.profile import COMPUTED, PAGE_TOP, profile_stamp
from segmentum.report.build import build_report
from segmentum.service.runtime import Runtime
from segmentum.spec.builtins import builtin_docs, builtin_names, load_builtin
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace


def _page(html: str) -> str:
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "<time>", html)  # the generated-at minute


def stored(ws: Workspace) -> list[tuple[Any, ...]]:
    """Every stored profile: a computation adds a row or replaces one (a new `created_at`)."""
    return ws.store.query(
        "SELECT run_id, name, top, stamp, created_at FROM segmentum.segment_profiles ORDER BY ALL"
    )


def test_the_report_stores_the_runs_profiles_once_for_every_language(handmade_snapshot: Workspace) -> None:
    ws = handmade_snapshot
    run = snapshot.latest_run(ws.store)
    assert run is not None and stored(ws) == []
    before = COMPUTED["count"]
    english = build_report(ws, lang="en")
    rows = stored(ws)
    # every segment of the run, stored as the dashboard's pages read them (their `top`, the current stamp)
    assert {(r[0], r[1], r[2], r[3]) for r in rows} == {
        (run.run_id, name, PAGE_TOP, profile_stamp(ws))
        for name in ("abc.A", "abc.B", "abc.C", "abc.none", "value_tier.low", "value_tier.vip")
    }
    assert COMPUTED["count"] == before + len(rows)
    ukrainian = build_report(ws, lang="uk")
    assert stored(ws) == rows and COMPUTED["count"] == before + len(rows)  # read back: none computed
    assert "value_tier.vip" in english and "value_tier.vip" in ukrainian
    # what was stored gives the page a fresh computation gives
    ws.store.con.execute("DELETE FROM segmentum.segment_profiles")
    assert _page(build_report(ws, lang="uk")) == _page(ukrainian)
    assert COMPUTED["count"] == before + 2 * len(rows)
    # a change of what profiles read (here the definitions) computes them again, under the new stamp
    stamp = profile_stamp(ws)
    (ws.root / "definitions" / "extra.yml").write_text("traits:\n  n: {count: orders}\n")
    build_report(ws, lang="ru")
    assert COMPUTED["count"] == before + 3 * len(rows)
    assert {r[3] for r in stored(ws) if r[3] != stamp} == {profile_stamp(ws)}


def test_the_cli_report_after_serve_warmed_the_run_computes_no_profile(handmade_snapshot: Workspace) -> None:
    ws = handmade_snapshot
    run = snapshot.latest_run(ws.store)
    assert run is not None
    Runtime(ws, realtime=False).warm(run.run_id).join(120)  # what `segmentum serve` does after a batch run
    warmed = stored(ws)
    assert len(warmed) == 6
    root = ws.root
    ws.close()  # the CLI, another process, opens the store
    done = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", "report", "-w", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert stored(ws) == warmed  # the same rows, the same times: the CLI's report read them
    html = (root / "report.html").read_text(encoding="utf-8")
    assert html.count('<div class="profile">') == 6


def test_a_builtins_docs_are_those_of_the_loaded_builtin() -> None:
    for name in builtin_names():
        assert builtin_docs(name) == load_builtin(name).docs, name
