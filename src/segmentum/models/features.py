"""Feature preparation for clustering: per-customer frames computed in SQL, and a mixed-type encoder.

The frames are per-customer summaries (one row per customer) computed by DuckDB; raw order or event rows
never reach pandas. `MixedEncoder` turns such a frame into a numeric matrix on which Euclidean k-means is
meaningful for numeric and categorical attributes together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from segmentum.clock import resolve_as_of
from segmentum.compile.rules import existing_sql, money_sql
from segmentum.errors import ModelError, NotFittedError, NotFoundError, did_you_mean
from segmentum.sql import ident, literal
from segmentum.store import snapshots as snapshot
from segmentum.store.catalog import newest_timestamp
from segmentum.store.tables import META, qualified, traits_table

if TYPE_CHECKING:
    from segmentum.store import Store

# Normal data has IQR = 1.349 sigma: dividing by it gives numeric columns a robust unit standard deviation.
_IQR_TO_SIGMA = 1.349
# Robust-scaled values beyond this are clipped so a handful of extreme customers cannot claim a cluster.
CLIP = 5.0
OTHER = "(other)"
MISSING = "(missing)"

SUMMARY_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "events_total",
    "events_90d",
)


# ----------------------------------------------------------------------------------------------- encoder


@dataclass
class NumericColumn:
    name: str
    log: bool
    center: float
    scale: float
    fill: float  # imputed for missing values (the median, on the raw scale)


@dataclass
class CategoricalColumn:
    name: str
    categories: list[str]  # kept categories; everything else maps to OTHER
    weight: float  # multiplies the one-hot block so its total variance is 1
    shares: list[float] = field(default_factory=list)  # share of each encoded column at fit time


class MixedEncoder:
    """Encode numeric and categorical columns into one matrix for Euclidean clustering.

    Numeric columns: missing values take the median; non-negative, right-skewed columns (money, counts:
    skewness > 1) are log1p-transformed; then centred on the median and divided by IQR / 1.349 (a robust
    standard deviation; the plain standard deviation when the IQR is 0) and clipped to +-5.
    Categorical columns: the `max_categories` most frequent values holding at least `min_share` of customers
    are one-hot encoded, the rest become '(other)' and missing values '(missing)'; the block is weighted so
    its total variance is `categorical_weight` times that of one scaled numeric column (variance 1): a
    categorical variable weighs like one numeric one (times the weight), however many values it has.
    The default weight 0.5 follows Huang's k-prototypes heuristic (gamma = sigma / 2): at 1.0 the crisp
    one-hot corners dominate the silhouette and k-means splits real clusters by category noise.

    Parameters
    ----------
    numeric, categorical:
        Column names; when both are None the types are taken from the frame's dtypes.
    log:
        "auto" (skew rule above) or a list of numeric columns to log-transform.
    max_categories, min_share:
        How many values of a categorical column keep their own column.
    categorical_weight:
        Weight of a categorical variable relative to one numeric variable.
    """

    def __init__(
        self,
        numeric: list[str] | None = None,
        categorical: list[str] | None = None,
        *,
        log: str | list[str] = "auto",
        max_categories: int = 8,
        min_share: float = 0.01,
        categorical_weight: float = 0.5,
    ) -> None:
        self.categorical_weight = categorical_weight
        self.numeric = numeric
        self.categorical = categorical
        self.log = log
        self.max_categories = max_categories
        self.min_share = min_share

    # fitted state: numeric_, categorical_, feature_names_, columns_

    def fit(self, frame: pd.DataFrame) -> MixedEncoder:
        numeric, categorical = split_types(frame, self.numeric, self.categorical)
        if not numeric and not categorical:
            raise ModelError("no features to encode; give at least one numeric or categorical column")
        self.numeric_: list[NumericColumn] = []
        for name in numeric:
            values = as_float(frame[name])
            present = values[~np.isnan(values)]
            if present.size == 0:
                raise ModelError(f"feature '{name}' is missing for every customer; drop it from --features")
            fill = float(np.median(present))
            values = np.where(np.isnan(values), fill, values)
            log = (name in self.log) if isinstance(self.log, list) else _skewed(values)
            if log and values.min() < 0:
                raise ModelError(
                    f"feature '{name}' has negative values and cannot be log-transformed; "
                    "leave it out of `log`"
                )
            if log:
                values = np.log1p(values)
            q1, center, q3 = np.percentile(values, [25, 50, 75])
            scale = (q3 - q1) / _IQR_TO_SIGMA
            if not scale > 0:
                scale = float(values.std())
            if not scale > 0:
                scale = 0.0  # constant: the column carries no information and is dropped (weight 0)
            self.numeric_.append(NumericColumn(name, bool(log), float(center), float(scale), fill))
        self.categorical_: list[CategoricalColumn] = []
        for name in categorical:
            labels = as_labels(frame[name])
            counts = labels.value_counts()
            kept = [
                str(v) for v, c in counts.items() if c >= self.min_share * len(labels) and v not in (OTHER,)
            ][: self.max_categories]
            column = CategoricalColumn(name, kept, 0.0)
            onehot = self._onehot(labels, column, weight=1.0)
            shares = onehot.mean(axis=0)
            variance = float(np.sum(shares * (1 - shares)))
            column.weight = float(np.sqrt(self.categorical_weight / variance)) if variance > 1e-12 else 0.0
            column.shares = [float(s) for s in shares]
            self.categorical_.append(column)
        self.feature_names_ = [c.name for c in self.numeric_] + [
            f"{c.name}={v}" for c in self.categorical_ for v in self._levels(c)
        ]
        self.columns_ = [c.name for c in self.numeric_] + [c.name for c in self.categorical_]
        return self

    @staticmethod
    def _levels(column: CategoricalColumn) -> list[str]:
        return [*column.categories, OTHER]

    def _onehot(self, labels: pd.Series, column: CategoricalColumn, weight: float) -> np.ndarray:
        levels = self._levels(column)
        mapped = labels.where(labels.isin(column.categories), OTHER)
        codes = pd.Categorical(mapped, categories=levels).codes
        out = np.zeros((len(labels), len(levels)), dtype=np.float64)
        out[np.arange(len(labels)), codes] = weight
        return out

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The encoded matrix (rows in frame order)."""
        if not hasattr(self, "numeric_"):
            raise NotFittedError("this MixedEncoder is not fitted yet; call fit(frame) first")
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise ModelError(f"the frame lacks the feature(s) {', '.join(missing)} the encoder was fitted on")
        blocks = []
        for col in self.numeric_:
            values = as_float(frame[col.name])
            values = np.where(np.isnan(values), col.fill, values)
            if col.log:
                values = np.log1p(np.maximum(values, 0.0))
            scaled = (values - col.center) / col.scale if col.scale > 0 else np.zeros_like(values)
            blocks.append(np.clip(scaled, -CLIP, CLIP)[:, None])
        for cat in self.categorical_:
            blocks.append(self._onehot(as_labels(frame[cat.name]), cat, cat.weight))
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.fit(frame).transform(frame)

    def to_dict(self) -> dict[str, Any]:
        """The fitted state as JSON-able data (stored with the model)."""
        return {
            "numeric": [vars(c) for c in self.numeric_],
            "categorical": [vars(c) for c in self.categorical_],
            "max_categories": self.max_categories,
            "min_share": self.min_share,
            "categorical_weight": self.categorical_weight,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MixedEncoder:
        enc = cls(
            [c["name"] for c in data["numeric"]],
            [c["name"] for c in data["categorical"]],
            max_categories=data.get("max_categories", 8),
            min_share=data.get("min_share", 0.01),
            categorical_weight=data.get("categorical_weight", 0.5),
        )
        enc.numeric_ = [NumericColumn(**c) for c in data["numeric"]]
        enc.categorical_ = [CategoricalColumn(**c) for c in data["categorical"]]
        enc.feature_names_ = [c.name for c in enc.numeric_] + [
            f"{c.name}={v}" for c in enc.categorical_ for v in cls._levels(c)
        ]
        enc.columns_ = [c.name for c in enc.numeric_] + [c.name for c in enc.categorical_]
        return enc


def split_types(
    frame: pd.DataFrame, numeric: list[str] | None, categorical: list[str] | None
) -> tuple[list[str], list[str]]:
    """Numeric and categorical feature names: as given, else from the dtypes (numbers vs everything else)."""
    if numeric is None and categorical is None:
        cols = [c for c in frame.columns if c != "customer_id"]
        numeric = [c for c in cols if _is_numeric(frame[c])]
        categorical = [c for c in cols if c not in numeric]
    numeric, categorical = list(numeric or []), list(categorical or [])
    missing = [c for c in [*numeric, *categorical] if c not in frame.columns]
    if missing:
        raise ModelError(
            f"feature(s) {', '.join(missing)} not in the data; columns: "
            f"{', '.join(str(c) for c in frame.columns)}"
        )
    for name in numeric:
        if not _is_numeric(frame[name]):
            raise ModelError(
                f"feature '{name}' is not numeric (dtype {frame[name].dtype}); pass it as categorical"
            )
    return numeric, categorical


def _is_numeric(series: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series.dtype):
        return False
    if pd.api.types.is_numeric_dtype(series.dtype):
        return True
    if series.dtype == object:  # DECIMAL columns arrive as Decimal objects
        sample = series.dropna().head(50)
        return len(sample) > 0 and all(
            (isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)))
            or type(v).__name__ == "Decimal"
            for v in sample
        )
    return False


def as_float(series: pd.Series) -> np.ndarray:
    """A column as float64, text that is no number as NaN: how every feature reads a number."""
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def as_labels(series: pd.Series) -> pd.Series:
    """A column as text labels, a missing value as its own label: how every feature reads a category."""
    labels = series.astype("object").where(series.notna(), MISSING)
    return labels.map(str).reset_index(drop=True)


def _skewed(values: np.ndarray) -> bool:
    if values.size < 3 or values.min() < 0 or np.unique(values[:10_000]).size <= 2:
        return False  # flags (0/1) are not skewed amounts
    std = values.std()
    if std == 0:
        return False
    skew = float(np.mean(((values - values.mean()) / std) ** 3))
    return skew > 1.0


# ----------------------------------------------------------------------------------- per-customer frames


@dataclass
class FrameSource:
    """Where a feature frame came from: a run's traits, or a summary computed from the data at `as_of`."""

    kind: str  # 'run' | 'summary' | 'survey'
    run_id: int | None
    as_of: datetime | None


def _latest(store: Store) -> tuple[int, datetime] | None:
    """(id, as_of) of the latest run (`segmentum.store.snapshots.latest_run`), or None."""
    info = snapshot.latest_run(store)
    return (info.run_id, info.as_of) if info is not None else None


def _run(store: Store, run_id: int) -> tuple[int, datetime]:
    """(id, as_of) of complete run `run_id` (`snapshots.resolve_run`: NotFoundError otherwise)."""
    info = snapshot.resolve_run(store, run_id)
    return info.run_id, info.as_of


def _data_as_of(store: Store) -> datetime | None:
    """The `--as-of latest` instant of the data (`segmentum.clock`), or None when nothing is timestamped."""
    newest = newest_timestamp(store)
    if newest is None:
        return None
    return resolve_as_of("latest", newest=lambda: newest)[0]


def available_features(store: Store, run_id: int | None = None) -> dict[str, str]:
    """Feature name -> source ('attribute', 'trait', 'summary') that `customer_frame` can provide."""
    out: dict[str, str] = {}
    if store.table_exists("orders"):
        for name in SUMMARY_FEATURES[:5]:
            out[name] = "summary"
    if store.table_exists("events"):
        out["events_total"] = out["events_90d"] = "summary"
    for col in store.columns("customers"):
        if col != "customer_id":
            out[col] = "attribute"
    if run_id is not None:
        for col in store.columns(traits_table(run_id), schema=META):
            if col != "customer_id":
                out[col] = "trait"
    return out


def customer_frame(
    store: Store,
    features: list[str] | None = None,
    *,
    currency: str | None,
    run_id: int | None = None,
    use_run: bool = True,
) -> tuple[pd.DataFrame, FrameSource]:
    """One row per customer with the requested features, computed in SQL.

    Traits come from `segmentum.traits_<run_id>` (the newest complete batch run unless `run_id` is given),
    attributes from `main.customers`, and the behavioural summary (recency_days, frequency, monetary,
    avg_order_value, tenure_days from qualifying orders; events_total, events_90d) is computed at the run's
    `as_of`, or at the end of the newest day in the data when there is no run. A trait shadows a summary
    column of the same name. Customers are the run's customers, else those that exist at `as_of`
    (`rules.existing_sql`: `main.customers`, else every id the tables hold, first seen at or before it).
    """
    run = _run(store, run_id) if run_id is not None else (_latest(store) if use_run else None)
    rid, as_of = run if run else (None, _data_as_of(store))
    avail = available_features(store, rid)
    if not features:
        features = [
            f
            for f in ("recency_days", "frequency", "monetary", "avg_order_value", "events_90d")
            if avail.get(f) == "summary"
        ]
        if not features:
            raise ModelError(
                "no default features: the store has neither orders nor events; pass --features "
                f"with some of: {', '.join(avail) or '(no customer attributes either)'}"
            )
    unknown = [f for f in features if f not in avail]
    if unknown:
        raise NotFoundError(
            f"unknown feature '{unknown[0]}'{did_you_mean(unknown[0], avail)}; available: {', '.join(sorted(avail))}"
        )
    bad = [
        f
        for f in features
        if avail[f] == "attribute"
        and store.columns("customers")[f].upper().endswith(("[]", "TIMESTAMP", "DATE", "JSON"))
    ]
    if bad:
        kind = store.columns("customers")[bad[0]]
        raise ModelError(
            f"attribute '{bad[0]}' has type {kind}, which cannot be a clustering feature; use a "
            "trait such as days_between(...) for dates, or `segmentum cluster NAME --from-survey` "
            "for interests"
        )
    ts = "TIMESTAMP '" + str(as_of) + "'" if as_of is not None else "now()::TIMESTAMP"
    ctes, joins, select = [], [], []
    traits = "" if rid is None else traits_table(rid)  # trait features exist only with a run
    if rid is not None:
        base = f"SELECT customer_id FROM {qualified(traits)}"
    else:  # who exists at as_of: the one rule a run at that instant uses
        existing = existing_sql(store, ts)
        base = (
            f"SELECT customer_id FROM ({existing})"
            if existing is not None
            else "SELECT NULL::VARCHAR AS customer_id WHERE false"
        )
    ctes.append(f"base AS ({base})")
    if any(avail[f] == "attribute" for f in features):
        joins.append("LEFT JOIN main.customers c USING (customer_id)")
    if any(avail[f] == "trait" for f in features):
        joins.append(f"LEFT JOIN {qualified(traits)} t USING (customer_id)")
    order_feats = {"recency_days", "frequency", "monetary", "avg_order_value", "tenure_days"}
    if any(avail[f] == "summary" and f in order_feats for f in features):
        orders = money_sql(store, currency)  # monetary, avg_order_value in the workspace currency
        ctes.append(
            "o AS (SELECT customer_id, count(*) AS n, sum(amount) AS m, max(ordered_at) AS last_at, "
            f"min(ordered_at) AS first_at FROM {orders.relation} WHERE ordered_at <= {ts} AND "
            f"{orders.qualifying()} GROUP BY customer_id)"
        )
        joins.append("LEFT JOIN o USING (customer_id)")
    if any(avail[f] == "summary" and f.startswith("events_") for f in features):
        ctes.append(
            f"e AS (SELECT customer_id, count(*) AS n_all, count(*) FILTER (WHERE occurred_at > {ts} - INTERVAL 90 DAY)"
            f" AS n_90 FROM main.events WHERE occurred_at <= {ts} GROUP BY customer_id)"
        )
        joins.append("LEFT JOIN e USING (customer_id)")
    summary_sql = {
        "recency_days": f"date_diff('day', o.last_at::DATE, {ts}::DATE)",
        "tenure_days": f"date_diff('day', o.first_at::DATE, {ts}::DATE)",
        "frequency": "coalesce(o.n, 0)",
        "monetary": "coalesce(o.m, 0)::DOUBLE",
        "avg_order_value": "(o.m / o.n)::DOUBLE",
        "events_total": "coalesce(e.n_all, 0)",
        "events_90d": "coalesce(e.n_90, 0)",
    }
    for f in features:
        src = avail[f]
        if src == "summary":
            select.append(f"{summary_sql[f]} AS {ident(f)}")
        else:
            alias = "c" if src == "attribute" else "t"
            kind = (
                store.columns("customers") if src == "attribute" else store.columns(traits, schema=META)
            ).get(f, "")
            cast = "::DOUBLE" if kind.upper().startswith("DECIMAL") else ""
            select.append(f"{alias}.{ident(f)}{cast} AS {ident(f)}")
    sql = (
        f"WITH {', '.join(ctes)} SELECT base.customer_id, {', '.join(select)} FROM base "
        f"{' '.join(joins)} ORDER BY base.customer_id"
    )
    frame = store.cursor().execute(sql).df()
    return frame, FrameSource("run" if rid is not None else "summary", rid, as_of)


# ------------------------------------------------------------------------------------- needs / survey


def slug(text: str, *, max_len: int = 40) -> str:
    """A lowercase identifier made of letters, digits and underscores (starts with a letter)."""
    s = re.sub(r"[^0-9a-z]+", "_", str(text).lower()).strip("_")
    if not s or not s[0].isalpha():
        s = "x_" + s
    return s[:max_len].rstrip("_")


EXPERIENCE_QUESTIONS = ("nps", "csat")


def needs_features(
    store: Store, *, surveys: list[str] | None = None, max_interests: int = 20
) -> pd.DataFrame:
    """Needs-based features: one row per customer who answered a survey question or stated interests.

    - `main.responses`: the latest answer per customer and question becomes a column named after the
      question (slugified); a question whose every answer is a number becomes numeric, otherwise categorical.
      Answers come from `surveys` when given; else from the survey named `needs` when there is one; else
      from every question except the experience scores `nps` and `csat` (they measure satisfaction, not needs,
      and have their own built-ins).
    - `main.customers.interests` (a list): the `max_interests` most common interests become 0/1 columns
      `interest_<name>` (`interest_<name>_stated` when a survey question already has that name).
    """
    cur = store.cursor()
    columns: dict[str, str] = {}
    parts: list[str] = []
    if store.table_exists("responses"):
        has_survey = "survey" in store.columns("responses")
        if (
            surveys is None
            and has_survey
            and (cur.execute("SELECT count(*) FROM main.responses WHERE survey = 'needs'").fetchone() or [0])[
                0
            ]
        ):
            surveys = ["needs"]
        if surveys is not None:
            if not has_survey:
                raise ModelError(
                    "main.responses has no 'survey' column, so answers cannot be chosen by survey; "
                    "leave out the survey filter"
                )
            scope = f"survey IN ({', '.join(literal(x) for x in surveys)})"
        else:
            scope = f"lower(question) NOT IN ({', '.join(literal(x) for x in EXPERIENCE_QUESTIONS)})"
        questions = [
            r[0]
            for r in cur.execute(
                f"SELECT question, count(*) FROM main.responses WHERE question IS NOT NULL AND {scope} "
                "GROUP BY question ORDER BY count(*) DESC, question"
            ).fetchall()
        ]
        if surveys is not None and not questions:
            known = [
                r[0]
                for r in cur.execute(
                    "SELECT DISTINCT survey FROM main.responses WHERE survey IS NOT NULL ORDER BY 1"
                ).fetchall()
            ]
            raise NotFoundError(
                f"no answers in survey {', '.join(surveys)}{did_you_mean(surveys[0], known)}; "
                f"surveys: {', '.join(known) or 'none'}"
            )
        numeric = {
            r[0]: bool(r[1])
            for r in cur.execute(
                "SELECT question, bool_and(TRY_CAST(answer AS DOUBLE) IS NOT NULL) FROM main.responses "
                f"WHERE answer IS NOT NULL AND {scope} GROUP BY question"
            ).fetchall()
        }
        for i, q in enumerate(questions):
            name = slug(q)
            while name in columns.values():
                name = f"{name}_{i}"
            columns[q] = name
            value = "TRY_CAST(answer AS DOUBLE)" if numeric.get(q) else "answer"
            parts.append(f"max({value}) FILTER (WHERE question = {literal(q)}) AS {ident(name)}")
        answers = (
            "SELECT customer_id, question, arg_max(answer, answered_at) AS answer FROM main.responses "
            f"WHERE answer IS NOT NULL AND {scope} GROUP BY customer_id, question"
        )
    interest_cols: dict[str, str] = {}
    has_interests = "interests" in store.columns("customers")
    if has_interests:
        top = [
            r[0]
            for r in cur.execute(
                "SELECT i, count(*) FROM (SELECT unnest(interests) AS i FROM main.customers) WHERE i IS NOT NULL "
                "GROUP BY i ORDER BY count(*) DESC, i LIMIT ?",
                [max_interests],
            ).fetchall()
        ]
        for value in top:
            name = "interest_" + slug(value, max_len=30)
            if name in columns.values() or name in interest_cols.values():
                name += "_stated"
            interest_cols[value] = name
    if not parts and not interest_cols:
        raise ModelError(
            "no needs data: the store has no survey answers (main.responses) and no stated "
            "interests (main.customers.interests); ingest survey answers first, e.g. "
            "`segmentum ingest responses answers.csv`"
        )
    ctes, selects, joins, bases = [], [], [], []
    if parts:
        ctes.append(f"a AS ({answers})")
        ctes.append(f"r AS (SELECT customer_id, {', '.join(parts)} FROM a GROUP BY customer_id)")
        selects += [f"r.{ident(n)}" for n in columns.values()]
        joins.append("LEFT JOIN r USING (customer_id)")
        bases.append("SELECT customer_id FROM r")
    if interest_cols:
        flags = [
            f"CASE WHEN list_contains(c.interests, {literal(v)}) THEN 1 ELSE 0 END AS {ident(n)}"
            for v, n in interest_cols.items()
        ]
        selects += flags
        joins.append("LEFT JOIN main.customers c USING (customer_id)")
        bases.append("SELECT customer_id FROM main.customers WHERE len(interests) > 0")
    ctes.append(f"ids AS ({' UNION '.join(bases)})")
    sql = (
        f"WITH {', '.join(ctes)} SELECT ids.customer_id, {', '.join(selects)} FROM ids {' '.join(joins)} "
        "ORDER BY ids.customer_id"
    )
    frame = cur.execute(sql).df()
    for name in interest_cols.values():
        frame[name] = frame[name].astype("int64")
    return frame
