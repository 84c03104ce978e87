"""Per-customer outputs of fitted models, stored as `segmentum.model_<name>` tables (CLV, churn risk,
replenishment, clusters): what the customer 360 shows and the report charts."""

from __future__ import annotations

from typing import Any

import pandas as pd

from segmentum.context import Context
from segmentum.sql import ident, qualified
from segmentum.store import META
from segmentum.store.catalog import MODEL_TABLE_PREFIX, model_tables
from segmentum.views.frames import records


def model_outputs(ctx: Context, customer_id: str) -> dict[str, dict[str, Any]]:
    """Model name (`clv` of `model_clv`) -> the customer's row of outputs (without customer_id)."""
    out: dict[str, dict[str, Any]] = {}
    cur = ctx.store.cursor()
    for table in model_tables(ctx.store):
        df = cur.execute(
            f"SELECT * FROM {qualified(META, table)} WHERE customer_id = ? LIMIT 1", [customer_id]
        ).df()
        if len(df):
            row = records(df)[0]
            out[table[len(MODEL_TABLE_PREFIX) :]] = {k: v for k, v in row.items() if k != "customer_id"}
    return out


def model_values(ctx: Context, model: str, column: str) -> pd.Series | None:
    """Every customer's non-null `column` of model `model` as floats; None when the model has no such output."""
    table = f"{MODEL_TABLE_PREFIX}{model}"
    if table not in model_tables(ctx.store) or column not in ctx.store.columns(table, schema=META):
        return None
    value = ident(column)
    df = (
        ctx.store.cursor()
        .execute(f"SELECT {value}::DOUBLE AS v FROM {qualified(META, table)} WHERE {value} IS NOT NULL")
        .df()
    )
    return df["v"]
