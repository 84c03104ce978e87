"""Churn: rates per period and segment against a pandas computation on hand-made shops and subscriptions,
trend direction, Kaplan-Meier against a hand computation, reasons, and the risk model on the demo personas."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from segmentum.errors import ModelError, NotFittedError, NotFoundError
from segmentum.models.churn import (
    FEATURES,
    ChurnRiskModel,
    churn_features,
    churn_rates,
    churn_reasons,
    churn_training_set,
    churn_trend,
    fit_churn_risk,
    kaplan_meier,
    lifetimes,
    survival_curves,
)
from segmentum.models.persist import write_model_churn
from segmentum.store.catalog import model_fits
from segmentum.store.memberships import add as add_memberships
from segmentum.workspace import Workspace

AS_OF = datetime(2024, 4, 30, 23, 59, 59, 999999)
ORDERS = [  # customer, timestamp, amount, status
    ("a", "2023-12-20 10:00", 10, None),
    ("a", "2024-01-15 10:00", 10, None),
    ("a", "2024-02-20 10:00", 10, None),
    ("a", "2024-04-10 10:00", 10, None),
    ("b", "2023-12-05 10:00", 10, None),
    ("b", "2024-01-10 10:00", 10, "cancelled"),  # b churns in January
    ("c", "2023-12-31 23:59", 10, None),
    ("c", "2024-01-25 10:00", 0, None),  # zero value counts
    ("c", "2024-03-01 00:00", -5, None),  # refund: not activity
    ("d", "2024-01-31 12:00", 10, None),
    ("d", "2024-03-20 12:00", 10, "Returned"),
    ("e", "2024-03-15 10:00", 10, None),
    ("e", "2024-04-01 00:00", 10, None),  # an order at midnight
    ("f", "2024-05-02 10:00", 10, None),  # after as_of
]


def make_shop(ws: Workspace, orders=ORDERS) -> Workspace:
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.executemany(
        "INSERT INTO main.orders VALUES (?, ?, ?, ?, ?)",
        [(f"o{i}", c, ts, amount, status) for i, (c, ts, amount, status) in enumerate(orders)],
    )
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    con.executemany("INSERT INTO main.customers VALUES (?)", [[c] for c in sorted({o[0] for o in orders})])
    return ws


def reference_rates(active, starts: list[datetime]) -> pd.DataFrame:
    """Churn per month from an `active(customer, t)` predicate, customer by customer."""
    customers = sorted({o[0] for o in ORDERS} | {"s1", "s2", "s3", "s4", "s5"})
    rows = []
    for s, e in zip(starts, starts[1:], strict=False):
        at_start = [c for c in customers if active(c, s)]
        churned = [c for c in at_start if not active(c, e)]
        rows.append((s.date(), len(at_start), len(churned)))
    return pd.DataFrame(rows, columns=["period_start", "active_start", "churned"])


def order_active(inactivity: int):
    def active(customer: str, t: datetime) -> bool:
        return any(
            c == customer
            and amount >= 0
            and (status or "").lower() not in ("cancelled", "returned")
            and t - timedelta(days=inactivity) <= datetime.fromisoformat(ts) < t
            for c, ts, amount, status in ORDERS
        )

    return active


MONTHS = [
    datetime(2023, 12, 1),
    datetime(2024, 1, 1),
    datetime(2024, 2, 1),
    datetime(2024, 3, 1),
    datetime(2024, 4, 1),
    datetime(2024, 5, 1),
]


@pytest.mark.parametrize("inactivity", [30, 45])
def test_shop_churn_per_month_matches_a_direct_computation(workspace: Workspace, inactivity: int) -> None:
    ws = make_shop(workspace)
    got = churn_rates(ws, as_of=AS_OF, inactivity_days=inactivity)
    want = reference_rates(order_active(inactivity), MONTHS)
    assert got["period_start"].tolist() == want["period_start"].tolist()
    assert got["active_start"].tolist() == want["active_start"].tolist()
    assert got["churned"].tolist() == want["churned"].tolist()
    rate = want["churned"] / want["active_start"].replace(0, np.nan)
    assert got["churn_rate"].tolist() == pytest.approx(rate.tolist(), nan_ok=True)
    assert got.attrs["basis"] == "orders"


def test_only_complete_periods_are_reported(workspace: Workspace) -> None:
    ws = make_shop(workspace)
    got = churn_rates(ws, as_of=datetime(2024, 4, 15, 12, 0), inactivity_days=30)
    assert got["period_start"].max() == date(2024, 3, 1)
    assert len(churn_rates(ws, as_of=AS_OF, inactivity_days=30, periods=2)) == 2


SUBS = [  # subscription id, customer, started, cancelled, reason
    ("S1", "s1", "2023-11-01", None, None),
    ("S2", "s2", "2023-11-01", "2024-02-10", "price"),  # churns in February
    ("S3", "s3", "2023-11-01", "2024-01-20", "upgrade"),  # upgraded: a new subscription at once
    ("S4", "s3", "2024-01-20", "2024-03-05", "poor_support"),  # then churns in March
    ("S5", "s4", "2024-02-15", "2024-02-25", None),  # starts and leaves within February: in no count
    ("S6", "s5", "2023-12-01", "2024-04-30 12:00", "price"),  # churns in April
]


def make_subscriptions(ws: Workspace) -> Workspace:
    make_shop(ws)
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.subscriptions (subscription_id VARCHAR, customer_id VARCHAR, "
        "started_at TIMESTAMP, cancelled_at TIMESTAMP, cancel_reason VARCHAR)"
    )
    con.executemany("INSERT INTO main.subscriptions VALUES (?, ?, ?, ?, ?)", SUBS)
    con.execute(
        "CREATE TABLE main.responses (customer_id VARCHAR, question VARCHAR, answer VARCHAR, "
        "answered_at TIMESTAMP)"
    )
    con.executemany(
        "INSERT INTO main.responses VALUES (?, ?, ?, ?)",
        [
            ("s2", "churn_reason", "too expensive", "2024-02-11"),
            ("s3", "Why", "slow support", "2024-03-01"),
            ("s3", "why", "support never answered", "2024-03-06"),  # the latest answer counts
            ("a", "why", "  ", "2024-03-06"),
            ("a", "nps", "9", "2024-03-06"),
        ],
    )
    return ws


def sub_active(customer: str, t: datetime) -> bool:
    return any(
        c == customer
        and datetime.fromisoformat(start) < t
        and (end is None or datetime.fromisoformat(end) >= t)
        for _, c, start, end, _ in SUBS
    )


def test_auto_basis_judges_subscribers_by_subscriptions_and_the_rest_by_orders(workspace: Workspace) -> None:
    ws = make_subscriptions(workspace)
    subscribers = {s[1] for s in SUBS}
    shop = order_active(30)

    def active(customer: str, t: datetime) -> bool:
        known = any(c == customer and datetime.fromisoformat(start) < t for _, c, start, _, _ in SUBS)
        return (
            sub_active(customer, t)
            if known
            else (customer not in subscribers or not known) and shop(customer, t)
        )

    got = churn_rates(ws, as_of=AS_OF, inactivity_days=30)
    want = reference_rates(active, [datetime(2023, 11, 1), *MONTHS])
    assert got.attrs["basis"] == "auto"
    assert (
        got[["active_start", "churned"]].to_numpy().tolist()
        == want[["active_start", "churned"]].to_numpy().tolist()
    )
    only = churn_rates(ws, as_of=AS_OF, basis="subscriptions")
    want = reference_rates(sub_active, [datetime(2023, 11, 1), *MONTHS])
    assert only["churned"].tolist() == want["churned"].tolist() == [0, 0, 0, 1, 1, 1]


def test_churn_reasons_skip_upgrades_and_take_the_latest_survey_answer(workspace: Workspace) -> None:
    ws = make_subscriptions(workspace)
    got = churn_reasons(ws, as_of=AS_OF)
    rows = {(r.source, r.reason): r.customers for r in got.itertuples()}
    assert rows == {
        ("subscriptions", "price"): 2,
        ("subscriptions", "poor_support"): 1,
        ("subscriptions", "(not given)"): 1,
        ("survey", "too expensive"): 1,
        ("survey", "support never answered"): 1,
    }
    assert got[got["source"] == "subscriptions"]["share"].sum() == pytest.approx(1.0)
    # as of mid-February only s2 has left
    early = churn_reasons(ws, as_of=datetime(2024, 2, 14))
    assert set(early["reason"]) == {"price", "too expensive"}


def test_churn_per_segment_uses_the_run_at_each_period_start(workspace: Workspace) -> None:
    ws = make_shop(workspace)
    con = ws.store.cursor()
    segments = {
        1: {"a": "x", "b": "x", "c": "y", "d": "y", "e": "y"},
        2: {"a": "y", "b": "y", "c": "x", "d": "x", "e": "x"},
    }
    for run_id, as_of in ((1, "2024-01-31 23:59:59"), (2, "2024-04-30 23:59:59")):
        con.execute(
            "INSERT INTO segmentum.runs (run_id, as_of, status, kind, customers) "
            "VALUES (?, ?, 'complete', 'batch', 5)",
            [run_id, as_of],
        )
        for customer, segment in segments[run_id].items():
            add_memberships(
                con,
                "VALUES (?, ?, 'grp', ?, ?)",
                [run_id, customer, segment, f"grp.{segment}"],
            )
    got = churn_rates(ws, as_of=AS_OF, inactivity_days=30, segmentation="grp")
    active = order_active(30)
    for row in got[got["segment"].notna()].itertuples():
        start = datetime.combine(row.period_start, datetime.min.time())
        run = 1 if start >= datetime(2024, 2, 1) else 2  # before the first run: the latest (reference) run
        assert row.segment_run_id == run
        members = [c for c, s in segments[run].items() if s == row.segment and active(c, start)]
        end = datetime.combine(row.period_end, datetime.min.time())
        assert (row.active_start, row.churned) == (len(members), sum(not active(c, end) for c in members))
    overall = got[got["segment"].isna()].set_index("period_start")
    per = got[got["segment"].notna()].groupby("period_start")[["active_start", "churned"]].sum()
    assert (overall.loc[per.index, ["active_start", "churned"]] == per).all().all()
    with pytest.raises(NotFoundError, match="did you mean 'grp'"):
        churn_rates(ws, as_of=AS_OF, segmentation="gpr")


def test_trend_direction_follows_the_slope() -> None:
    months = [date(2024, m, 1) for m in range(1, 7)]
    rising = pd.DataFrame(
        {"period_start": months, "segment": "r", "churn_rate": [0.05, 0.06, 0.08, 0.09, 0.11, 0.12]}
    )
    falling = rising.assign(segment="f", churn_rate=[0.2, 0.18, 0.15, 0.13, 0.1, 0.08])
    noisy = rising.assign(segment="n", churn_rate=[0.1, 0.12, 0.09, 0.11, 0.1, 0.105])
    trend = churn_trend(pd.concat([rising, falling, noisy])).set_index("segment")
    assert trend.loc["r", "direction"] == "rising" and trend.loc["f", "direction"] == "falling"
    assert trend.loc["n", "direction"] == "flat"
    slope = np.polyfit(np.arange(6), rising["churn_rate"], 1)[0]
    assert trend.loc["r", "slope_per_period"] == pytest.approx(slope)
    assert trend.loc["r", "change"] == pytest.approx(slope * 5)


def test_kaplan_meier_matches_a_hand_computation() -> None:
    # durations 3, 5+, 5, 8, 8, 10+: S(3) = 5/6, S(5) = 5/6 * 3/4, S(8) = S(5) * 0/2 ... with censoring
    durations = [3, 5, 5, 8, 8, 10]
    events = [1, 0, 1, 1, 0, 0]
    km = kaplan_meier(durations, events).set_index("days")
    assert km["at_risk"].tolist() == [6, 5, 3, 1]
    assert km["events"].tolist() == [1, 1, 1, 0]
    s3 = 5 / 6
    s5 = s3 * (1 - 1 / 5)
    s8 = s5 * (1 - 1 / 3)
    assert km["survival"].tolist() == pytest.approx([s3, s5, s8, s8])


def test_lifetimes_and_survival_curves_per_customer(workspace: Workspace) -> None:
    ws = make_shop(workspace)
    life = lifetimes(ws, as_of=AS_OF, inactivity_days=30).set_index("customer_id")
    # a: active (last order Apr 10) -> censored at as_of; b: churned at its only order Dec 5 (0 days)
    assert (
        bool(life.loc["a", "churned"]) is False
        and life.loc["a", "days"] == (date(2024, 4, 30) - date(2023, 12, 20)).days
    )
    assert bool(life.loc["b", "churned"]) is True and life.loc["b", "days"] == 0
    assert bool(life.loc["c", "churned"]) is True and life.loc["c", "days"] == 25
    curves = survival_curves(ws, as_of=AS_OF, inactivity_days=30)
    want = kaplan_meier(life["days"], life["churned"])
    assert curves["survival"].tolist() == pytest.approx(want["survival"].tolist())


def test_risk_model_misuse(workspace: Workspace) -> None:
    with pytest.raises(NotFittedError):
        ChurnRiskModel().predict(pd.DataFrame(columns=list(FEATURES)))
    ws = make_shop(workspace)
    with pytest.raises(ModelError, match="both churned and retained ones"):
        fit_churn_risk(ws, AS_OF, horizon_days=30, inactivity_days=30)
    with pytest.raises(ModelError, match="horizon_days must be a whole number"):
        fit_churn_risk(ws, AS_OF, horizon_days=0)
    with pytest.raises(ModelError, match="period 'year'"):
        churn_rates(ws, as_of=AS_OF, period="year")


def random_features(n: int, seed: int = 3) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {f: rng.integers(0, 50, n).astype(float) for f in FEATURES},
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )
    x["nps_missing"] = 0.0
    y = pd.Series((x["recency_days"] + rng.normal(0, 10, n) > 25).astype(int), index=x.index)
    return x, y


def test_the_risk_estimator_fits_on_a_frame_without_any_store() -> None:
    x, y = random_features(200)
    model = ChurnRiskModel(C=0.5)
    assert vars(model) == {"C": 0.5}  # __init__ only stores its parameters
    assert model.fit(x, y) is model
    assert model.n_customers_ == 200 and model.churn_rate_ == pytest.approx(y.mean())
    assert model.coefficients_.index[0] == "recency_days"  # the one feature the labels depend on
    risk = model.predict(x)
    assert risk.name == "churn_risk" and list(risk.index) == list(x.index)
    assert model.score(x, y) > 0.8
    with pytest.raises(TypeError):
        ChurnRiskModel(1.0)  # type: ignore[misc]


def test_the_risk_estimator_checks_its_input_in_domain_words() -> None:
    x, y = random_features(50)
    with pytest.raises(ModelError, match="lack column"):
        ChurnRiskModel().fit(x.drop(columns="nps"), y)
    with pytest.raises(ModelError, match="one per customer"):
        ChurnRiskModel().fit(x, y.iloc[:10])
    with pytest.raises(ModelError, match="0 .still active. or 1"):
        ChurnRiskModel().fit(x, y * 2)
    with pytest.raises(ModelError, match="both churned and retained"):
        ChurnRiskModel().fit(x, y * 0)
    with pytest.raises(ModelError, match="not finite for 1 customers"):
        ChurnRiskModel().fit(x.assign(monetary=[np.nan] + [1.0] * 49), y)
    with pytest.raises(ModelError, match="'C' parameter"):
        ChurnRiskModel(C=0).fit(x, y)


def test_fit_churn_risk_is_data_preparation_then_the_estimator_then_persistence(workspace: Workspace) -> None:
    orders = []
    for i in range(60):  # a third stops in October, a third in December, a third keeps buying
        last = {1: date(2023, 10, 15), 0: date(2023, 12, 15)}.get(i % 3, date(2024, 4, 15))
        day = date(2023, 6, 15)
        while day <= last:
            orders.append((f"k{i:02d}", f"{day} 10:00", 10 + i, None))
            day = date(day.year + day.month // 12, day.month % 12 + 1, 15)
    ws = make_shop(workspace, orders)
    result = fit_churn_risk(ws, AS_OF)
    assert result.trained_on == AS_OF - timedelta(days=90)
    # the October leavers were inactive at the cutoff already; the December ones churned afterwards
    assert (result.model.n_customers_, result.model.churn_rate_) == (40, 0.5)
    assert result.validation_auc is not None  # the October leavers churned in the earlier horizon
    x, y, _ = churn_training_set(ws, result.trained_on, result.as_of)
    by_hand = ChurnRiskModel().fit(x, y).predict(churn_features(ws, result.as_of))
    pd.testing.assert_series_equal(result.risk, by_hand)
    assert write_model_churn(ws, result) == 60
    stored = ws.store.cursor().execute(
        "SELECT customer_id, churn_risk, churn_active, churn_as_of FROM segmentum.model_churn ORDER BY 1"
    )
    rows = stored.fetchall()
    assert [r[0] for r in rows] == list(by_hand.index)
    assert [r[1] for r in rows] == pytest.approx(list(by_hand))
    assert sum(r[2] for r in rows) == 20 and {r[3] for r in rows} == {AS_OF}
    assert [(f.table, f.model, f.data_end) for f in model_fits(ws.store)] == [
        ("model_churn", "churn risk", AS_OF)
    ]


@pytest.mark.slow
def test_demo_churning_accounts_get_high_churn_risk(tmp_path) -> None:
    from segmentum.demo import workspace as demo_workspace

    root = tmp_path / "demo"
    demo_workspace.create_demo_workspace(root, customers=2000, seed=5, run=False, report=False)
    with Workspace(root) as ws:
        result = fit_churn_risk(ws, "latest")
        assert write_model_churn(ws, result) == 2000
        frame = (
            ws.store.cursor()
            .execute(
                "SELECT c.customer_id, c.persona, m.churn_risk, m.churn_active FROM main.customers c "
                "JOIN segmentum.model_churn m USING (customer_id)"
            )
            .df()
        )
        rates = churn_rates(ws, as_of="latest")
        reasons = churn_reasons(ws, as_of="latest")
        # churn_risk is an attribute in definitions
        (root / "definitions" / "risk.yml").write_text(
            'segments:\n  high_churn_risk: {where: "churn_active and churn_risk >= 0.5"}\n', encoding="utf-8"
        )
        run = ws.run(as_of="latest", only=["high_churn_risk"])
        members = set(
            ws.store.cursor()
            .execute(
                "SELECT customer_id FROM segmentum.memberships WHERE run_id = ? AND name = 'high_churn_risk'",
                [run.run_id],
            )
            .df()["customer_id"]
        )
    expected = set(frame.loc[frame["churn_active"] & (frame["churn_risk"] >= 0.5), "customer_id"])
    assert members == expected and len(members) > 0
    assert len(frame) == 2000 and frame["churn_risk"].between(0, 1).all()
    assert result.train_auc > 0.7
    assert result.validation_auc is not None and result.validation_auc > 0.65  # out of time
    risk = frame.groupby("persona")["churn_risk"].mean()
    assert risk["churning_account"] > 2 * max(risk["key_account"], risk["growing_account"])
    assert risk["churned"] > risk["loyal"] + 0.2 and risk["lapsing"] > risk["loyal"]
    assert (rates["churn_rate"].dropna().between(0, 1)).all() and rates["active_start"].iloc[-1] > 0
    # the demo's cancellations carry reasons; upgrades are not churn
    assert "upgrade" not in set(reasons["reason"]) and len(reasons) > 0


def segmentum_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_cli_churn_report_and_fit_errors(workspace: Workspace) -> None:
    ws = make_subscriptions(workspace)
    ws.close()  # the CLI process opens the store itself
    root = str(ws.root)
    done = segmentum_cli(
        "churn", "-w", root, "--as-of", "2024-04-30", "--inactivity-days", "30", "-f", "json"
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"basis", "period", "as_of", "rates", "trend", "survival", "reasons"}
    assert report["basis"] == "auto" and len(report["rates"]) == 6
    assert report["trend"][0]["direction"] in {"rising", "falling", "flat"}
    csv = segmentum_cli("churn", "-w", root, "--as-of", "2024-04-30", "--basis", "subscriptions", "-f", "csv")
    assert csv.stdout.splitlines()[0] == "period_start,period_end,segment,active_start,churned,churn_rate"
    fit = segmentum_cli("churn", "fit", "-w", root, "--as-of", "2024-04-30")
    assert fit.returncode == 1 and fit.stderr.startswith("Error: cannot learn churn")
