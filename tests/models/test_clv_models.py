"""BG/NBD and Gamma-Gamma estimators: recovery of known parameters, boundary optima, scikit-learn behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from clv_helpers import simulate_bgnbd, simulate_gamma_gamma
from scipy.optimize import minimize
from scipy.special import gammaln

from segmentum.errors import ModelError, NotFittedError
from segmentum.models.clv import BGNBD, GammaGamma, parse_horizon, predict_customers

# The independent fit searches parameters in 6e-6 .. 1.6e5, where the direct formula below is still accurate
# (far outside, gammaln differences of huge numbers cancel into nonsense).
_BOX = [(-12.0, 12.0)] * 4


def _independent_bgnbd_ll(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> float:
    """FHL (2005) eq. 6 written out directly, independent of segmentum's implementation."""
    r, alpha, a, b = np.exp(log_params)
    base = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + x)
        - gammaln(b)
        - gammaln(a + b + x)
    )
    stay = -(r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore"):
        drop = np.where(
            x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf
        )
    return float(np.sum(base + np.logaddexp(stay, drop)))


def test_bgnbd_recovers_simulated_parameters() -> None:
    truth = {"r": 0.8, "alpha": 5.0, "a": 0.6, "b": 3.0}
    summary = simulate_bgnbd(20_000, **truth, seed=7)
    model = BGNBD().fit(summary)
    assert model is not None and model.boundary_ == {}
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.15), name
    # the fit is a maximum: every truth-shifted point is no better
    x, t_x, big_t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    best = np.log([model.params_[k] for k in ("r", "alpha", "a", "b")])
    assert model.log_likelihood_ == pytest.approx(_independent_bgnbd_ll(best, x, t_x, big_t), rel=1e-10)
    for shift in np.eye(4) * 0.01:
        assert _independent_bgnbd_ll(best + shift, x, t_x, big_t) < model.log_likelihood_
        assert _independent_bgnbd_ll(best - shift, x, t_x, big_t) < model.log_likelihood_


def test_gamma_gamma_recovers_simulated_parameters() -> None:
    truth = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    rng = np.random.default_rng(11)
    frequency = rng.integers(0, 12, 30_000).astype(float)
    summary = pd.DataFrame(
        {"frequency": frequency, "monetary_value": simulate_gamma_gamma(frequency, **truth, seed=12)}
    )
    model = GammaGamma().fit(summary)
    assert model.n_customers_ == int(np.count_nonzero(frequency > 0))
    assert model.excluded_ == {
        "no_repeat_purchase": int(np.count_nonzero(frequency == 0)),
        "zero_monetary_value": 0,
    }
    for name, value in truth.items():
        assert model.params_[name] == pytest.approx(value, rel=0.15), name
    # population mean spend p * gamma / (q - 1) for a customer without repeat purchases
    assert model.conditional_expected_average_value(0, 0)[()] == pytest.approx(
        model.params_["p"] * model.params_["gamma"] / (model.params_["q"] - 1)
    )


@pytest.mark.slow
def test_boundary_optimum_without_dropout_beats_an_independent_multistart_fit() -> None:
    # nobody ever drops out: the likelihood rises towards a -> 0 (the NBD), where lifetimes' unconstrained
    # log-parameter fit runs off to infinity
    # (with this seed the sample maximum is on the boundary; without dropout that happens for about half the seeds,
    # otherwise a small interior dropout fits the noise a little better)
    summary = simulate_bgnbd(4_000, r=0.9, alpha=6.0, a=None, b=None, seed=4)
    x, t_x, big_t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    model = BGNBD().fit(summary)
    assert model.boundary_ == {"a": "lower"}
    assert model.params_["a"] < 1e-8
    independent = -np.inf
    for start in ([0, 0, 0, 0], [-1, 1, -2, 1], [0.5, 2, 1, 2], [-0.5, 1.5, -5, 3], [0, 0, -10, 0]):
        res = minimize(
            lambda z: -_independent_bgnbd_ll(z, x, t_x, big_t),
            np.array(start, dtype=float),
            method="Nelder-Mead",
            bounds=_BOX,
            options={"maxiter": 6000, "maxfev": 6000, "xatol": 1e-8, "fatol": 1e-10},
        )
        independent = max(independent, -res.fun)
    assert model.log_likelihood_ >= independent - 1e-6

    # and it equals the NBD's maximum (the a -> 0 limit), fitted here in closed form over (r, alpha)
    def nbd(z: np.ndarray) -> float:
        r, alpha = np.exp(z)
        return -float(
            np.sum(gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + big_t))
        )

    nbd_best = -minimize(nbd, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-10}).fun
    assert model.log_likelihood_ == pytest.approx(nbd_best, abs=1e-3)
    assert model.params_["r"] == pytest.approx(0.9, rel=0.15)
    # predictions in the limit are the NBD's: (r + x) / (alpha + T) purchases per week, and everyone is alive
    r, alpha = model.params_["r"], model.params_["alpha"]
    np.testing.assert_allclose(
        model.conditional_expected_number_of_purchases(10, x[:50], t_x[:50], big_t[:50]),
        (r + x[:50]) * 10 / (alpha + big_t[:50]),
        rtol=1e-5,
    )
    np.testing.assert_allclose(model.conditional_probability_alive(x, t_x, big_t), 1.0, atol=1e-6)


@pytest.mark.slow
def test_customers_active_to_the_end_put_a_on_its_lower_bound() -> None:
    # every repeat buyer bought on the last day: no hint of dropout at all
    summary = simulate_bgnbd(3_000, r=0.5, alpha=4.0, a=None, b=None, seed=8)
    summary["recency"] = np.where(summary["frequency"] > 0, summary["T"], 0.0)
    model = BGNBD().fit(summary)
    assert model.boundary_ == {"a": "lower"}
    x, t_x, big_t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    for start in ([0, 0, 0, 0], [-1, 1, -2, 1], [0, 0, 3, 3]):
        res = minimize(
            lambda z: -_independent_bgnbd_ll(z, x, t_x, big_t),
            np.array(start, dtype=float),
            method="Nelder-Mead",
            bounds=_BOX,
            options={"maxiter": 6000, "maxfev": 6000},
        )
        assert model.log_likelihood_ >= -res.fun - 1e-6


def test_aggregated_fit_equals_fit_with_weights() -> None:
    summary = simulate_bgnbd(3_000, r=0.5, alpha=3.0, a=0.7, b=2.0, seed=5)
    doubled = pd.concat([summary, summary])
    weighted = BGNBD().fit(summary, weights=np.full(len(summary), 2.0))
    plain = BGNBD().fit(doubled)
    for name in ("r", "alpha", "a", "b"):
        assert weighted.params_[name] == pytest.approx(plain.params_[name], rel=1e-5)
    assert weighted.log_likelihood_ == pytest.approx(plain.log_likelihood_, rel=1e-9)
    assert plain.n_customers_ == 6_000


def test_penalizer_shrinks_parameters() -> None:
    summary = simulate_bgnbd(3_000, r=0.5, alpha=3.0, a=0.7, b=2.0, seed=5)
    plain, shrunk = BGNBD().fit(summary), BGNBD(penalizer=0.1).fit(summary)
    assert shrunk.log_likelihood_ < plain.log_likelihood_
    assert shrunk.params_["b"] < plain.params_["b"]
    with pytest.raises(ModelError, match="'penalizer' of BGNBD must be a number >= 0, got -1"):
        BGNBD(penalizer=-1).fit(summary)


def test_models_raise_not_fitted_before_fit() -> None:
    with pytest.raises(NotFittedError, match="BGNBD is not fitted yet; call .fit"):
        BGNBD().conditional_probability_alive(1, 1, 2)
    with pytest.raises(NotFittedError):
        BGNBD().expected_number_of_purchases(10)
    with pytest.raises(NotFittedError, match="GammaGamma is not fitted yet"):
        GammaGamma().conditional_expected_average_value(1, 10.0)
    assert issubclass(NotFittedError, AttributeError)  # as scikit-learn's


def test_gamma_gamma_needs_repeat_buyers_and_non_negative_values() -> None:
    with pytest.raises(ModelError, match="only 0 of 3 customers have one"):
        GammaGamma().fit(pd.DataFrame({"frequency": [0, 0, 0], "monetary_value": [0.0, 0.0, 0.0]}))
    with pytest.raises(ModelError, match="monetary value is negative for 1 customer"):
        GammaGamma().fit(pd.DataFrame({"frequency": [1, 2], "monetary_value": [-5.0, 3.0]}))


def test_clv_is_discounted_value_of_expected_purchases() -> None:
    summary = simulate_bgnbd(5_000, r=0.8, alpha=5.0, a=0.6, b=3.0, seed=9)
    summary["monetary_value"] = simulate_gamma_gamma(summary["frequency"].to_numpy(), 6.0, 4.0, 15.0, seed=10)
    bg, gg = BGNBD().fit(summary), GammaGamma().fit(summary)
    undiscounted = gg.customer_lifetime_value(bg, summary, horizon=12, discount_rate=0.0, time_unit="week")
    per_month = (365.25 / 12) / 7
    expected = bg.conditional_expected_number_of_purchases(
        12 * per_month, summary["frequency"], summary["recency"], summary["T"]
    )
    value = gg.conditional_expected_average_value(summary["frequency"], summary["monetary_value"])
    np.testing.assert_allclose(undiscounted.to_numpy(), expected * value, rtol=1e-9)
    discounted = gg.customer_lifetime_value(bg, summary, horizon=12, discount_rate=0.01, time_unit="week")
    assert np.all(discounted.to_numpy() < undiscounted.to_numpy())
    assert np.all(discounted.to_numpy() > undiscounted.to_numpy() / 1.01**12)
    with pytest.raises(ModelError, match="whole number of months"):
        gg.customer_lifetime_value(bg, summary, horizon=0)
    # predictions computed once per distinct history equal the direct ones
    table = predict_customers(bg, gg, summary, horizon=12, discount_rate=0.01, time_unit="week")
    np.testing.assert_allclose(table["clv_12m"].to_numpy(), discounted.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(
        table["p_alive"].to_numpy(),
        bg.conditional_probability_alive(summary["frequency"], summary["recency"], summary["T"]),
        rtol=1e-12,
    )


def test_parse_horizon() -> None:
    assert (parse_horizon("12m"), parse_horizon("1y"), parse_horizon(6), parse_horizon("24")) == (
        12,
        12,
        6,
        24,
    )
    with pytest.raises(ModelError, match="CLV horizon '3w' is not valid"):
        parse_horizon("3w")
