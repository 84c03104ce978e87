"""Clustering on the real UCI Online Retail II transactions (../shared/data), loaded with DuckDB SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentum.models.cluster_store import assign_clustering, fit_clustering
from segmentum.workspace import Workspace


@pytest.mark.realdata
@pytest.mark.slow
def test_behavioural_clusters_of_a_real_shop(tmp_path: Path, shared_data: Path) -> None:
    ws = Workspace.init(tmp_path / "retail", name="retail")
    con = ws.store.cursor()
    source = str(shared_data / "online_retail_ii_2009_2010.parquet").replace("'", "''")
    con.execute(f"""
        CREATE TABLE main.orders AS
        SELECT Invoice AS order_id, CAST(CAST("Customer ID" AS BIGINT) AS VARCHAR) AS customer_id,
               min(InvoiceDate)::TIMESTAMP AS ordered_at,
               round(sum(Quantity * Price), 6)::DECIMAL(38, 6) AS amount,
               CASE WHEN Invoice LIKE 'C%' THEN 'cancelled' END AS status
        FROM read_parquet('{source}') WHERE "Customer ID" IS NOT NULL GROUP BY Invoice, "Customer ID" """)
    con.execute(
        """
        CREATE TABLE main.customers AS
        SELECT CAST(CAST("Customer ID" AS BIGINT) AS VARCHAR) AS customer_id, mode(Country) AS country
        FROM read_parquet(?) WHERE "Customer ID" IS NOT NULL GROUP BY 1""",
        [str(shared_data / "online_retail_ii_2009_2010.parquet")],
    )
    result = fit_clustering(
        ws, "behaviour", features=["recency_days", "frequency", "monetary", "country"], k=4
    )
    model = result.model
    assert result.assigned == 4383  # every customer of the data set
    assert result.source.kind == "summary" and str(result.source.as_of).startswith("2010-12-09 23:59:59")
    assert model.stability_ > 0.6
    best = max(model.profiles_, key=lambda p: p["numeric"]["monetary"]["median"] or 0)
    assert "high spenders" in best["name"] and "frequent" in best["name"]
    assert best["numeric"]["frequency"]["median"] > 5 * best["numeric"]["frequency"]["overall_median"] / 2
    # the UK dominates the customer base, so no cluster is named after it; the names stay distinct
    assert len(set(model.names_.values())) == 4
    again = assign_clustering(ws, "behaviour")
    assert again.counts == result.counts  # same data, same saved model: the same assignment
    ws.close()
