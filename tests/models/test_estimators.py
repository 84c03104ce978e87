"""Every model is an estimator in the scikit-learn manner (STYLE.md): `__init__` only stores keyword-only
parameters, `fit` takes a frame and returns self, learned state ends in `_`, using it before `fit` raises
NotFittedError; data preparation and persistence take a Context, never the estimator."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from clv_helpers import simulate_bgnbd

from segmentum.context import Context
from segmentum.errors import NotFittedError
from segmentum.models import churn, cluster_store, clv, features, persist, replenishment, summary
from segmentum.models.churn import FEATURES, ChurnRiskModel
from segmentum.models.cluster import CustomerClusterer
from segmentum.models.clv import BGNBD, GammaGamma
from segmentum.models.replenishment import ReplenishmentModel
from segmentum.store import Store


def _clv_frame() -> pd.DataFrame:
    frame = simulate_bgnbd(400, r=0.5, alpha=4.0, a=0.8, b=2.5, seed=1)
    frame["monetary_value"] = np.where(frame["frequency"] > 0, 20.0 + frame["frequency"], 0.0)
    return frame


def _churn_frame() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({f: rng.integers(0, 30, 80).astype(float) for f in FEATURES})
    return x, pd.Series((x["recency_days"] > 14).astype(int))


def _cluster_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    group = rng.integers(0, 2, 300)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(300)],
            "recency_days": rng.normal(np.where(group, 10.0, 200.0), 5.0),
            "monetary": rng.normal(np.where(group, 500.0, 50.0), 10.0),
        }
    )


def _replenishment_frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "category": ["coffee", "coffee"],
            "purchase_days": [3, 2],
            "gaps": [2, 1],
            "own_interval_days": [30.0, 20.0],
            "first_at": pd.to_datetime(["2024-01-01", "2024-05-01"]),
            "last_at": pd.to_datetime(["2024-03-01", "2024-05-21"]),
        }
    )
    frame.attrs["as_of"] = pd.Timestamp("2024-06-30 23:59:59").to_pydatetime()
    return frame


def _small(model: CustomerClusterer) -> CustomerClusterer:
    """Settings for a quick fit (set after __init__, as scikit-learn's set_params would)."""
    model.k, model.sample_size, model.n_bootstrap, model.bic = 2, 300, 0, False
    return model


# estimator, how to fit it, how to use it
CASES: list[tuple[type, Callable[[Any], Any], Callable[[Any], Any]]] = [
    (BGNBD, lambda m: m.fit(_clv_frame()), lambda m: m.conditional_probability_alive(1, 2.0, 5.0)),
    (GammaGamma, lambda m: m.fit(_clv_frame()), lambda m: m.conditional_expected_average_value(2, 30.0)),
    (CustomerClusterer, lambda m: _small(m).fit(_cluster_frame()), lambda m: m.predict(_cluster_frame())),
    (ChurnRiskModel, lambda m: m.fit(*_churn_frame()), lambda m: m.predict(_churn_frame()[0])),
    (ReplenishmentModel, lambda m: m.fit(_replenishment_frame()), lambda m: m.summary()),
]


def _holds_store(value: Any) -> bool:
    return isinstance(value, (Context, Store))


@pytest.mark.parametrize(("cls", "fit", "use"), CASES, ids=[c[0].__name__ for c in CASES])
def test_estimators_follow_the_scikit_learn_conventions(cls: type, fit: Callable, use: Callable) -> None:
    signature = inspect.signature(cls.__init__)
    params = [p for name, p in signature.parameters.items() if name != "self"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), "parameters are keyword-only"
    model = cls()
    # __init__ stores its parameters as given, and nothing else
    assert vars(model) == {p.name: p.default for p in params}
    with pytest.raises(NotFittedError):
        use(model)
    fitted = fit(model)
    assert fitted is model
    learned = [k for k in vars(model) if k.endswith("_")]
    assert learned, "learned state ends in _"
    use(model)
    assert not any(_holds_store(v) for v in vars(model).values()), "an estimator holds no store"
    first = list(inspect.signature(cls.fit).parameters)[1]
    assert first in ("X", "summary"), f"{cls.__name__}.fit takes a frame, not {first!r}"


def _public_functions() -> list[tuple[str, Callable]]:
    out = []
    for module in (churn, clv, replenishment, summary, features, cluster_store, persist):
        for name, obj in vars(module).items():
            if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_"):
                out.append((f"{module.__name__}.{name}", obj))
    return out


def test_functions_that_read_or_write_the_store_take_a_context_or_a_store() -> None:
    """No duck typing (`ws_or_store`, `ws: Any`): the store is reached through a typed Context or Store."""
    typed = []
    for qualname, func in _public_functions():
        for param in inspect.signature(func).parameters.values():
            if param.name in ("ws", "ctx", "store", "source", "ws_or_store", "store_or_con"):
                assert str(param.annotation) in ("Context", "Store"), (
                    f"{qualname}({param.name}: {param.annotation})"
                )
                typed.append(qualname)
    # the data preparation and persistence of every model is among them
    for name in (
        "churn.churn_features",
        "churn.churn_training_set",
        "churn.fit_churn_risk",
        "replenishment.replenishment_summary",
        "summary.purchase_summary",
        "clv.fit_clv",
        "cluster_store.clustering_frame",
        "persist.write_model_churn",
        "persist.write_model_clv",
        "persist.write_replenishment",
        "persist.write_clustering",
    ):
        assert f"segmentum.models.{name}" in typed
