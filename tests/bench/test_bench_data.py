"""`python -m bench.data`: the store the real-time benchmarks serve, built in one command."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `bench` is a top-level package of the repository, not of the installed wheel
    sys.path.insert(0, str(REPO))

from bench import data  # noqa: E402

pytestmark = pytest.mark.slow


def _store(ws: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(ws / "segmentum.duckdb"), read_only=True)


def test_a_serve_ready_store_keeps_its_share_of_events_is_compacted_and_has_a_batch_run(
    tmp_path: Path,
) -> None:
    assert data.main(["--customers", "400", "--data-dir", str(tmp_path)]) == 0
    thinned_args = [
        "--customers",
        "400",
        "--events-share",
        "0.5",
        "--data-dir",
        str(tmp_path),
        "--serve-ready",
    ]
    assert data.main(thinned_args) == 0

    with _store(tmp_path / "c400" / "ws") as whole:
        (all_events,) = whole.execute("SELECT count(*) FROM main.events").fetchone()
        (orders,) = whole.execute("SELECT count(*) FROM main.orders").fetchone()
        # the unprepared store is not compacted: `--serve-ready` is what does it
        assert whole.execute("SELECT count(*) FROM segmentum.segmentum.compactions").fetchone() == (0,)
    with _store(tmp_path / "c400_e50" / "ws") as thinned:
        (events,) = thinned.execute("SELECT count(*) FROM main.events").fetchone()
        # the same customers and orders (one seed), about half of the events
        assert thinned.execute("SELECT count(*) FROM main.orders").fetchone() == (orders,)
        assert 0.4 * all_events < events < 0.6 * all_events
        compacted = thinned.execute(
            "SELECT table_name FROM segmentum.segmentum.compactions WHERE compacted_at IS NOT NULL ORDER BY 1"
        ).fetchall()
        assert [t for (t,) in compacted] == ["events", "order_items", "orders"]
        runs = thinned.execute(
            "SELECT kind, status, as_of FROM segmentum.segmentum.runs ORDER BY started_at"
        ).fetchall()
        assert [(kind, status) for kind, status, _ in runs] == [("batch", "complete")]
        assert str(runs[0][2]).startswith("2026-10-31 23:59:59")
