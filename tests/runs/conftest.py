"""Fixtures of the runs tests: a small shop in a real workspace (helpers live in runs_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from runs_helpers import make_shop

from segmentum.workspace import Workspace


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = make_shop(tmp_path / "ws")
    yield ws
    ws.close()
