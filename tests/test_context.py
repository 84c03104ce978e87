"""`Context`: what library functions receive instead of the workspace (context.py)."""

from __future__ import annotations

from pathlib import Path

from segmentum.context import Context, create_workspace


def test_a_closed_context_opens_a_new_store_instead_of_handing_out_the_closed_one(tmp_path: Path) -> None:
    ctx = Context(create_workspace(tmp_path / "ws"))
    first = ctx.store
    first.cursor().execute("CREATE TABLE main.kept (x INTEGER)")
    first.cursor().execute("INSERT INTO main.kept VALUES (1)")
    ctx.close()
    assert first._con is None  # closed: the file is free for another process (the CLI, a server)
    second = ctx.store
    assert second is not first
    assert second.query("SELECT x FROM main.kept") == [(1,)]
    ctx.close()
    ctx.close()  # closing twice is harmless
    with Context(tmp_path / "ws") as again:
        assert again.store.query("SELECT count(*) FROM main.kept") == [(1,)]
    assert again._store is None
