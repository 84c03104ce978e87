"""Shared fixtures: real workspaces in temporary folders, the shared real data when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentum.workspace import Workspace

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh, empty workspace with a real DuckDB store."""
    ws = Workspace.init(tmp_path / "ws", name="test")
    yield ws
    ws.close()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared real data folder {SHARED_DATA} is absent")
    return SHARED_DATA
