"""Property-based requests from the OpenAPI document (schemathesis): malformed input never gets a 5xx."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from api_support import seed_snapshot


@pytest.mark.slow
# engine/duckdb.py calls DuckDB's deprecated fetch_arrow_table(); warnings from segmentum code are errors in
# pytest, which would turn every preview into a 500 here (in production it is only a warning)
@pytest.mark.filterwarnings("ignore:fetch_arrow_table:DeprecationWarning")
def test_no_5xx_for_generated_requests(live, tmp_path: Path) -> None:
    seed_snapshot(live.ws)
    try:
        result = _schemathesis(live, tmp_path)
    except subprocess.TimeoutExpired as hung:  # say where it stopped: the partial output names the operation
        output = hung.stdout.decode() if isinstance(hung.stdout, bytes) else hung.stdout or ""
        pytest.fail(f"schemathesis did not finish in {hung.timeout} s; its output so far:\n{output[-8000:]}")
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]


def _schemathesis(live, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    return subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{live.url}/v1/openapi.json",
            "-H",
            f"Authorization: Bearer {live.keys['admin']}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            os.environ.get("SEGMENTUM_FUZZ_EXAMPLES", "40"),
            "--seed",
            "20240501",
            "--mode",
            "all",
            "--request-timeout",
            "30",
            "--no-color",
            "--suppress-health-check",
            "all",
        ],
        capture_output=True,
        text=True,
        timeout=420,  # about a minute when it is well; the CI's 2 cores may take several
        cwd=tmp_path,
    )
