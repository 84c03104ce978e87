"""End to end on the demo business: every built-in runs, and the planted personas land in the expected segments.

One demo workspace per module (generated, ingested, run once at `as_of=latest`); memberships are read with
`segmentum.store.snapshots`. Persona checks are shares (the demo is random); where a segment follows from data
directly (NPS on the latest answer, first source, age band), every customer is checked against a reference
computed here from the raw tables.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from segmentum.spec.builtins import builtin_names
from segmentum.store import CATALOG

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from segmentum.demo import workspace as demo_workspace
    from segmentum.store import snapshots as snapshot
    from segmentum.workspace import Workspace

    root = tmp_path_factory.mktemp("demo") / "ws"
    demo_workspace.create_demo_workspace(root, customers=2000, seed=11, run=False, report=False)
    ws = Workspace(root)
    result = ws.run(as_of="latest")
    members = snapshot.memberships(ws.store, result.run_id)
    customers = ws.store.cursor().execute(f"SELECT * FROM {CATALOG}.main.customers").df()
    wide = members[members["segmentation"].notna()].pivot(
        index="customer_id", columns="segmentation", values="segment"
    )
    frame = customers.set_index("customer_id").join(wide, how="left")
    yield ws, result, frame, members
    ws.close()


def share(frame: pd.DataFrame, persona: str, segmentation: str, segments: set[str]) -> float:
    rows = frame[frame["persona"] == persona]
    assert len(rows) > 0, f"no {persona} customers in the demo"
    return float(rows[segmentation].isin(segments).mean())


def test_every_builtin_runs_on_the_demo(demo) -> None:
    ws, result, frame, members = demo
    defs = ws.definitions()
    expected = set(builtin_names()) - {"value_clv"}  # the CLV model has not been fitted
    assert expected <= set(defs.builtins)
    assert "clv_12m" in defs.skipped.get("value_clv", "")
    # a partition: every customer in exactly one segment of each segmentation
    counts = members[members["segmentation"].notna()].groupby(["segmentation", "customer_id"]).size()
    assert counts.max() == 1
    per_segmentation = (
        members[members["segmentation"].notna()].groupby("segmentation")["customer_id"].nunique()
    )
    assert (per_segmentation == len(frame)).all()


def test_rfm_and_lifecycle_find_the_lapsing(demo) -> None:
    frame = demo[2]
    assert share(frame, "lapsing", "rfm", {"at_risk", "cant_lose", "hibernating"}) >= 0.9
    assert share(frame, "lapsing", "lifecycle", {"at_risk", "lapsed", "churned"}) >= 0.95
    assert share(frame, "prospect", "rfm", {"no_purchase"}) == 1.0


def test_value_and_loyalty_tiers(demo) -> None:
    frame = demo[2]
    assert share(frame, "key_account", "value", {"top", "high"}) >= 0.8
    assert share(frame, "prospect", "value", {"none"}) == 1.0
    assert share(frame, "loyal", "loyalty", {"platinum", "gold", "silver"}) >= 0.8
    assert share(frame, "one_time", "loyalty", {"bronze", "no_tier"}) == 1.0


def test_health_groups(demo) -> None:
    frame = demo[2]
    assert share(frame, "key_account", "health", {"key_accounts"}) >= 0.7
    assert share(frame, "churning_account", "health", {"at_risk"}) >= 0.8
    assert share(frame, "loyal", "health", {"not_an_account"}) == 1.0
    assert share(frame, "growing_account", "health", {"at_risk"}) <= 0.1


def test_renewal_onboarding_and_prospects(demo) -> None:
    frame = demo[2]
    assert share(frame, "onboarding_account", "renewal", {"onboarding"}) >= 0.9
    assert share(frame, "lead_account", "renewal", {"prospects"}) >= 0.9
    assert share(frame, "loyal", "renewal", {"no_account"}) == 1.0
    accounts = frame[frame["persona"].isin(["key_account", "growing_account"])]
    assert (accounts["renewal"] == "renewal_90d").any()


def test_nps_follows_the_latest_answer_of_every_customer(demo) -> None:
    ws, _, frame, _ = demo
    latest = (
        ws.store.cursor()
        .execute(
            f"SELECT customer_id, arg_max(answer, answered_at) AS answer FROM {CATALOG}.main.responses "
            "WHERE question = 'nps' GROUP BY customer_id"
        )
        .df()
        .set_index("customer_id")["answer"]
    )
    score = pd.to_numeric(latest, errors="coerce")
    expected = pd.Series("no_answer", index=frame.index)
    expected[score.reindex(frame.index) >= 0] = "detractors"
    expected[score.reindex(frame.index) >= 7] = "passives"
    expected[score.reindex(frame.index) >= 9] = "promoters"
    assert (frame["nps"] == expected).all()
    assert share(frame, "churning_account", "nps", {"detractors"}) > share(
        frame, "churning_account", "nps", {"promoters"}
    )
    assert share(frame, "key_account", "nps", {"promoters"}) > share(
        frame, "key_account", "nps", {"detractors"}
    )


def test_cart_abandoners(demo) -> None:
    frame = demo[2]
    assert share(frame, "browser", "cart", {"hot", "warm", "cold"}) >= 0.8
    assert share(frame, "browser", "cart_content", {"no_cart"}) <= 0.2
    assert share(frame, "prospect", "cart", {"no_abandoned_cart"}) == 1.0
    abandoners = frame[frame["cart"] != "no_abandoned_cart"]
    assert (abandoners["cart_content"] != "no_cart").all()


def test_behaviour_change(demo) -> None:
    frame = demo[2]
    assert share(frame, "declining", "behaviour_change", {"declining"}) >= 0.85
    growing = frame[(frame["persona"] == "growing") & (frame["behaviour_change"] != "not_comparable")]
    assert (growing["behaviour_change"] == "growing").mean() >= 0.8
    assert share(frame, "key_account", "behaviour_change", {"declining"}) <= 0.05


def test_retail_activity(demo) -> None:
    frame = demo[2]
    assert share(frame, "new", "retail", {"new_buyer", "no_purchase"}) == 1.0
    assert share(frame, "new", "retail", {"new_buyer"}) >= 0.85
    assert share(frame, "churned", "retail", {"inactive", "no_purchase"}) == 1.0
    assert share(frame, "prospect", "retail", {"no_purchase"}) == 1.0
    assert share(frame, "key_account", "retail", {"regular_big_order"}) >= 0.8


def test_lifestyle_replenishment_engagement_interaction(demo) -> None:
    frame = demo[2]
    assert share(frame, "key_account", "lifestyle", {"premium_habit", "recent_splurge"}) >= 0.8
    assert share(frame, "prospect", "lifestyle", {"everyday"}) == 1.0
    assert share(frame, "loyal", "replenishment", {"due", "overdue", "not_due"}) >= 0.2
    assert share(frame, "churned", "replenishment", {"lost", "no_pattern"}) == 1.0
    assert share(frame, "new", "engagement", {"engaged", "unengaged"}) <= 0.1
    negative = share(frame, "churning_account", "interaction", {"sales_negative", "support_negative"})
    assert negative > share(frame, "churning_account", "interaction", {"sales_positive", "support_positive"})


def test_attribute_segmentations_match_the_attributes(demo) -> None:
    ws, result, frame, _ = demo
    assert (frame["source"] == frame["first_source"].fillna("unknown").str.lower()).all()
    as_of = pd.Timestamp(result.as_of).date()
    born = frame["birth_date"]
    age = born.map(lambda b: None if pd.isna(b) else (as_of - pd.Timestamp(b).date()).days // 365.25)
    bands = [(25, "age_under_25"), (35, "age_25_34"), (45, "age_35_44"), (55, "age_45_54"), (65, "age_55_64")]

    def band(a: float | None) -> str:
        if a is None or pd.isna(a):
            return "age_unknown"
        return next((name for bound, name in bands if a < bound), "age_65_plus")

    assert (frame["age_band"] == age.map(band)).all()
    b2c = frame[frame["company"].isna() & frame["employees"].isna() & frame["industry"].isna()]
    assert (b2c["company_size"] == "not_a_company").all()
    assert share(frame, "key_account", "company_size", {"large", "medium"}) >= 0.9
    assert share(frame, "onboarding_account", "account_stage", {"stage_onboarding"}) == 1.0
    ua = frame[frame["country"] == "UA"]
    assert (ua["market"] != "abroad").all() and (ua["climate"] == "climate_continental").all()
    assert isinstance(as_of, date)


def test_coverage_on_the_full_demo(demo) -> None:
    from segmentum.analysis.coverage import coverage

    ws, _, frame, _ = demo
    report = coverage(ws)
    assert report.customers == len(frame) and report.customers_source == "customers"
    builtins = {b.builtin: b for b in report.builtins}
    assert {name for name, b in builtins.items() if not b.can_run} == {"value_clv"}
    assert builtins["value_clv"].missing == ["customers.clv_12m", "customers.p_alive"]
    with_orders = (
        ws.store.cursor().execute(f"SELECT count(DISTINCT customer_id) FROM {CATALOG}.main.orders").fetchone()
    )
    assert builtins["rfm"].customers == with_orders[0]  # any order row counts as data, cancelled ones too
    assert builtins["rfm"].customers >= int(frame["rfm"].ne("no_purchase").sum())
    # company data applies to business customers only: measured among the B2B accounts, not among everyone
    firmographic = builtins["firmographic"]
    b2b = frame[frame["customer_type"] == "b2b"]
    assert firmographic.base == len(b2b) < len(frame)
    with_company_data = (
        b2b[["company", "industry", "employees", "annual_revenue", "lifecycle_stage"]].notna().all(axis=1)
    )
    assert firmographic.customers == int(with_company_data.sum()) > 0
    assert firmographic.share == pytest.approx(firmographic.customers / len(b2b))
    attributes = {a.attribute: a for a in report.attributes}
    assert attributes["birth_date"].customers == int(frame["birth_date"].notna().sum())
    assert attributes["persona"].present  # extra customer columns are listed too
    clv = next(s for s in report.suggestions if s.item == "customers.clv_12m, customers.p_alive")
    assert clv.unlocks == 1 and "segmentum clv" in clv.question
    assert report.suggestions[0] is clv  # the only missing input: first to collect


@pytest.mark.spark
def test_spark_gives_the_same_traits_and_memberships(demo, monkeypatch) -> None:
    from segmentum.store import snapshots as snapshot

    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    ws, result, _, members = demo
    spark = ws.run(as_of="latest", engine="spark")
    assert spark.status == "complete"
    keys = ["customer_id", "segmentation", "name"]

    def norm(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[keys].fillna("").sort_values(keys).reset_index(drop=True)

    pd.testing.assert_frame_equal(norm(members), norm(snapshot.memberships(ws.store, spark.run_id)))
    duck = snapshot.traits(ws.store, result.run_id).sort_values("customer_id").reset_index(drop=True)
    other = snapshot.traits(ws.store, spark.run_id).sort_values("customer_id").reset_index(drop=True)
    assert list(duck.columns) == list(other.columns)
    for column in duck.columns:
        assert duck[column].astype(str).equals(other[column].astype(str)), column
