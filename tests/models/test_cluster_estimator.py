"""CustomerClusterer on synthetic mixed data with planted clusters (fixed seeds)."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from segmentum.errors import ModelError, NotFittedError
from segmentum.models.cluster import CustomerClusterer
from segmentum.models.features import MixedEncoder


def planted(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Four behavioural groups with skewed money and counts and a device that mostly follows the group."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, n)
    devices = np.array(["desktop", "mobile", "tablet", "desktop"])
    device = np.where(rng.random(n) < 0.9, devices[truth], rng.choice(["desktop", "mobile", "tablet"], n))
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "recency_days": rng.gamma(20, np.array([250, 15, 40, 10])[truth] / 20),
            "frequency": rng.poisson(np.array([1, 6, 2, 20])[truth]) + 1,
            "monetary": rng.lognormal(np.log(np.array([40, 300, 60, 4000])[truth]), 0.25),
            "device": device,
        }
    )
    return frame, truth


@pytest.fixture(scope="module")
def fitted() -> tuple[CustomerClusterer, pd.DataFrame, np.ndarray]:
    frame, truth = planted()
    return CustomerClusterer(random_state=0).fit(frame), frame, truth


def test_auto_k_recovers_the_planted_clusters(fitted):
    model, frame, truth = fitted
    assert model.k_ == 4
    assert adjusted_rand_score(truth, model.labels_) > 0.9
    assert len(model.labels_) == len(frame)
    assert model.cluster_centers_.shape == (4, len(model.encoder_.feature_names_))


def test_evidence_table_has_a_row_per_k_and_marks_the_choice(fitted):
    model, _, _ = fitted
    scores = model.k_scores_
    assert scores["k"].tolist() == list(range(2, 11))
    assert {"silhouette", "bic", "inertia", "chosen"} <= set(scores.columns)
    assert scores.loc[scores["chosen"], "k"].tolist() == [4]
    assert scores["inertia"].is_monotonic_decreasing


def test_names_mention_the_distinguishing_features(fitted):
    model, frame, truth = fitted
    # the big spenders' cluster: the one holding most of planted group 3
    big = pd.Series(model.labels_[truth == 3]).mode()[0]
    name = model.names_[big]
    assert "frequent" in name and "high spenders" in name
    lapsed = pd.Series(model.labels_[truth == 0]).mode()[0]
    assert "lapsed" in model.names_[lapsed]
    mobile = pd.Series(model.labels_[truth == 1]).mode()[0]
    assert "mostly mobile" in model.names_[mobile]
    assert len(set(model.names_.values())) == 4
    assert all(s.replace("_", "").isalnum() and s[0].isalpha() for s in model.segments_.values())


def test_profiles_give_size_share_medians_and_category_lift(fitted):
    model, frame, truth = fitted
    assert sum(p["size"] for p in model.profiles_) == len(frame)
    assert abs(sum(p["share"] for p in model.profiles_) - 1) < 1e-9
    big = pd.Series(model.labels_[truth == 3]).mode()[0]
    prof = next(p for p in model.profiles_ if p["id"] == big)
    assert prof["numeric"]["monetary"]["median"] > 5 * prof["numeric"]["monetary"]["overall_median"]
    assert prof["numeric"]["monetary"]["effect"] > 1
    assert prof["numeric"]["monetary"]["lift"] > 3
    top = prof["categorical"]["device"][0]
    assert top["value"] == "desktop" and top["share"] > 0.8 and top["lift"] > 1.5


def test_ids_are_ordered_by_size_on_a_first_fit(fitted):
    model, _, _ = fitted
    sizes = [p["size"] for p in model.profiles_]
    assert model.cluster_ids_ == ["1", "2", "3", "4"]
    assert sizes == sorted(sizes, reverse=True)


def test_stability_is_high_on_clean_data_and_lower_on_noise(fitted):
    model, _, _ = fitted
    rng = np.random.default_rng(3)
    noise = pd.DataFrame(rng.normal(size=(2000, 6)), columns=[f"x{i}" for i in range(6)])
    on_noise = CustomerClusterer(k=4, random_state=0, n_bootstrap=6).fit(noise)
    assert model.stability_ > 0.9
    assert on_noise.stability_ < model.stability_ - 0.15


def test_predict_assigns_new_rows_to_the_nearest_cluster(fitted):
    model, frame, _ = fitted
    assert (model.predict(frame) == model.labels_).mean() > 0.99
    one = frame.iloc[[0]].copy()
    assert model.predict(one)[0] == model.labels_[0]


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted"):
        CustomerClusterer().predict(pd.DataFrame({"a": [1.0, 2.0]}))


def test_refit_on_permuted_rows_keeps_every_customers_id(fitted):
    model, frame, _ = fitted
    shuffled = frame.sample(frac=1.0, random_state=7).reset_index(drop=True)
    refit = CustomerClusterer(random_state=5).fit(shuffled, previous=model)
    before = dict(zip(frame["customer_id"], model.labels_, strict=True))
    after = dict(zip(shuffled["customer_id"], refit.labels_, strict=True))
    agree = np.mean([before[c] == after[c] for c in before])
    assert agree > 0.98
    assert refit.names_ == model.names_


def test_refit_with_an_extra_cluster_gives_it_a_new_id(fitted):
    model, frame, _ = fitted
    refit = CustomerClusterer(k=5, random_state=0).fit(frame, previous=model)
    assert set(model.cluster_ids_) < set(refit.cluster_ids_)
    assert "5" in refit.cluster_ids_


def test_model_round_trips_through_json(fitted):
    model, frame, _ = fitted
    data = json.loads(json.dumps(model.to_dict(), allow_nan=False))
    loaded = CustomerClusterer.from_dict(data)
    assert (loaded.predict(frame) == model.predict(frame)).all()
    assert loaded.names_ == model.names_ and loaded.k_ == 4


def test_bad_parameters_are_reported_in_domain_words():
    frame, _ = planted(200)
    with pytest.raises(ModelError, match="'k' parameter .* got 1"):
        CustomerClusterer(k=1).fit(frame)
    with pytest.raises(ModelError, match="too few"):
        CustomerClusterer(k=3).fit(frame.head(3))
    with pytest.raises(ModelError, match="DataFrame"):
        CustomerClusterer().fit(frame.to_numpy())


def test_encoder_logs_skewed_money_and_weights_a_categorical_like_half_a_numeric():
    frame, _ = planted()
    enc = MixedEncoder(log="auto").fit(frame.drop(columns="customer_id"))
    logged = {c.name: c.log for c in enc.numeric_}
    assert logged["monetary"] and logged["frequency"]
    Z = enc.transform(frame)
    block = Z[:, len(enc.numeric_) :]
    assert abs(block.var(axis=0).sum() - 0.5) < 1e-9
    assert np.abs(Z[:, : len(enc.numeric_)]).max() <= 5.0


def test_encoder_maps_rare_and_unseen_categories_to_other():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"x": rng.normal(size=1000), "city": ["Kyiv"] * 600 + ["Lviv"] * 395 + ["Odesa"] * 5}
    )
    enc = MixedEncoder(min_share=0.01).fit(frame)
    assert enc.categorical_[0].categories == ["Kyiv", "Lviv"]
    unseen = enc.transform(pd.DataFrame({"x": [0.0], "city": ["Kharkiv"]}))
    assert unseen[0, -1] > 0 and unseen[0, 1] == 0 and unseen[0, 2] == 0


def test_names_read_like_a_marketer_would_say_them():
    from segmentum.models.naming import CategoryEffect, NumericEffect, cluster_name, segment_slugs

    name = cluster_name(
        [NumericEffect("frequency", 1.2), NumericEffect("monetary", 2.0)],
        [CategoryEffect("device", "mobile", 0.8, 1.9), CategoryEffect("region", "Kyiv", 0.7, 2.0)],
    )
    assert name == "frequent high spenders, mostly mobile, Kyiv region"
    assert cluster_name([NumericEffect("interest_books", 1.0)], []) == "customers into books"
    assert cluster_name([NumericEffect("tenure_days", 0.1)], []) == "typical customers"
    assert segment_slugs(["frequent high spenders, mostly Kyiv region"], ["1"]) == [
        "frequent_high_spenders_mostly_kyiv_region"
    ]


def test_booleans_are_categorical_and_nullable_integers_numeric():
    from segmentum.models.features import split_types

    frame = pd.DataFrame(
        {
            "opt_in": pd.Series([True, None, False] * 10, dtype=object),
            "flag": pd.Series([True, False, True] * 10, dtype="boolean"),
            "employees": pd.Series([5, None, 50] * 10, dtype="Int64"),
            "income": [Decimal("10.5"), Decimal("20"), None] * 10,
        }
    )
    numeric, categorical = split_types(frame, None, None)
    assert numeric == ["employees", "income"] and categorical == ["opt_in", "flag"]
    Z = MixedEncoder().fit_transform(frame)
    assert Z.shape[0] == 30 and np.isfinite(Z).all()
