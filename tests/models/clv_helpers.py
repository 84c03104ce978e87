"""Shared pieces of the CLV tests: CDNOW loaded into a real workspace store, BG/NBD and Gamma-Gamma simulators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from segmentum.workspace import Workspace


def load_cdnow_sample(ws: Workspace, data_dir: Path) -> None:
    """CDNOW_sample.txt (whitespace separated, no header: customer, customer in sample, YYYYMMDD, cds, dollars) as
    canonical `main.orders` (order_id = row number), with DuckDB SQL only."""
    path = str(data_dir / "cdnow" / "CDNOW_sample.txt").replace("'", "''")
    ws.store.cursor().execute(f"""
        CREATE TABLE main.orders AS
        WITH raw AS (
            SELECT row_number() OVER () AS n, regexp_split_to_array(trim(line), '\\s+') AS f
            FROM read_csv('{path}', columns = {{'line': 'VARCHAR'}}, header = false, delim = '|', quote = '')
            WHERE trim(line) <> ''
        )
        SELECT CAST(n AS VARCHAR) AS order_id,
               f[1] AS customer_id,
               CAST(strptime(f[3], '%Y%m%d') AS TIMESTAMP) AS ordered_at,
               CAST(f[5] AS DECIMAL(38, 6)) AS amount,
               CAST(NULL AS VARCHAR) AS status
        FROM raw
    """)


def simulate_bgnbd(
    n: int, r: float, alpha: float, a: float | None, b: float | None, seed: int, max_weeks: int = 52
) -> pd.DataFrame:
    """Purchase histories from the BG/NBD story (FHL 2005). a=None: nobody ever drops out (the NBD limit).

    Poisson purchases with rate lambda ~ Gamma(r, alpha) while alive; after each repeat purchase the customer
    drops out with probability p ~ Beta(a, b). T is uniform in whole days up to `max_weeks` weeks.
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    big_t = rng.integers(1, max_weeks * 7 + 1, n) / 7.0
    arrivals = rng.poisson(lam * big_t)
    if a is None:
        x = arrivals
    else:
        p = rng.beta(a, b, n)
        x = np.minimum(arrivals, rng.geometric(p))  # dies after the K-th repeat purchase
    # the x-th of `arrivals` uniform arrival times on (0, T] is Beta(x, arrivals - x + 1) distributed
    t_x = np.where(x > 0, big_t * rng.beta(np.maximum(x, 1), np.maximum(arrivals - x + 1, 1)), 0.0)
    return pd.DataFrame(
        {"frequency": x.astype(float), "recency": t_x, "T": big_t},
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )


def simulate_gamma_gamma(frequency: np.ndarray, p: float, q: float, gamma: float, seed: int) -> np.ndarray:
    """Mean spend of x purchases: each spend ~ Gamma(p, nu), nu ~ Gamma(q, gamma) per customer (F&H 2013)."""
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / gamma, len(frequency))
    x = np.asarray(frequency, dtype=float)
    total = rng.gamma(np.maximum(p * x, 1e-12), 1.0 / nu)  # a sum of x Gamma(p, nu) spends is Gamma(p x, nu)
    return np.where(x > 0, total / np.maximum(x, 1), 0.0)
