"""Profiles against an independent pandas/scipy computation on a real run: the base is every customer of the
run (also with only standalone segments), distinguishing features are shares and means with effect sizes,
tests, direction and units, without duplicates or internal columns; the report profiles every segmentation
in the order the user chose."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from segmentum.analysis.profile import describe_feature, profile, profile_order
from segmentum.errors import NotFoundError
from segmentum.i18n import Translator
from segmentum.runs.execute import run
from segmentum.workspace import Workspace

AS_OF = datetime(2024, 12, 31, 23, 59, 59)
N = 400
# Only standalone segments (a Telco-like export): most customers are in none of them.
DEFINITIONS = """
traits:
  spend: {sum: orders.amount, description: revenue}
  spend_again: {expr: "spend"}
  last_order: {max: orders.ordered_at}
  recency: {expr: "days_between(last_order, as_of)"}
  orders_n: {count: orders}
  balance: {expr: "coalesce(spend, 0) - 1000"}
segments:
  seniors:
    where: "senior"
  big_spenders:
    where: "spend_again > 1500"
  nobody:
    where: "tenure > 1000"
"""


def _data() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(14)
    ids = [f"c{i:03d}" for i in range(N)]
    senior = rng.random(N) < 0.2
    # seniors churn more: the share of churn = No differs between the segment and everyone
    churn = np.where(rng.random(N) < np.where(senior, 0.55, 0.2), "Yes", "No")
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "churn": churn,
            "senior": senior,
            "tenure": rng.integers(1, 72, N),
            "persona": np.where(senior, "retired", "worker"),  # the demo's ground truth: never profiled
        }
    )
    rows = []
    for i, cid in enumerate(ids):
        for k in range(int(rng.integers(1, 6))):
            day = AS_OF - timedelta(days=int(rng.integers(1, 700)), hours=3)
            amount = round(float(rng.gamma(2.0, 300.0 if not senior[i] else 150.0)), 2)
            rows.append((f"o{i}_{k}", cid, day, amount, None))
    orders = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount", "status"])
    return customers, orders


@pytest.fixture(scope="module")
def telco(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, pd.DataFrame, pd.DataFrame]:
    root = tmp_path_factory.mktemp("telco") / "ws"
    ws = Workspace.init(root, name="telco", currency="UAH")
    config = ws.root / "segmentum.yml"
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("builtins:")]
    config.write_text("\n".join([*lines, "builtins: []"]) + "\n")
    (ws.root / "definitions" / "telco.yml").write_text(DEFINITIONS)
    ws.close()
    ws = Workspace(root)
    customers, orders = _data()
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.customers (customer_id VARCHAR, churn VARCHAR, senior BOOLEAN, tenure INTEGER, "
        "persona VARCHAR)"
    )
    con.executemany("INSERT INTO main.customers VALUES (?, ?, ?, ?, ?)", customers.values.tolist())
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.executemany("INSERT INTO main.orders VALUES (?, ?, ?, ?, ?)", orders.values.tolist())
    run(ws, as_of=AS_OF)
    yield ws, customers, orders
    ws.close()


def _spend(customers: pd.DataFrame, orders: pd.DataFrame) -> pd.Series:
    return orders.groupby("customer_id")["amount"].sum().reindex(customers["customer_id"])


def test_the_base_is_every_customer_of_the_run_with_only_standalone_segments(telco) -> None:
    ws, customers, orders = telco
    p = profile(ws, "seniors")
    seniors = customers[customers["senior"]]
    assert p["size"] == len(seniors) and p["share"] == pytest.approx(len(seniors) / N)
    churn = p["attributes"].query("attribute == 'churn'").set_index("value")
    # the Telco bug: the base was "customers in any segment", so every lift was 1.00
    assert churn.loc["No", "base_share"] == pytest.approx((customers["churn"] == "No").mean())
    assert churn.loc["No", "segment_share"] == pytest.approx((seniors["churn"] == "No").mean())
    assert churn.loc["No", "lift"] == pytest.approx(
        (seniors["churn"] == "No").mean() / (customers["churn"] == "No").mean()
    )
    assert p["revenue_share"] == pytest.approx(
        float(orders[orders["customer_id"].isin(seniors["customer_id"])]["amount"].sum())
        / float(orders["amount"].sum())
    )


def test_shares_carry_cohens_h_and_the_two_proportion_test_against_the_rest(telco) -> None:
    ws, customers, _ = telco
    p = profile(ws, "seniors")
    row = p["attributes"].query("attribute == 'churn' and value == 'Yes'").iloc[0]
    seg = customers["senior"]
    k1, n1 = int((customers[seg]["churn"] == "Yes").sum()), int(seg.sum())
    k2, n2 = int((customers[~seg]["churn"] == "Yes").sum()), int((~seg).sum())
    h = 2 * np.arcsin(np.sqrt(k1 / n1)) - 2 * np.arcsin(np.sqrt(k2 / n2))
    assert row["effect"] == pytest.approx(h) and row["direction"] == "higher"
    chi2 = stats.chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=False)
    assert row["p_value"] == pytest.approx(chi2.pvalue, rel=1e-6)


def test_means_carry_medians_cohens_d_welch_and_the_workspace_currency(telco) -> None:
    ws, customers, orders = telco
    p = profile(ws, "seniors")
    spend = _spend(customers, orders).astype(float)
    seg = customers.set_index("customer_id")["senior"]
    inside, rest = spend[seg], spend[~seg]
    numeric = p["numeric"].set_index("feature")
    # spend and spend_again are one measure: shown once, under the first name
    assert "spend" in numeric.index and "spend_again" not in numeric.index
    row = numeric.loc["spend"]
    assert row["unit"] == "UAH" and row["kind"] == "trait"
    assert row["segment_mean"] == pytest.approx(inside.mean()) and row["base_mean"] == pytest.approx(
        spend.mean()
    )
    assert row["segment_median"] == pytest.approx(inside.median())
    assert row["base_median"] == pytest.approx(spend.median())
    d = (inside.mean() - rest.mean()) / np.sqrt((inside.var(ddof=1) + rest.var(ddof=1)) / 2)
    assert row["effect"] == pytest.approx(d) and row["direction"] == "lower"
    assert row["p_value"] == pytest.approx(stats.ttest_ind(inside, rest, equal_var=False).pvalue)
    assert row["lift"] == pytest.approx(inside.mean() / spend.mean())
    assert numeric.loc["recency", "unit"] == "days"
    assert pd.isna(numeric.loc["orders_n", "unit"])
    # no ratio of means for a feature with negative values
    assert numeric.loc["balance", "lift"] is None or pd.isna(numeric.loc["balance", "lift"])
    tenure = customers.set_index("customer_id")["tenure"].astype(float)
    assert numeric.loc["tenure", "kind"] == "attribute"
    assert numeric.loc["tenure", "segment_mean"] == pytest.approx(tenure[seg].mean())


def test_a_duplicate_is_shown_under_the_name_the_segment_reads(telco) -> None:
    ws, _, _ = telco
    numeric = profile(ws, "big_spenders")["numeric"]
    assert "spend_again" in set(numeric["feature"]) and "spend" not in set(numeric["feature"])


def test_distinguishing_features_are_ranked_by_effect_without_internal_columns(telco) -> None:
    ws, _, _ = telco
    p = profile(ws, "seniors", top=50)
    found = p["distinguishing"]
    assert not found.empty
    assert (found["p_value"] < 0.05).all() and (found["effect"].abs() >= 0.2).all()
    assert found["effect"].abs().is_monotonic_decreasing
    names = set(found["feature"])
    assert not any(n.startswith("persona") or n.startswith("__") for n in names)
    assert not any(n.startswith("persona") for n in p["attributes"]["attribute"])
    assert "churn = Yes" in names and "senior = true" in names
    assert set(found["measure"]) <= {"share", "mean"}
    assert set(found["direction"]) <= {"higher", "lower"}


def test_describe_feature_formats_shares_as_percent_and_means_in_their_unit() -> None:
    t = Translator("en")
    share = {"feature": "churn = Yes", "measure": "share", "segment": 0.5, "base": 0.25, "lift": 2.0}
    assert describe_feature({**share, "effect": 0.52, "direction": "higher"}, t)["segment"] == "50.0%"
    # a mean count of 0.84 tickets is not "84.0 %"
    tickets = {"feature": "tickets", "measure": "mean", "segment": 0.84, "base": 0.2, "unit": None}
    assert describe_feature(tickets, t)["segment"] == "0.84"
    # as a row of a stored profile's frame gives it (pandas 3: a str column holds a missing unit as NaN)
    features = pd.DataFrame([tickets, {**tickets, "unit": "UAH"}])
    row = features.to_dict(orient="records")[0]
    assert describe_feature(row, t)["segment"] == "0.84", row
    money = {"feature": "spend", "measure": "mean", "segment": 1234.5, "base": 1000, "unit": "UAH"}
    assert (
        describe_feature({**money, "segment_median": 1000.0}, t)["segment"]
        == "1,234.50 UAH (median 1,000.00)"
    )
    days = {"feature": "recency", "measure": "mean", "segment": 123.4, "base": 50, "unit": "days"}
    assert describe_feature(days, t)["segment"] == "123 days"
    negative = {"feature": "x", "measure": "mean", "segment": -1.73, "base": -98.78, "lift": None}
    assert describe_feature(negative, t)["lift"] == "—"
    assert describe_feature({**share, "direction": "lower"}, Translator("uk"))["direction"] == "нижче"


def test_an_empty_segment_of_the_run_has_a_profile_of_zeros(telco) -> None:
    ws, _, _ = telco
    p = profile(ws, "nobody")
    assert (p["size"], p["share"], p["revenue"], p["avg_order_value"]) == (0, 0.0, 0.0, None)
    assert p["distinguishing"].empty and p["nps"] is None


def test_a_segment_the_run_did_not_evaluate_is_refused_clearly(telco, tmp_path: Path) -> None:
    ws, _, _ = telco
    extra = ws.root / "definitions" / "later.yml"
    extra.write_text('segments:\n  newcomers:\n    where: "orders_n = 1"\n')
    try:
        with pytest.raises(NotFoundError, match=r"'newcomers' is not in run 1 .*segmentum run"):
            profile(Workspace(ws.root), "newcomers")
    finally:
        extra.unlink()


def test_profile_order_puts_the_users_definitions_first_then_builtins_in_config_order(
    tmp_path: Path,
) -> None:
    ws = Workspace.init(tmp_path / "ws", name="order")
    (ws.root / "segmentum.yml").write_text("name: order\nbuiltins: [value, rfm]\n")
    (ws.root / "definitions" / "mine.yml").write_text(
        'segmentations:\n  zone:\n    segments:\n      - {name: north, where: "true"}\n    else: south\n'
        'segments:\n  aaa:\n    where: "true"\n'
    )
    ws.store.cursor().execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    ws.close()
    ws = Workspace(ws.root)
    definitions = ws.definitions()
    assert {"rfm", "value", "zone"} <= set(definitions.segmentations)
    names = {
        "rfm.champions": "rfm",
        "rfm.hibernating": "rfm",
        "value.top": "value",
        "zone.south": "zone",
        "zone.north": "zone",
        "aaa": None,
        "abc.A": "abc",  # in the run, no longer defined
    }
    assert profile_order(ws, names, definitions) == [
        "zone.north",
        "zone.south",
        "aaa",
        "value.top",
        "rfm.champions",
        "rfm.hibernating",
        "abc.A",
    ]
    ws.close()


def test_the_report_profiles_every_segmentation_in_the_users_order(tmp_path: Path) -> None:
    from segmentum.report.build import build_report

    ws = Workspace.init(tmp_path / "ws", name="many")
    (ws.root / "segmentum.yml").write_text("name: many\nbuiltins: []\n")
    # eight segmentations, named so that alphabetical order differs from the order they are written in
    order = ["zeta", "eta", "theta", "alpha", "kappa", "beta", "omega", "delta"]
    (ws.root / "definitions" / "many.yml").write_text(
        "segmentations:\n"
        + "".join(
            f'  {n}:\n    segments:\n      - {{name: low, where: "tenure < {10 + i}"}}\n    else: high\n'
            for i, n in enumerate(order)
        )
    )
    con = ws.store.cursor()
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR, tenure INTEGER)")
    con.executemany("INSERT INTO main.customers VALUES (?, ?)", [(f"c{i}", i) for i in range(40)])
    ws.close()
    ws = Workspace(ws.root)
    run(ws, as_of=AS_OF)
    html = build_report(ws)
    section = html[html.index('id="profiles"') :]
    shown = [section.index(f"<h3>{n}.{s}</h3>") for n in order for s in ("low", "high")]
    assert shown == sorted(shown), "profiles follow the definitions, not the alphabet"
    ws.close()


@pytest.mark.slow
def test_at_risk_is_told_apart_by_recency_and_frequency_on_the_demo(tmp_path: Path) -> None:
    from segmentum.demo.workspace import create_demo_workspace

    create_demo_workspace(tmp_path / "shop", customers=600, seed=9, report=False)
    ws = Workspace(tmp_path / "shop")
    p = profile(ws, "rfm.at_risk", top=8)
    found = p["distinguishing"]
    recency_or_frequency = {"rfm_r", "rfm_r5", "rfm_recency", "rfm_f", "rfm_f5", "rfm_frequency", "rfm_score"}
    assert recency_or_frequency & set(found["feature"].head(5)), found
    assert not found["feature"].str.startswith(("persona", "__")).any()
    assert found["feature"].is_unique
    shares = found[found["measure"] == "share"]
    assert shares["segment"].between(0, 1).all()
    ws.close()


def test_many_profiles_in_one_pass_equal_one_profile_each(telco) -> None:
    from segmentum.analysis.profile import profiles

    ws, _, _ = telco
    together = profiles(ws, ["seniors", "big_spenders"], top=50)
    for name in ("seniors", "big_spenders"):
        alone = profile(ws, name, top=50)
        for key in ("size", "share", "revenue_share", "avg_orders"):
            assert together[name][key] == pytest.approx(alone[key])
        pd.testing.assert_frame_equal(together[name]["distinguishing"], alone["distinguishing"])
