"""Replenishment: usual intervals, next dates and due status against a pandas computation on hand-made data,
the per-customer model table as attributes in definitions, and the planted demo consumable buyers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta

import pandas as pd
import pytest

from segmentum.errors import ModelError, NotFittedError
from segmentum.models.persist import write_replenishment
from segmentum.models.replenishment import ReplenishmentModel, replenishment_summary
from segmentum.store.catalog import model_fits
from segmentum.workspace import Workspace

AS_OF = datetime(2024, 6, 30, 23, 59, 59, 999999)
# order_id, customer, timestamp, amount, status, categories of its lines
ORDERS = [
    ("a1", "a", "2024-01-01 10:00", 10, None, ["coffee"]),
    ("a2", "a", "2024-01-31 09:00", 10, None, ["coffee", "books"]),
    ("a3", "a", "2024-03-01 18:00", 10, None, ["coffee"]),
    ("a4", "a", "2024-03-01 19:00", 10, None, ["coffee"]),  # same day: one purchase day
    ("a5", "a", "2024-04-10 08:00", 10, None, ["Coffee"]),  # case differs: the same category
    ("a6", "a", "2024-05-10 08:00", 10, "cancelled", ["coffee"]),  # not a purchase
    ("a7", "a", "2024-05-20 08:00", -5, None, ["coffee"]),  # refund: not a purchase
    ("b1", "b", "2024-05-01 10:00", 10, None, ["coffee"]),
    ("b2", "b", "2024-05-21 10:00", 10, None, ["coffee"]),  # one gap: the category's usual interval
    ("c1", "c", "2024-01-01 10:00", 10, None, ["pet_food"]),
    ("c2", "c", "2024-02-01 10:00", 10, None, ["pet_food"]),
    ("c3", "c", "2024-03-01 10:00", 10, None, ["pet_food"]),
    ("c4", "c", "2024-04-15 10:00", 10, None, ["pet_food", "contact_lenses"]),
    ("c5", "c", "2024-06-20 10:00", 10, None, ["contact_lenses"]),  # lenses: a single gap, no typical
    ("d1", "d", "2024-01-01 10:00", 10, None, ["books"]),  # books are not consumables by default
    ("d2", "d", "2024-02-01 10:00", 10, None, ["books"]),
    ("d3", "d", "2024-03-01 10:00", 10, None, ["books"]),
    ("e1", "e", "2024-06-01 10:00", 10, None, ["coffee"]),  # one purchase: no interval
    ("f1", "f", "2024-06-10 10:00", 10, None, ["coffee"]),
    ("f2", "f", "2024-06-20 10:00", 10, None, ["coffee"]),
    ("f3", "f", "2024-07-05 10:00", 10, None, ["coffee"]),  # after as_of: does not exist
]


def fit(ws: Workspace, as_of, *, categories=None, write: bool = True, **params) -> ReplenishmentModel:
    """Data preparation, the estimator and persistence, as `segmentum replenishment` wires them."""
    model = ReplenishmentModel(**params).fit(replenishment_summary(ws, as_of, categories=categories))
    if write:
        write_replenishment(ws, model)
    return model


@pytest.fixture
def shop(workspace: Workspace) -> Workspace:
    con = workspace.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute(
        "CREATE TABLE main.order_items (order_id VARCHAR, line BIGINT, customer_id VARCHAR, "
        "ordered_at TIMESTAMP, product_id VARCHAR, quantity DECIMAL(38, 6), unit_price DECIMAL(38, 6), "
        "category VARCHAR)"
    )
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    for order_id, customer, ts, amount, status, categories in ORDERS:
        con.execute(
            "INSERT INTO main.orders VALUES (?, ?, ?, ?, ?)", [order_id, customer, ts, amount, status]
        )
        for line, category in enumerate(categories, 1):
            con.execute(
                "INSERT INTO main.order_items VALUES (?, ?, ?, ?, 'p', 1, 10, ?)",
                [order_id, line, customer, ts, category],
            )
    con.executemany("INSERT INTO main.customers VALUES (?)", [[c] for c in "abcdef"])
    return workspace


def reference(
    categories: set[str] | None, as_of: datetime, min_gaps: int = 2, tol: float = 0.2
) -> pd.DataFrame:
    """The same figures computed row by row in pandas."""
    rows = [
        (c, pd.Timestamp(ts).normalize(), cat.lower())
        for _, c, ts, amount, status, cats in ORDERS
        if amount >= 0 and status not in ("cancelled", "returned") and pd.Timestamp(ts) <= as_of
        for cat in cats
        if categories is None or cat.lower() in categories
    ]
    days = pd.DataFrame(rows, columns=["customer_id", "d", "category"]).drop_duplicates()
    out = []
    for (customer, category), g in days.groupby(["customer_id", "category"]):
        gaps = g["d"].sort_values().diff().dropna().dt.days
        out.append(
            {
                "customer_id": customer,
                "category": category,
                "gaps": len(gaps),
                "own": gaps.median() if len(gaps) else None,
                "last_at": g["d"].max(),
            }
        )
    per = pd.DataFrame(out)
    typical = per[per["gaps"] >= min_gaps].groupby("category")["own"].median()
    per = per[per["gaps"] >= 1].copy()
    per["interval"] = [
        r.own if r.gaps >= min_gaps else typical.get(r.category, r.own) for r in per.itertuples()
    ]
    per["next_at"] = [r.last_at + timedelta(days=int(round(r.interval))) for r in per.itertuples()]
    per["until"] = (per["next_at"] - pd.Timestamp(as_of.date())).dt.days
    per["status"] = [
        "overdue" if u < -tol * i else "due" if u <= tol * i else "not_due"
        for u, i in zip(per["until"], per["interval"], strict=True)
    ]
    return per.sort_values(["customer_id", "category"]).reset_index(drop=True)


@pytest.mark.parametrize("as_of", [AS_OF, datetime(2024, 5, 25, 12, 0), datetime(2024, 4, 1, 0, 0)])
def test_intervals_next_dates_and_status_match_a_pandas_computation(shop: Workspace, as_of: datetime) -> None:
    model = fit(shop, as_of)
    got = model.detail_
    want = reference({"coffee", "pet_food", "contact_lenses"}, as_of)
    assert list(zip(got["customer_id"], got["category"], strict=True)) == list(
        zip(want["customer_id"], want["category"], strict=True)
    )
    assert got["interval_days"].tolist() == pytest.approx(want["interval"].tolist())
    assert list(pd.to_datetime(got["next_at"])) == list(want["next_at"])
    assert got["days_until_due"].tolist() == want["until"].tolist()
    assert got["status"].tolist() == want["status"].tolist()


def test_the_usual_interval_is_the_median_gap_with_fallbacks(shop: Workspace) -> None:
    d = fit(shop, AS_OF).detail_.set_index(["customer_id", "category"])
    # a: coffee on Jan 1, Jan 31, Mar 1 (twice), Apr 10: gaps 30, 30, 40 -> 30; the cancelled order and the
    # refund do not count
    assert d.loc[("a", "coffee"), ["gaps", "interval_days", "interval_source"]].tolist() == [3, 30.0, "own"]
    # b has one gap (20 days): the category's usual interval (median of a's 30 and ... only a) is used
    assert d.loc[
        ("b", "coffee"), ["gaps", "own_interval_days", "interval_days", "interval_source"]
    ].tolist() == [1, 20.0, 30.0, "category"]
    # c: pet food gaps 31, 29, 45 -> median 31; lenses: one gap and nobody else has an interval -> the gap itself
    assert d.loc[("c", "pet_food"), "interval_days"] == 31.0
    assert d.loc[("c", "contact_lenses"), ["interval_days", "interval_source"]].tolist() == [
        66.0,
        "single_gap",
    ]
    assert ("e", "coffee") not in d.index  # a single purchase predicts nothing
    assert ("d", "books") not in d.index  # not a consumable category


def test_the_model_table_holds_the_most_urgent_category_per_customer(shop: Workspace) -> None:
    fit(shop, AS_OF)
    recorded = [(f.table, f.model, f.data_end) for f in model_fits(shop.store)]
    assert recorded == [("model_replenishment", "replenishment", AS_OF)]  # runs before it do not use it
    rows = (
        shop.store.cursor()
        .execute(
            "SELECT customer_id, replen_category, replen_days_until_due, replen_status, replen_due_categories "
            "FROM segmentum.model_replenishment ORDER BY customer_id"
        )
        .fetchall()
    )
    detail = reference({"coffee", "pet_food", "contact_lenses"}, AS_OF)
    urgent = detail.sort_values(["customer_id", "until", "category"]).groupby("customer_id").head(1)
    due = detail[detail["status"].isin(["due", "overdue"])].groupby("customer_id").size()
    assert rows == [
        (r.customer_id, r.category, r.until, r.status, int(due.get(r.customer_id, 0)))
        for r in urgent.itertuples()
    ]
    # a second fit replaces the tables instead of adding to them
    fit(shop, AS_OF, categories="all")
    count = (
        shop.store.cursor()
        .execute("SELECT count(*), count(DISTINCT customer_id) FROM segmentum.model_replenishment")
        .fetchone()
    )
    assert count[0] == count[1] == 5  # a, b, c, d (books now count) and f


def test_tolerance_sets_the_width_of_the_due_window(shop: Workspace) -> None:
    # a's next coffee day: Apr 10 + 30 = May 10; 14 days late on May 24
    as_of = datetime(2024, 5, 24, 12, 0)
    narrow = fit(shop, as_of, tolerance=0.2, write=False).detail_.set_index(["customer_id", "category"])
    wide = fit(shop, as_of, tolerance=0.5, write=False).detail_.set_index(["customer_id", "category"])
    assert narrow.loc[("a", "coffee"), "days_until_due"] == -14
    assert narrow.loc[("a", "coffee"), "status"] == "overdue"  # 14 > 0.2 x 30
    assert wide.loc[("a", "coffee"), "status"] == "due"  # 14 <= 0.5 x 30


def test_model_columns_are_attributes_in_definitions(shop: Workspace) -> None:
    fit(shop, AS_OF)
    (shop.root / "definitions" / "r.yml").write_text(
        "segments:\n  reorder_reminder: {where: \"replen_status in ('due', 'overdue')\"}\n", encoding="utf-8"
    )
    result = shop.run(as_of=AS_OF)
    members = (
        shop.store.cursor()
        .execute(
            "SELECT customer_id FROM segmentum.memberships WHERE run_id = ? AND name = 'reorder_reminder' "
            "ORDER BY 1",
            [result.run_id],
        )
        .fetchall()
    )
    want = reference({"coffee", "pet_food", "contact_lenses"}, AS_OF)
    assert [r[0] for r in members] == sorted(set(want[want["status"] != "not_due"]["customer_id"]))


def test_misuse_is_reported_in_domain_words(workspace: Workspace) -> None:
    with pytest.raises(NotFittedError):
        ReplenishmentModel().summary()
    with pytest.raises(NotFittedError):
        write_replenishment(workspace, ReplenishmentModel())
    with pytest.raises(ModelError, match="order_items with a category"):
        replenishment_summary(workspace, AS_OF)
    with pytest.raises(ModelError, match="categories must be a list"):
        replenishment_summary(workspace, AS_OF, categories="coffee")


def hand_summary(rows: list[tuple], as_of: datetime | None = AS_OF) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "category",
            "purchase_days",
            "gaps",
            "own_interval_days",
            "first_at",
            "last_at",
        ],
    )
    for col in ("first_at", "last_at"):
        frame[col] = pd.to_datetime(frame[col])
    if as_of is not None:
        frame.attrs["as_of"] = as_of
    return frame


def test_the_estimator_fits_on_a_frame_without_any_store() -> None:
    summary = hand_summary(
        [
            ("x", "coffee", 3, 2, 30.0, "2024-04-01", "2024-06-01"),  # own interval: next Jul 1
            ("y", "coffee", 3, 2, 31.0, "2024-04-01", "2024-06-28"),  # own: next Jul 29, not due
            ("z", "coffee", 2, 1, 10.0, "2024-06-01", "2024-06-11"),  # one gap: coffee's median 30.5 -> 31
            ("z", "tea", 1, 0, None, "2024-05-01", "2024-05-01"),  # one purchase day: no prediction
        ]
    )
    model = ReplenishmentModel(min_gaps=2, tolerance=0.2)
    assert model.fit(summary) is model
    assert model.category_intervals_.to_dict() == {"coffee": 30.5}
    d = model.detail_.set_index("customer_id")
    assert d["interval_source"].to_dict() == {"x": "own", "y": "own", "z": "category"}
    # halves round up as in SQL: 30.5 days after Jun 11 is Jul 12
    assert d.loc["z", "next_at"] == pd.Timestamp("2024-07-12") and d.loc["z", "days_until_due"] == 12
    assert d["status"].to_dict() == {"x": "due", "y": "not_due", "z": "not_due"}
    assert model.customers_["customer_id"].tolist() == ["x", "y", "z"]
    assert not any(isinstance(v, Workspace) for v in vars(model).values())


def test_the_estimator_checks_its_frame_in_domain_words() -> None:
    with pytest.raises(ModelError, match="min_gaps must be a whole number >= 1"):
        ReplenishmentModel(min_gaps=0).fit(hand_summary([]))
    with pytest.raises(ModelError, match="tolerance must be a share"):
        ReplenishmentModel(tolerance=-1).fit(hand_summary([]))
    with pytest.raises(ModelError, match="lacks column"):
        ReplenishmentModel().fit(hand_summary([]).drop(columns="gaps"))
    with pytest.raises(ModelError, match="does not say its as_of"):
        ReplenishmentModel().fit(hand_summary([], as_of=None))
    bad = hand_summary([("x", "coffee", 3, 5, 30.0, "2024-04-01", "2024-08-01")])
    with pytest.raises(ModelError, match="gaps is not purchase days - 1 for 1 customer category; the last"):
        ReplenishmentModel().fit(bad)
    with pytest.raises(TypeError):
        ReplenishmentModel(2)  # type: ignore[misc]


@pytest.mark.slow
def test_demo_consumable_buyers_get_due_dates(tmp_path) -> None:
    from segmentum.demo import workspace as demo_workspace

    root = tmp_path / "demo"
    demo_workspace.create_demo_workspace(root, customers=2000, seed=5, run=False, report=False)
    with Workspace(root) as ws:
        model = fit(ws, "latest")
        frame = (
            ws.store.cursor()
            .execute(
                "SELECT c.persona, m.replen_status, m.replen_interval_days FROM main.customers c "
                "JOIN segmentum.model_replenishment m USING (customer_id)"
            )
            .df()
        )
    share = frame.groupby("persona")["replen_status"].apply(lambda s: (s == "overdue").mean())
    # lapsed and churned buyers stopped long ago: all overdue; declining ones stopped 90 days before the end;
    # loyal and bargain-hunting buyers keep re-buying, so many are not yet due or just due
    assert share["churned"] > 0.95 and share["lapsing"] > 0.95
    assert share["declining"] > 0.75
    assert share["loyal"] < 0.7 and share["bargain_hunter"] < 0.7
    assert share["loyal"] < share["declining"] - 0.15
    assert (frame["replen_interval_days"] > 0).all()
    assert set(model.summary()["status"]) == {"overdue", "due", "not_due"}


def segmentum_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_cli_prints_totals_and_customers_and_stores_the_model(shop: Workspace) -> None:
    shop.close()  # the CLI process opens the store itself
    root = str(shop.root)
    done = segmentum_cli("replenishment", "-w", root, "--as-of", "2024-06-30", "-f", "json")
    assert done.returncode == 0, done.stderr
    totals = {r["status"]: r["customers"] for r in json.loads(done.stdout)}
    want = reference({"coffee", "pet_food", "contact_lenses"}, AS_OF)
    urgent = want.sort_values(["customer_id", "until", "category"]).groupby("customer_id").head(1)
    assert totals == {s: int((urgent["status"] == s).sum()) for s in ("overdue", "due", "not_due")}
    done = segmentum_cli(
        "replenishment", "-w", root, "--as-of", "2024-06-30", "--customers", "-f", "json", "--category", "all"
    )
    rows = json.loads(done.stdout)
    assert [r["customer_id"] for r in rows] == ["a", "b", "c", "d", "f"]
    assert "customers with a predicted next purchase" in done.stderr
    bad = segmentum_cli("replenishment", "-w", root, "--tolerance", "-1")
    assert bad.returncode == 1 and bad.stderr.startswith("Error: tolerance")
