"""`engine:` in segmentum.yml sets DuckDB's memory limit, spill folder and threads on the store's connection."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from segmentum.config import memory_bytes
from segmentum.errors import ConfigError
from segmentum.workspace import Workspace


def _setting(ws: Workspace, name: str) -> str:
    return str(ws.store.cursor().execute(f"SELECT current_setting('{name}')").fetchone()[0])


def _duckdb_shows(name: str, value: str) -> str:
    """How DuckDB itself shows `value` of setting `name` (its own formatting, e.g. '488.2 MiB')."""
    con = duckdb.connect()
    try:
        con.execute(f"SET {name} = '{value}'")
        return str(con.execute(f"SELECT current_setting('{name}')").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


def _workspace(root: Path, engine_yaml: str) -> Workspace:
    Workspace.init(root, name="w").close()
    config = root / "segmentum.yml"
    config.write_text(config.read_text() + engine_yaml, encoding="utf-8")
    return Workspace(root)


def test_memory_limit_temp_directory_and_threads_reach_the_store_connection(tmp_path: Path) -> None:
    ws = _workspace(
        tmp_path / "w",
        "engine:\n  name: duckdb\n  memory_limit: 512MB\n  temp_directory: spill\n  threads: 1\n",
    )
    try:
        assert ws.config.engine == "duckdb" and ws.config.engine.name == "duckdb"
        assert _setting(ws, "memory_limit") == _duckdb_shows("memory_limit", "512MB")
        assert _setting(ws, "temp_directory") == str(ws.root / "spill")
        assert _setting(ws, "threads") == "1"
        # every cursor of the process's database sees them (they are the database's, not one cursor's)
        other = Workspace(ws.root)
        try:
            assert _setting(other, "memory_limit") == _duckdb_shows("memory_limit", "512MB")
        finally:
            other.close()
    finally:
        ws.close()


def test_default_spills_next_to_the_store_and_keeps_duckdbs_memory_limit(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "w", name="w")
    try:
        # DuckDB's own default for an in-memory database is `.tmp` in the current folder
        assert _setting(ws, "temp_directory") == str(ws.root / "segmentum.duckdb.tmp")
        fresh = duckdb.connect()
        try:
            default = str(fresh.execute("SELECT current_setting('memory_limit')").fetchone()[0])  # type: ignore[index]
        finally:
            fresh.close()
        assert _setting(ws, "memory_limit") == default
    finally:
        ws.close()


def test_a_share_of_the_machine_memory(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "w", "engine: {memory_limit: 25%}\n")
    try:
        expected = memory_bytes("25%")
        assert 0 < expected < memory_bytes("100%")
        assert _setting(ws, "memory_limit") == _duckdb_shows("memory_limit", f"{expected}B")
    finally:
        ws.close()


def test_memory_sizes() -> None:
    assert memory_bytes("4GB") == 4 * 1000**3
    assert memory_bytes("512 MiB") == 512 * 1024**2
    assert memory_bytes("1.5gb") == 1_500_000_000
    assert memory_bytes("50%", total=1000) == 500
    for bad in ("4 gigs", "0GB", "-1GB", "150%", "%"):
        with pytest.raises(ValueError, match="memory"):
            memory_bytes(bad)


def test_engine_name_alone_still_works(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "w", "engine: spark\n")
    assert ws.config.engine == "spark" and ws.config.engine != "duckdb"
    assert ws.config.engine.name == "spark" and ws.config.engine.memory_limit is None
    assert _workspace(tmp_path / "v", "engine: {name: spark}\n").config.engine == "spark"


def test_a_wrong_memory_limit_names_file_line_and_the_accepted_forms(tmp_path: Path) -> None:
    root = tmp_path / "w"
    root.mkdir()
    (root / "segmentum.yml").write_text("name: w\nengine:\n  memory_limit: lots\n")
    with pytest.raises(ConfigError, match=r"segmentum.yml:3:\d+: .*memory size 'lots'.*'4GB'"):
        Workspace(root)
    (root / "segmentum.yml").write_text("name: w\nengine:\n  memory_limt: 1GB\n")
    with pytest.raises(ConfigError, match=r"segmentum.yml:3:\d+: unknown key 'memory_limt'; did you mean"):
        Workspace(root)
    (root / "segmentum.yml").write_text("name: w\nengine: spork\n")
    with pytest.raises(ConfigError, match=r"segmentum.yml:2:\d+: .*'duckdb' or 'spark'"):
        Workspace(root)


def test_what_does_not_fit_spills_into_the_configured_folder(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "w", "engine: {memory_limit: 64MB, temp_directory: spill, threads: 1}\n")
    try:
        cur = ws.store.cursor()
        assert not (ws.root / "spill").exists()
        # about 200 MB of sorted rows against a 64MB limit: DuckDB must spill, or fail
        rows = cur.execute(
            "SELECT count(*), max(s) FROM (SELECT md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS s, i "
            "FROM range(2500000) t(i) ORDER BY s OFFSET 1)"
        ).fetchone()
        assert rows is not None and rows[0] == 2_499_999
        assert (ws.root / "spill").is_dir()
    finally:
        ws.close()


def test_a_served_store_checkpoints_at_serve_checkpoint_wal(tmp_path: Path) -> None:
    """Every write waits for a checkpoint, so a server checkpoints after a micro-batch, once the write-ahead log
    holds `serve.checkpoint_wal` (default 16MB, about DuckDB's own 16 MiB)
    (`tests/runs/test_realtime_compacted.py`); DuckDB's own checkpoint stays, at twice that size, for the writes
    no micro-batch follows."""
    from segmentum.config import SERVE_CHECKPOINT_WAL
    from segmentum.service.runtime import AUTOMATIC_CHECKPOINT_FACTOR, Runtime

    assert AUTOMATIC_CHECKPOINT_FACTOR == 2
    ws = _workspace(tmp_path / "d", "")
    Runtime(ws, realtime=False)
    assert memory_bytes(SERVE_CHECKPOINT_WAL) == 16_000_000
    twice = 2 * memory_bytes(SERVE_CHECKPOINT_WAL)
    assert _setting(ws, "checkpoint_threshold") == _duckdb_shows("checkpoint_threshold", f"{twice}B")
    ws.close()

    ws = _workspace(tmp_path / "w", "serve: {checkpoint_wal: 0.5MB}\n")
    Runtime(ws, realtime=False)
    assert _setting(ws, "checkpoint_threshold") == _duckdb_shows("checkpoint_threshold", "1MB")
    cur = ws.store.cursor()
    cur.execute("CREATE TABLE main.rows (n BIGINT, h VARCHAR)")
    logged = []
    for batch in range(40):  # small appends go to the log: about 6 MB in all
        cur.execute(
            f"INSERT INTO main.rows SELECT range, md5(range::VARCHAR) FROM range({batch * 4000}, {batch * 4000 + 4000})"
        )
        (size,) = cur.execute(
            "SELECT wal_size FROM pragma_database_size() WHERE database_name = current_database()"
        ).fetchone()  # type: ignore[misc]
        number, unit = str(size).split()
        logged.append(float(number) * {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[unit])
    # no micro-batch here: DuckDB checkpointed each time the log passed 1MB, never left to grow
    assert max(logged) < 2 * 2**20 and sum(a > b for a, b in zip(logged, logged[1:], strict=False)) >= 2
    ws.close()
