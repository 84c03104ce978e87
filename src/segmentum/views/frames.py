"""Small helpers the read models share to hand rows to interfaces."""

from __future__ import annotations

from typing import Any

import pandas as pd


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, with None for missing values (NaN, NaT, pd.NA)."""
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")
