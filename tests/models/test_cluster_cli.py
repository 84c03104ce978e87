"""`segmentum cluster` end to end on a small real workspace store (tables made with DuckDB SQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from segmentum.errors import ModelError
from segmentum.store.catalog import model_fits
from segmentum.workspace import Workspace

N = 450  # customers: three planted groups of 150


def segmentum(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args], capture_output=True, text=True, timeout=300
    )


def make_shop(root: Path) -> Path:
    """Group 0: recent frequent big spenders on mobile; 1: lapsed one-off small buyers on desktop;
    2: mid-recency, a few mid-sized orders, on tablet."""
    ws = Workspace.init(root, name="shop")
    con = ws.store.cursor()
    con.execute(f"""
        CREATE TABLE main.customers AS
        SELECT 'c' || lpad(i::VARCHAR, 4, '0') AS customer_id,
               ['mobile', 'desktop', 'tablet'][i % 3 + 1] AS device,
               CASE WHEN i % 2 = 0 THEN 'Kyiv' ELSE 'Lviv' END AS city
        FROM range({N}) t(i)""")
    con.execute(f"""
        CREATE TABLE main.orders AS
        SELECT 'o' || i::VARCHAR || '-' || j::VARCHAR AS order_id,
               'c' || lpad(i::VARCHAR, 4, '0') AS customer_id,
               TIMESTAMP '2024-06-30 12:00:00'
                 - to_days([2 + (i * 7) % 11, 300 + (i * 13) % 60, 60 + (i * 5) % 30][i % 3 + 1] + 3 * j) AS ordered_at,
               ([400, 15, 90][i % 3 + 1] * (1 + ((i * 31 + j * 7) % 40) / 100.0))::DECIMAL(38, 6) AS amount,
               NULL::VARCHAR AS status
        FROM range({N}) t(i), range(12) s(j)
        WHERE j < [8 + i % 5, 1, 3][i % 3 + 1]""")
    ws.close()
    return root


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shop(tmp_path_factory.mktemp("cluster") / "shop")


def assignments(root: Path, name: str) -> dict[str, str]:
    with Workspace(root) as ws:
        return dict(
            ws.store.query(f'SELECT customer_id, "cluster_{name}" FROM segmentum."model_cluster_{name}"')
        )


@pytest.mark.slow
def test_cluster_fits_saves_the_model_assignments_and_a_valid_segmentation(shop: Path) -> None:
    result = segmentum(
        "cluster",
        "behaviour",
        "--features",
        "recency_days,frequency,monetary,device",
        "-w",
        str(shop),
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["k"] == 3
    assert [r["k"] for r in data["k_scores"]] == list(range(2, 11))
    assert (
        data["source"]["kind"] == "summary" and data["source"]["as_of"] == "2024-06-28T23:59:59.999999"
    )  # newest order: 06-28
    assert data["definitions_file"] == "definitions/cluster_behaviour.yml"
    assert data["stability"] > 0.9
    assert sorted(c["size"] for c in data["clusters"]) == [150, 150, 150]
    names = " | ".join(c["name"] for c in data["clusters"])
    assert "high spenders" in names and "lapsed" in names and "mostly mobile" in names

    got = assignments(shop, "behaviour")
    assert len(got) == N and set(got.values()) == {"1", "2", "3"}
    # planted groups are recovered exactly: customers i and i+3 share a cluster, i and i+1 do not
    assert got["c0000"] == got["c0003"] and got["c0001"] == got["c0004"]
    assert len({got["c0000"], got["c0001"], got["c0002"]}) == 3

    with Workspace(shop) as ws:
        rows = ws.store.query("SELECT name, params FROM segmentum.clusterings")
        assert [r[0] for r in rows] == ["behaviour"]
        assert json.loads(rows[0][1])["model"]["k_"] == 3
        defs = ws.definitions()
    seg = defs.segmentations["behaviour"]
    wheres = sorted(r.where_text for r in seg.rules)
    assert wheres == ["cluster_behaviour = '1'", "cluster_behaviour = '2'", "cluster_behaviour = '3'"]
    assert seg.else_segment.segment == "unassigned"
    assert segmentum("validate", "-w", str(shop)).returncode == 0

    # a refit keeps every customer's id and the old model stays in the history
    again = segmentum(
        "cluster",
        "behaviour",
        "--features",
        "recency_days,frequency,monetary,device",
        "--seed",
        "9",
        "-w",
        str(shop),
        "--format",
        "json",
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["ids_matched_to_previous_fit"] is True
    assert assignments(shop, "behaviour") == got
    with Workspace(shop) as ws:
        assert ws.store.query("SELECT count(*) FROM segmentum.clusterings")[0][0] == 2


@pytest.mark.slow
def test_assign_places_new_customers_with_the_saved_model(tmp_path: Path) -> None:
    root = make_shop(tmp_path / "shop")
    assert (
        segmentum(
            "cluster",
            "behaviour",
            "--features",
            "recency_days,frequency,monetary,device",
            "--k",
            "3",
            "-w",
            str(root),
        ).returncode
        == 0
    )
    before = assignments(root, "behaviour")
    with Workspace(root) as ws:
        con = ws.store.cursor()
        con.execute("INSERT INTO main.customers VALUES ('new1', 'mobile', 'Kyiv')")
        con.execute(
            "INSERT INTO main.orders SELECT 'n' || j::VARCHAR, 'new1', TIMESTAMP '2024-06-29 10:00:00' "
            "- to_days(3 * j), 450, NULL FROM range(10) s(j)"
        )
    result = segmentum("cluster", "behaviour", "--assign", "-w", str(root), "--format", "json")
    assert result.returncode == 0, result.stderr
    after = assignments(root, "behaviour")
    assert len(after) == N + 1
    assert after["new1"] == before["c0000"]  # a recent frequent big spender on mobile
    with Workspace(root) as ws:
        assert ws.store.query("SELECT count(*) FROM segmentum.clusterings")[0][0] == 1  # no refit


@pytest.mark.slow
def test_assign_without_a_saved_model_is_one_error_line(shop: Path) -> None:
    result = segmentum("cluster", "nothing_here", "--assign", "-w", str(shop))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: no saved clustering 'nothing_here'")
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_unknown_feature_suggests_the_closest_name(shop: Path) -> None:
    result = segmentum("cluster", "x", "--features", "monetry,frequency", "-w", str(shop))
    assert result.returncode == 1
    assert "unknown feature 'monetry'; did you mean 'monetary'?" in result.stderr


def test_clustering_on_the_traits_of_a_run(tmp_path: Path) -> None:
    """A complete batch run's traits table (store contract) is the default source of features."""
    from segmentum.models.cluster_store import fit_clustering

    root = make_shop(tmp_path / "shop")
    with Workspace(root) as ws:
        con = ws.store.cursor()
        con.execute(
            "INSERT INTO segmentum.runs (run_id, as_of, status, kind) VALUES "
            "(1, TIMESTAMP '2024-06-30 23:59:59', 'complete', 'batch'), "
            "(2, TIMESTAMP '2024-07-30 23:59:59', 'failed', 'batch')"
        )
        con.execute(
            "CREATE TABLE segmentum.traits_1 AS SELECT customer_id, sum(amount) AS revenue_365d, "
            "count(*) AS orders_total FROM main.orders GROUP BY customer_id"
        )
        with pytest.raises(ModelError, match="taken by a built-in segmentation"):
            fit_clustering(ws, "rfm", features=["revenue_365d"])
        result = ws.cluster("value_groups", features=["revenue_365d", "orders_total", "device"], k=3)
        assert result.source.kind == "run" and result.source.run_id == 1
        # a run before the as_of of the run the features came from may not use the clusters
        fit = next(f for f in model_fits(ws.store) if f.table == "model_cluster_value_groups")
        assert (fit.model, fit.data_end) == ("clustering 'value_groups'", datetime(2024, 6, 30, 23, 59, 59))
        assert sorted(result.counts.values()) == [150, 150, 150]
        assert any("high spenders" in n for n in result.model.names_.values())
        assert ws.cluster("value_groups", assign=True).counts == result.counts
        text = (root / "definitions" / "cluster_value_groups.yml").read_text()
        assert "segmentations:\n  value_groups:" in text and "cluster_value_groups = '1'" in text


def test_a_name_taken_by_another_definition_is_refused_before_fitting(tmp_path: Path) -> None:
    from segmentum.models.cluster_store import fit_clustering

    root = make_shop(tmp_path / "shop")
    (root / "definitions" / "shop.yml").write_text(
        "traits:\n  revenue: {sum: orders.amount}\nsegments:\n  taken: {where: 'revenue > 100'}\n"
    )
    with Workspace(root) as ws:
        with pytest.raises(
            ModelError, match="clashes with the segment 'taken' defined at definitions/shop.yml"
        ):
            fit_clustering(ws, "taken", features=["monetary"])
        assert not ws.store.table_exists("model_cluster_taken", schema="segmentum")
    assert not (root / "definitions" / "cluster_taken.yml").exists()
