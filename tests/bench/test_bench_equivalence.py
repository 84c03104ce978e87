"""The benchmark harness on 2,000 customers: every implementation gives identical traits and memberships.

Timings are printed by the harness but never asserted (the machine is shared).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `bench` is a top-level package of the repository, not of the installed wheel
    sys.path.insert(0, str(REPO))

from bench import run as harness  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict:
    data_dir = tmp_path_factory.mktemp("bench")
    return {"dir": data_dir, "entry": harness.bench_size(2_000, ["sql", "segmentum", "pandas"], 1, data_dir)}


def test_segmentum_and_pandas_match_the_handwritten_sql_row_for_row(small: dict) -> None:
    entry = small["entry"]
    assert entry["check"] == {"segmentum": "identical", "pandas": "identical"}
    assert entry["rows"]["customers"] == 2_000 and entry["rows"]["orders"] > 10_000
    for impl in ("sql", "segmentum", "pandas"):
        figures = entry["impls"][impl]
        assert figures["seconds"] > 0 and figures["peak_rss_mb"] > 0


def test_outputs_cover_every_customer_and_every_segmentation(small: dict) -> None:
    out = small["dir"] / "c2000" / "out"
    traits = pd.read_parquet(out / "sql_0" / "traits.parquet")
    mem = pd.read_parquet(out / "segmentum_0" / "memberships.parquet")
    assert len(traits) == 2_000 and traits.customer_id.is_unique
    partitions = mem[mem.segmentation.notna()]
    # each customer exactly once in each of rfm, abc, lifecycle
    assert partitions.groupby("segmentation").customer_id.nunique().to_dict() == {
        "abc": 2_000,
        "lifecycle": 2_000,
        "rfm": 2_000,
    }
    assert len(partitions) == 3 * 2_000
    standalone = set(mem.loc[mem.segmentation.isna(), "name"])
    assert len(standalone) == 10 and all(name.startswith("b_") for name in standalone)


def test_compare_reports_a_changed_value(small: dict, tmp_path: Path) -> None:
    out = small["dir"] / "c2000" / "out"
    changed = tmp_path / "changed"
    changed.mkdir()
    traits = pd.read_parquet(out / "sql_0" / "traits.parquet")
    traits.loc[0, "b_orders_total"] += 1
    traits.to_parquet(changed / "traits.parquet")
    mem = pd.read_parquet(out / "sql_0" / "memberships.parquet")
    mem.iloc[1:].to_parquet(changed / "memberships.parquet")
    problems = harness.compare(out / "sql_0", changed)
    assert any(p.startswith("trait b_orders_total: 1 rows differ") for p in problems)
    assert any(p.startswith("memberships differ: 1 only in reference") for p in problems)


@pytest.mark.spark
def test_spark_matches_the_handwritten_sql(small: dict) -> None:
    entry = harness.bench_size(2_000, ["sql", "spark"], 1, small["dir"])
    assert entry["check"] == {"spark": "identical"}


def test_under_a_small_memory_limit_the_outputs_stay_identical(
    small: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--memory-limit` reaches every worker's store through `engine.memory_limit` (DuckDB then spills)."""
    import shutil

    shutil.copytree(small["dir"] / "c2000", tmp_path / "c2000")  # the module's own store stays as it was
    monkeypatch.setenv(harness.MEMORY_ENV, "100MB")
    entry = harness.bench_size(2_000, ["sql", "segmentum"], 1, tmp_path)
    assert entry["check"] == {"segmentum": "identical"}
    assert {entry["impls"][i]["memory_limit"] for i in ("sql", "segmentum")} == {"95.3 MiB"}
    assert small["entry"]["impls"]["segmentum"]["memory_limit"] != "95.3 MiB"


def test_the_evaluation_alone_is_timed_against_the_hand_sqls_traits(small: dict, tmp_path: Path) -> None:
    from bench import evaluate

    report = evaluate.main(
        ["--workspace", str(small["dir"] / "c2000" / "ws"), "--repeats", "1", "--profile", str(tmp_path)]
    )
    assert report["rows"] == {"segmentum": 2_000, "sql": 2_000}
    assert report["best_ratio"] > 0 and all(len(v) == 1 for v in report["seconds"].values())
    for side in ("segmentum", "sql"):  # DuckDB's profile of each side, operator by operator
        assert json.loads((tmp_path / f"{side}.json").read_text())["children"]
