"""Customer lifetime value: BG/NBD (purchases and dropout) and Gamma-Gamma (spend per purchase).

- BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science 24(2).
- Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (p, q, gamma; lifetimes calls
  gamma `v`).

Both are maximum-likelihood fits with SciPy on a per-customer summary (`segmentum.models.summary`), in the
scikit-learn shape: `__init__` stores settings, `fit` returns `self`, learned state ends in `_`. Unlike lifetimes,
a fit whose optimum lies on the edge of the parameter space (a -> 0 or b -> inf: nobody seems to drop out) does not
fail: the bounded fit is kept and `boundary_` names the parameter at its bound.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, logsumexp

from segmentum.errors import ModelError, NotFittedError
from segmentum.models.summary import as_date, check_summary, purchase_summary, unit_days
from segmentum.progress import Progress, notify

if TYPE_CHECKING:
    from segmentum.context import Context

# Bounds of each log-parameter in the bounded fit: parameters between about 1e-9 and 1e9. An optimum that
# reaches one of them is a boundary optimum (the likelihood keeps rising towards 0 or infinity).
LOG_BOUND = 9 * math.log(10)
_AT_BOUND = 1e-3
# A boundary submodel is preferred when its total log-likelihood is within this of the best interior fit: the
# optimiser only creeps towards a boundary optimum, so an "interior" fit there is a hair short of the limit.
_SAME_LL = 1e-6
# A fit whose (rescaled) parameters all lie within 1e-4 .. 1e4 and that converged is interior: the boundary
# submodels are fitted only otherwise.
_NEAR_EDGE = 4 * math.log(10)  # how close (in log units) to a bound counts as "at the boundary"

# Mean days per month: lifetimes discounts monthly with 4.345 weeks or 30 days per month; we use the exact
# 365.25/12 days for every time unit, so the three units give the same CLV for the same data.
DAYS_PER_MONTH = 365.25 / 12


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    # Not np.dot: BLAS threads fighting for 2 shared cores made one likelihood evaluation 50x slower.
    return float(np.sum(u * v))


def _check_penalizer(value: Any, owner: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ModelError(f"the 'penalizer' of {owner} must be a number >= 0, got {value!r}")
    return float(value)


def _as_array(value: Any, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim > 1:
        raise ModelError(f"{name} must be a number or a one-dimensional sequence, got shape {arr.shape}")
    return arr


@dataclass
class _Fit:
    log_params: np.ndarray
    neg_ll: float
    bounded: bool
    start: int
    converged: bool
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _minimize(objective: Any, start: np.ndarray, bounded: bool, index: int) -> _Fit:
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start) if bounded else None
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = minimize(
                objective,
                start,
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
            )
        except (ValueError, FloatingPointError, OverflowError) as exc:
            return _Fit(np.asarray(start, dtype=float), math.inf, bounded, index, False, str(exc))
    value = float(res.fun)
    if not np.all(np.isfinite(res.x)) or not math.isfinite(value) or np.any(np.abs(res.x) > 700):
        return _Fit(
            np.asarray(res.x, dtype=float), math.inf, bounded, index, False, f"diverged: {res.message}"
        )
    return _Fit(np.asarray(res.x, dtype=float), value, bounded, index, bool(res.success), str(res.message))


def _multistart(objective: Any, starts: list[np.ndarray]) -> tuple[_Fit, list[_Fit]]:
    """Minimise `objective(log_params) -> (value, gradient)` from several starts, unconstrained and bounded.

    The unconstrained fit on log-parameters is what lifetimes does; at a boundary optimum it walks off towards
    +-infinity (or stops on a flat ridge). The bounded fit (same log-parameters, boxed at about 1e-9..1e9) always
    ends at a finite point; it is run from the first start and from the best unconstrained point pulled back
    into the box, and the best likelihood of all wins.
    """
    fits: list[_Fit] = []
    for i, start in enumerate(starts):
        fits.append(_minimize(objective, start, False, i))
        done = [f for f in fits if f.converged and math.isfinite(f.neg_ll)]
        # two starts that converged to the same optimum make further starts redundant
        if (
            len(done) >= 2
            and abs(done[-1].neg_ll - done[-2].neg_ll) <= 1e-10 * max(1.0, abs(done[-1].neg_ll))
            and np.allclose(done[-1].log_params, done[-2].log_params, atol=1e-4)
        ):
            break
    fits.append(_minimize(objective, starts[0], True, 0))
    finite = [f for f in fits if math.isfinite(f.neg_ll)]
    if finite or any(np.all(np.isfinite(f.log_params)) for f in fits):
        seed = min(finite, key=lambda f: f.neg_ll) if finite else fits[0]
        fits.append(_minimize(objective, np.clip(seed.log_params, -LOG_BOUND, LOG_BOUND), True, seed.start))
    finite = [f for f in fits if math.isfinite(f.neg_ll)]
    if not finite:
        raise ModelError(
            "the likelihood could not be maximised from any starting point "
            f"({'; '.join(f.message for f in fits[:3])}); check the summary for extreme values"
        )
    best = min(finite, key=lambda f: (f.neg_ll, not f.converged))
    return best, fits


def _fit_with_fixed(objective: Any, start: np.ndarray, fixed: dict[int, float]) -> _Fit | None:
    """Minimise `objective` with some log-parameters held at given values (a boundary submodel)."""
    free = [i for i in range(len(start)) if i not in fixed]

    def sub(z: np.ndarray) -> tuple[float, np.ndarray]:
        full = np.array(start, dtype=float)
        full[free] = z
        for i, v in fixed.items():
            full[i] = v
        value, grad = objective(full)
        return value, grad[free]

    best: _Fit | None = None
    for z0 in (np.clip(np.asarray(start, dtype=float)[free], -LOG_BOUND, LOG_BOUND), np.zeros(len(free))):
        if best is not None and best.converged:
            break
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = minimize(
                sub,
                z0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(-LOG_BOUND, LOG_BOUND)] * len(free),
                options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
            )
        if not math.isfinite(float(res.fun)):
            continue
        full = np.array(start, dtype=float)
        full[free] = res.x
        for i, v in fixed.items():
            full[i] = v
        fit = _Fit(full, float(res.fun), True, -1, bool(res.success), f"boundary submodel: {res.message}")
        if best is None or fit.neg_ll < best.neg_ll:
            best = fit
    return best


def _boundary(log_params: np.ndarray, names: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in zip(names, log_params, strict=True):
        if value <= -LOG_BOUND + _AT_BOUND:
            out[name] = "lower"
        elif value >= LOG_BOUND - _AT_BOUND:
            out[name] = "upper"
    return out


def _aggregate(
    frame: pd.DataFrame, columns: list[str], weights: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of `columns`, their total weight, and each row's position among them: the likelihood and
    predictions of identical customers are computed once (a million customers have a few hundred thousand
    distinct histories)."""
    keys = pd.DataFrame({c: frame[c].to_numpy(dtype=float) for c in columns})
    inverse = keys.groupby(columns, sort=False).ngroup().to_numpy()
    n = int(inverse.max()) + 1 if len(inverse) else 0
    first = np.empty(n, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    w = np.ones(len(keys)) if weights is None else np.asarray(weights, dtype=float)
    totals = np.bincount(inverse, weights=w, minlength=n)
    return keys.to_numpy()[first], totals, inverse


class BGNBD:
    """The BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    penalizer:
        L2 penalty on the parameters (as lifetimes' `penalizer_coef`, applied to the mean log-likelihood on
        rescaled time); 0 gives the plain maximum-likelihood estimate.

    Attributes (after `fit`)
    ------------------------
    params_ : dict with r, alpha (in the summary's time unit), a, b
    log_likelihood_ : total log-likelihood of the summary at `params_` (without the penalty)
    boundary_ : {parameter: 'lower' | 'upper'} for parameters whose optimum is at the edge of the space
        (e.g. {'a': 'lower'}: no sign of dropout, the model reduces to the NBD); empty when interior
    n_customers_ : customers fitted
    """

    _names = ("r", "alpha", "a", "b")

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    # -- fitting -----------------------------------------------------------------------------------------
    def fit(self, summary: pd.DataFrame, *, weights: Any = None) -> BGNBD:
        """Fit on a summary with columns frequency, recency, T (one row per customer, or `weights`)."""
        penalizer = _check_penalizer(self.penalizer, "BGNBD")
        check_summary(summary)
        if weights is not None:
            weights = np.asarray(weights, dtype=float)
            if weights.shape != (len(summary),) or np.any(~np.isfinite(weights)) or np.any(weights < 0):
                raise ModelError(f"weights must be {len(summary):,} numbers >= 0, one per customer")
        rows, w, _ = _aggregate(summary, ["frequency", "recency", "T"], weights)
        x, t_x, big_t = rows[:, 0], rows[:, 1], rows[:, 2]
        # Rescale time as lifetimes does, so that alpha is of order 1 and the optimiser is well conditioned.
        scale = 10.0 / max(float(big_t.max()), 1e-12)
        nll = _BGNBDLikelihood(x, t_x * scale, big_t * scale, w, penalizer)
        mean_x = float(np.average(x, weights=w))
        starts = [np.zeros(4), np.log([0.5, 1.0, 0.5, 2.0]), np.log([max(mean_x, 0.1), 2.0, 0.1, 5.0])]
        best, fits = _multistart(nll, starts)
        # Boundary optima are approached only asymptotically by the optimiser, which stalls on the flat ridge
        # somewhere short of them. Fit the two limits directly and keep one when it is as good: a -> 0 (nobody
        # drops out: the NBD model) and b -> inf with a / b free (the same dropout probability for everyone).
        near_edge = not best.converged or bool(np.any(np.abs(best.log_params) > _NEAR_EDGE))
        for fixed in ({2: -LOG_BOUND}, {3: LOG_BOUND}) if near_edge else ():
            limit = _fit_with_fixed(nll, best.log_params, fixed)
            if limit is None:
                continue
            fits.append(limit)
            as_good = limit.neg_ll <= best.neg_ll + _SAME_LL / float(w.sum())
            if limit.neg_ll < best.neg_ll or (as_good and not _boundary(best.log_params, self._names)):
                best = limit
        r, alpha_s, a, b = np.exp(best.log_params)
        self.params_ = {"r": float(r), "alpha": float(alpha_s / scale), "a": float(a), "b": float(b)}
        self.boundary_ = _boundary(best.log_params, self._names)
        self.log_likelihood_ = float(self._total_ll(x, t_x, big_t, w))
        self.n_customers_ = int(round(float(w.sum())))
        self.converged_ = best.converged
        self.fits_ = []  # every start, for diagnosis: which fits diverged, which reached the same optimum
        for f in fits:
            ll = None
            if math.isfinite(f.neg_ll):
                fr, fa, fa_, fb = np.exp(f.log_params)
                ll = float(np.sum(w * bgnbd_log_likelihood(x, t_x, big_t, fr, fa / scale, fa_, fb)))
            self.fits_.append(
                {
                    "start": f.start,
                    "bounded": f.bounded,
                    "log_likelihood": ll,
                    "converged": f.converged,
                    "message": f.message,
                }
            )
        return self

    def _total_ll(self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, w: np.ndarray) -> float:
        p = self.params_
        return float(np.sum(w * bgnbd_log_likelihood(x, t_x, big_t, p["r"], p["alpha"], p["a"], p["b"])))

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                "this BGNBD is not fitted yet; call .fit(summary) first (summary from purchase_summary(...))"
            )
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    # -- predictions -------------------------------------------------------------------------------------
    def conditional_expected_number_of_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """Expected purchases in the next `t` time units of customers with history (frequency, recency, T)."""
        r, alpha, a, b = self._params()
        t = _as_array(t, "t")
        x, t_x, big_t = _as_array(frequency, "frequency"), _as_array(recency, "recency"), _as_array(T, "T")
        if a == 1.0:  # the closed form has a removable singularity at a = 1
            a = 1.0 + 1e-9
        with np.errstate(all="ignore"):
            c = a + b + x - 1
            z = t / (alpha + big_t + t)
            ln_hyp = np.log(hyp2f1(r + x, b + x, c, z))
            # Euler's transformation where the series overflows (large x or z near 1)
            alt = np.log(hyp2f1(c - r - x, c - b - x, c, z)) + (c - r - 2 * x - b) * np.log1p(-z)
            ln_hyp = np.where(np.isfinite(ln_hyp), ln_hyp, alt)
            first = (a + b + x - 1) / (a - 1)
            second = -np.expm1(ln_hyp + (r + x) * np.log((alpha + big_t) / (alpha + t + big_t)))
            denom = 1 + (x > 0) * (a / np.maximum(b + x - 1, 1e-300)) * ((alpha + big_t) / (alpha + t_x)) ** (
                r + x
            )
            out = first * second / denom
            # a -> 0 is the NBD limit (nobody drops out): (r + x) / (alpha + T) purchases per time unit
            nbd = (r + x) * t / (alpha + big_t)
            out = np.where(np.isfinite(out), out, nbd)
        return np.where(np.asarray(t) == 0, 0.0, out)

    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Probability that a customer with this history has not dropped out by the end of calibration."""
        r, alpha, a, b = self._params()
        x, t_x, big_t = _as_array(frequency, "frequency"), _as_array(recency, "recency"), _as_array(T, "T")
        with np.errstate(divide="ignore"):
            log_div = (r + x) * np.log((alpha + big_t) / (alpha + t_x)) + np.log(
                a / (b + np.maximum(x, 1) - 1)
            )
        return np.where(x == 0, 1.0, expit(-log_div))

    def expected_number_of_purchases(self, t: Any) -> np.ndarray:
        """Expected purchases of a new customer in a period of length `t` (time units) after the first."""
        r, alpha, a, b = self._params()
        t = _as_array(t, "t")
        if a == 1.0:
            a = 1.0 + 1e-9
        with np.errstate(all="ignore"):
            hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
            out = (a + b - 1) / (a - 1) * (1 - hyp * (alpha / (alpha + t)) ** r)
            out = np.where(np.isfinite(out), out, r * t / alpha)
        return out

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            p = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"BGNBD({p})"
        return f"BGNBD(penalizer={self.penalizer!r})"


def bgnbd_log_likelihood(
    x: Any, t_x: Any, big_t: Any, r: float, alpha: float, a: float, b: float
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6), stable on the log scale."""
    x, t_x, big_t = (np.asarray(v, dtype=float) for v in (x, t_x, big_t))
    with np.errstate(divide="ignore", invalid="ignore"):
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + x) - betaln(a, b)
        a3 = -(r + x) * np.log(alpha + big_t)
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
        return a1 + a2 + logsumexp(np.stack([a3, a4]), axis=0)


class _BGNBDLikelihood:
    """Penalised mean negative log-likelihood of BG/NBD and its gradient in log-parameters.

    Special functions depend only on x, and the logs only on T or t_x, so they are evaluated on the distinct
    values and gathered; per customer row only a few multiplications and one log1p/exp remain.
    """

    def __init__(
        self, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, w: np.ndarray, penalizer: float
    ) -> None:
        self.w = w
        self.w_sum = float(w.sum())
        self.penalizer = penalizer
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.uT, self.iT = np.unique(big_t, return_inverse=True)
        self.utx, self.itx = np.unique(t_x, return_inverse=True)
        self.x = x
        self.pos = x > 0
        # per distinct x: weights summed (for terms that depend on x only)
        self.wx = np.bincount(self.ix, weights=w, minlength=len(self.ux))

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_params)
        ux, wx, x, pos, w = self.ux, self.wx, self.x, self.pos, self.w
        # terms in x only
        a1 = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        a2 = betaln(a, b + ux) - betaln(a, b)
        ll_x = float(_dot(wx, a1 + a2))
        d_r = _dot(wx, digamma(r + ux) - digamma(r) + np.log(alpha))
        d_alpha = float(wx.sum()) * r / alpha
        d_a = _dot(wx, digamma(a + b) - digamma(a + b + ux))
        d_b = _dot(wx, digamma(b + ux) - digamma(a + b + ux) - digamma(b) + digamma(a + b))
        # per row: A3 and A4 combined as log(exp(A3) + exp(A4)) = A3 + log1p(exp(A4 - A3))
        log_at = np.log(alpha + self.uT)[self.iT]
        log_atx = np.log(alpha + self.utx)[self.itx]
        rx = r + x
        a3 = -rx * log_at
        bx1 = np.where(pos, b + x - 1, 1.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            d43 = np.where(pos, np.log(a) - np.log(bx1) - rx * (log_atx - log_at), -np.inf)
            # weight of the A4 branch in the mixture: sigmoid(A4 - A3)
            p4 = expit(d43)
            mix = np.logaddexp(0.0, d43)
        ll_rows = float(_dot(w, a3 + mix))
        p3 = 1.0 - p4
        inv_at = (1.0 / (alpha + self.uT))[self.iT]
        inv_atx = (1.0 / (alpha + self.utx))[self.itx]
        d_r += _dot(w, -p3 * log_at - p4 * log_atx)
        d_alpha += _dot(w, -rx * (p3 * inv_at + p4 * inv_atx))
        # d/da of log(a) is 1/a; in log-parameters it becomes 1, so a -> 0 stays finite
        d_loga_rows = _dot(w, p4)
        d_b += _dot(w, -p4 / bx1)
        ll = ll_x + ll_rows
        grad_ll = np.array([r * d_r, alpha * d_alpha, a * d_a + d_loga_rows, b * d_b])
        params = np.array([r, alpha, a, b])
        value = -ll / self.w_sum + self.penalizer * float(np.sum(params**2))
        grad = -grad_ll / self.w_sum + self.penalizer * 2 * params**2
        if not math.isfinite(value):
            return math.inf, np.zeros(4)
        return value, grad


class GammaGamma:
    """The Gamma-Gamma model of average spend per purchase (Fader & Hardie 2013).

    Fitted on customers with at least one repeat purchase and a positive mean repeat value; a customer's spend
    per purchase is Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers. lifetimes calls gamma `v`.

    Parameters
    ----------
    penalizer:
        L2 penalty on the parameters (as lifetimes' `penalizer_coef`); 0 gives the plain maximum likelihood.

    Attributes (after `fit`)
    ------------------------
    params_ : dict with p, q, gamma
    log_likelihood_ : total log-likelihood of the fitted customers
    n_customers_ : customers fitted; excluded_ : {'no_repeat_purchase': n, 'zero_monetary_value': n}
    boundary_ : parameters at the edge of the space (empty when interior)
    """

    _names = ("p", "q", "gamma")

    def __init__(self, *, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(self, summary: pd.DataFrame) -> GammaGamma:
        """Fit on a summary with columns frequency and monetary_value (customers without repeat purchases
        and those whose repeat purchases were all free are left out and counted in `excluded_`)."""
        penalizer = _check_penalizer(self.penalizer, "GammaGamma")
        check_summary(summary, monetary=True)
        x_all = summary["frequency"].to_numpy(dtype=float)
        m_all = summary["monetary_value"].to_numpy(dtype=float)
        keep = (x_all > 0) & (m_all > 0)
        self.excluded_ = {
            "no_repeat_purchase": int(np.count_nonzero(x_all == 0)),
            "zero_monetary_value": int(np.count_nonzero((x_all > 0) & (m_all <= 0))),
        }
        if np.count_nonzero(keep) < 2:
            raise ModelError(
                f"the Gamma-Gamma spend model needs customers with repeat purchases of positive value; only "
                f"{int(np.count_nonzero(keep))} of {len(summary):,} customers have one. Choose a later "
                "calibration end or a longer history"
            )
        x, m = x_all[keep], m_all[keep]
        nll = _GammaGammaLikelihood(x, m, penalizer)
        mean_m = float(m.mean())
        starts = [np.log([1.0, 2.0, mean_m]), np.zeros(3), np.log([5.0, 5.0, max(mean_m, 1e-6)])]
        best, _ = _multistart(nll, starts)
        p, q, gamma = np.exp(best.log_params)
        self.params_ = {"p": float(p), "q": float(q), "gamma": float(gamma)}
        self.boundary_ = _boundary(best.log_params, self._names)
        self.log_likelihood_ = float(np.sum(gamma_gamma_log_likelihood(x, m, p, q, gamma)))
        self.n_customers_ = int(len(x))
        self.converged_ = best.converged
        return self

    def _params(self) -> tuple[float, float, float]:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                "this GammaGamma is not fitted yet; call .fit(summary) first (summary from purchase_summary(...))"
            )
        p = self.params_
        return p["p"], p["q"], p["gamma"]

    def conditional_expected_average_value(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        """Expected mean spend per purchase given x repeat purchases of mean value m (population mean when x = 0)."""
        p, q, gamma = self._params()
        x, m = _as_array(frequency, "frequency"), _as_array(monetary_value, "monetary_value")
        if q <= 1:
            raise ModelError(
                f"the fitted Gamma-Gamma q is {q:.4g}; the expected spend exists only for q > 1 (the spend "
                "distribution has too heavy a tail); check for extreme order values"
            )
        return p * (gamma + x * m) / (p * x + q - 1)

    def customer_lifetime_value(
        self,
        bgnbd: BGNBD,
        summary: pd.DataFrame,
        horizon: float = 12,
        discount_rate: float = 0.01,
        time_unit: str | None = None,
    ) -> pd.Series:
        """Discounted expected revenue over the next `horizon` months, as lifetimes computes it.

        Month by month: expected purchases in the month (BG/NBD) x expected spend per purchase (Gamma-Gamma),
        discounted by (1 + discount_rate) ** month. `time_unit` is the summary's unit (default: the one
        recorded by purchase_summary, else 'week'); a month is 365.25/12 days.
        """
        if (
            isinstance(horizon, bool)
            or not isinstance(horizon, (int, float))
            or horizon <= 0
            or horizon != int(horizon)
        ):
            raise ModelError(f"the CLV horizon must be a whole number of months >= 1, got {horizon!r}")
        if (
            not isinstance(discount_rate, (int, float))
            or not math.isfinite(discount_rate)
            or discount_rate <= -1
        ):
            raise ModelError(
                f"the monthly discount rate must be a number > -1 (e.g. 0.01), got {discount_rate!r}"
            )
        unit = time_unit or summary.attrs.get("time_unit") or "week"
        per_month = DAYS_PER_MONTH / unit_days(unit)
        check_summary(summary)
        x = summary["frequency"].to_numpy(dtype=float)
        t_x = summary["recency"].to_numpy(dtype=float)
        big_t = summary["T"].to_numpy(dtype=float)
        value = self.conditional_expected_average_value(x, summary["monetary_value"].to_numpy(dtype=float))
        clv = np.zeros(len(summary))
        previous = np.zeros(len(summary))
        for month in range(1, int(horizon) + 1):
            cumulative = bgnbd.conditional_expected_number_of_purchases(month * per_month, x, t_x, big_t)
            clv += value * (cumulative - previous) / (1 + discount_rate) ** month
            previous = cumulative
        return pd.Series(clv, index=summary.index, name="clv")

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            p = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"GammaGamma({p})"
        return f"GammaGamma(penalizer={self.penalizer!r})"


def gamma_gamma_log_likelihood(x: Any, m: Any, p: float, q: float, gamma: float) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean repeat value m over x purchases."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )


class _GammaGammaLikelihood:
    def __init__(self, x: np.ndarray, m: np.ndarray, penalizer: float) -> None:
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.nx = np.bincount(self.ix, minlength=len(self.ux)).astype(float)
        self.x, self.m = x, m
        self.xm = x * m
        self.log_m, self.log_x = np.log(m), np.log(x)
        self.n = float(len(x))
        self.sum_x_log_xm = float(_dot(x, self.log_m + self.log_x))
        self.sum_log_m = float(self.log_m.sum())
        self.penalizer = penalizer

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = np.exp(log_params)
        ux, nx = self.ux, self.nx
        pu = p * ux
        ll = float(_dot(nx, gammaln(pu + q) - gammaln(pu))) - self.n * (gammaln(q) - q * math.log(gamma))
        ll += p * self.sum_x_log_xm - self.sum_log_m
        log_gxm = np.log(gamma + self.xm)
        pxq = p * self.x + q
        ll -= float(_dot(pxq, log_gxm))
        dg_pq = digamma(pu + q)
        d_p = float(_dot(nx, ux * (dg_pq - digamma(pu)))) + self.sum_x_log_xm - float(_dot(self.x, log_gxm))
        d_q = float(_dot(nx, dg_pq)) - self.n * digamma(q) + self.n * math.log(gamma) - float(log_gxm.sum())
        d_gamma = self.n * q / gamma - float(np.sum(pxq / (gamma + self.xm)))
        params = np.array([p, q, gamma])
        grad_ll = np.array([p * d_p, q * d_q, gamma * d_gamma])
        value = -ll / self.n + self.penalizer * float(np.sum(params**2))
        grad = -grad_ll / self.n + self.penalizer * 2 * params**2
        if not math.isfinite(value):
            return math.inf, np.zeros(3)
        return value, grad


# -- fitting a workspace: summary -> models -> per-customer results (models/persist.py stores them) ---------

VALIDATION_TOP = 7  # calibration frequencies 0..6 on their own, 7 and more together (as lifetimes' plot)


def parse_horizon(value: int | str) -> int:
    """A CLV horizon in whole months from `12`, `12m` or `1y`."""
    text = str(value).strip().lower()
    number, unit = (text[:-1], text[-1]) if text[-1:] in ("m", "y") else (text, "m")
    try:
        n = int(number)
    except ValueError:
        n = -1
    if n < 1:
        raise ModelError(
            f"CLV horizon {value!r} is not valid; give whole months or years such as 12m, 24m or 1y"
        )
    return n * 12 if unit == "y" else n


@dataclass
class ClvResult:
    """Everything one CLV fit produced: the summary, both models, per-customer results, validation."""

    summary: pd.DataFrame
    bgnbd: BGNBD
    gamma_gamma: GammaGamma
    customers: (
        pd.DataFrame
    )  # indexed by customer_id: p_alive, expected_purchases_90d, expected_average_value, clv_*
    calibration_end: date
    holdout_end: date | None
    time_unit: str
    horizon: int
    discount_rate: float
    validation: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `segmentum clv --format json`."""
        bg, gg = self.bgnbd, self.gamma_gamma
        clv_col = f"clv_{self.horizon}m"
        out: dict[str, Any] = {
            "customers": int(len(self.summary)),
            "bgnbd": {**bg.params_, "log_likelihood": bg.log_likelihood_},
            "gamma_gamma": {**gg.params_, "log_likelihood": gg.log_likelihood_, "customers": gg.n_customers_},
            "calibration_end": self.calibration_end.isoformat(),
            "holdout_end": self.holdout_end.isoformat() if self.holdout_end else None,
            "time_unit": self.time_unit,
            "horizon_months": self.horizon,
            "discount_rate": self.discount_rate,
            "boundary": {"bgnbd": dict(bg.boundary_), "gamma_gamma": dict(gg.boundary_)},
            "excluded_from_gamma_gamma": dict(gg.excluded_),
            "totals": {
                "expected_purchases_90d": float(self.customers["expected_purchases_90d"].sum()),
                clv_col: float(self.customers[clv_col].sum()),
                "mean_" + clv_col: float(self.customers[clv_col].mean()),
                "mean_p_alive": float(self.customers["p_alive"].mean()),
            },
        }
        if self.validation is not None:
            v = self.validation
            out["validation"] = {
                "duration": float(self.summary["duration_holdout"].iloc[0]),
                "groups": [
                    {
                        "frequency": str(r.frequency),
                        "customers": int(r.customers),
                        "actual": float(r.actual),
                        "predicted": float(r.predicted),
                    }
                    for r in v.itertuples()
                ],
                "actual_total": float(self.summary["frequency_holdout"].sum()),
                "predicted_total": float(self.customers["predicted_holdout"].sum()),
            }
        return out


CLV_STEPS = 6  # units of fit_clv's progress: reading 1, BG/NBD 3, Gamma-Gamma 1, predicting 1


def fit_clv(
    ctx: Context,
    *,
    calibration_end: date | datetime | str,
    holdout_end: date | datetime | str | None = None,
    time_unit: str = "week",
    horizon: int | str = 12,
    discount_rate: float = 0.01,
    penalizer: float = 0.0,
    progress: Progress | None = None,
) -> ClvResult:
    """Fit BG/NBD and Gamma-Gamma on a workspace's orders and predict per customer.

    Parameters
    ----------
    ctx:
        The workspace whose orders are summarised (`purchase_summary`); store the result with
        `segmentum.models.persist.write_model_clv`.
    calibration_end, holdout_end, time_unit:
        As in `purchase_summary`.
    horizon:
        CLV horizon in months (`12`, `"12m"`, `"1y"`); `clv_12m` is always computed as well.
    discount_rate:
        Monthly discount rate of the CLV (0.01 = 1 % a month, as lifetimes).
    """
    import time

    months = parse_horizon(horizon)
    if (
        isinstance(discount_rate, bool)
        or not isinstance(discount_rate, (int, float))
        or not (math.isfinite(discount_rate) and discount_rate > -1)
    ):
        raise ModelError(
            f"the monthly discount rate must be a number > -1 (e.g. 0.01), got {discount_rate!r}"
        )
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    # steps weighted by their usual share of the time: the BG/NBD fit is the long one
    notify(progress, 0, CLV_STEPS, "reading purchases")
    summary = purchase_summary(
        ctx, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit
    )
    timings["summary_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    notify(progress, 1, CLV_STEPS, "fitting BG/NBD")
    bgnbd = BGNBD(penalizer=penalizer).fit(summary)
    notify(progress, 4, CLV_STEPS, "fitting Gamma-Gamma")
    gamma_gamma = GammaGamma(penalizer=penalizer).fit(summary)
    notify(progress, 5, CLV_STEPS, "predicting each customer's CLV")
    timings["fit_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    customers = predict_customers(
        bgnbd, gamma_gamma, summary, horizon=months, discount_rate=discount_rate, time_unit=time_unit
    )
    validation = None
    if "frequency_holdout" in summary.columns:
        customers["predicted_holdout"] = _by_history(
            summary,
            lambda x, t_x, big_t: bgnbd.conditional_expected_number_of_purchases(
                float(summary["duration_holdout"].iloc[0]), x, t_x, big_t
            ),
        )
        validation = validation_table(summary, customers["predicted_holdout"])
    timings["predict_s"] = time.perf_counter() - t0
    notify(progress, CLV_STEPS, CLV_STEPS, "CLV fitted")
    return ClvResult(
        summary=summary,
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
        customers=customers,
        calibration_end=date.fromisoformat(summary.attrs["calibration_end"]),
        holdout_end=as_date(holdout_end, "holdout end") if holdout_end is not None else None,
        time_unit=time_unit,
        horizon=months,
        discount_rate=float(discount_rate),
        validation=validation,
        timings=timings,
    )


def _by_history(summary: pd.DataFrame, func: Any) -> np.ndarray:
    """Evaluate func(frequency, recency, T) once per distinct history and spread it to the customers."""
    rows, _, inverse = _aggregate(summary, ["frequency", "recency", "T"])
    return np.asarray(func(rows[:, 0], rows[:, 1], rows[:, 2]), dtype=float)[inverse]


def predict_customers(
    bgnbd: BGNBD,
    gamma_gamma: GammaGamma,
    summary: pd.DataFrame,
    *,
    horizon: int = 12,
    discount_rate: float = 0.01,
    time_unit: str | None = None,
) -> pd.DataFrame:
    """Per customer: p_alive, expected purchases in the next 90 days, expected spend per purchase, CLV."""
    unit = time_unit or summary.attrs.get("time_unit") or "week"
    t90 = 90.0 / unit_days(unit)
    out = pd.DataFrame(index=summary.index)
    out["p_alive"] = _by_history(summary, bgnbd.conditional_probability_alive)
    out["expected_purchases_90d"] = _by_history(
        summary, lambda x, t_x, big_t: bgnbd.conditional_expected_number_of_purchases(t90, x, t_x, big_t)
    )
    out["expected_average_value"] = gamma_gamma.conditional_expected_average_value(
        summary["frequency"].to_numpy(dtype=float), summary["monetary_value"].to_numpy(dtype=float)
    )
    for months in sorted({12, horizon}):
        out[f"clv_{months}m"] = _clv_by_history(
            bgnbd, out["expected_average_value"].to_numpy(), summary, months, discount_rate, unit
        )
    return out


def _clv_by_history(
    bgnbd: BGNBD, value: np.ndarray, summary: pd.DataFrame, months: int, discount_rate: float, unit: str
) -> np.ndarray:
    # The discounted expected number of purchases depends only on the history; spend multiplies it afterwards.
    per_month = DAYS_PER_MONTH / unit_days(unit)

    def discounted(x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> np.ndarray:
        total = np.zeros(len(x))
        previous = np.zeros(len(x))
        for month in range(1, months + 1):
            cumulative = bgnbd.conditional_expected_number_of_purchases(month * per_month, x, t_x, big_t)
            total += (cumulative - previous) / (1 + discount_rate) ** month
            previous = cumulative
        return total

    return value * _by_history(summary, discounted)


def validation_table(summary: pd.DataFrame, predicted: Any, top: int = VALIDATION_TOP) -> pd.DataFrame:
    """Mean actual vs predicted holdout purchases per calibration frequency (0..top-1, then `top+`)."""
    x = summary["frequency"].to_numpy(dtype=float)
    group = np.minimum(x, top).astype(int)
    frame = pd.DataFrame(
        {
            "group": group,
            "actual": summary["frequency_holdout"].to_numpy(dtype=float),
            "predicted": np.asarray(predicted, dtype=float),
        }
    )
    agg = (
        frame.groupby("group")
        .agg(customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean"))
        .reset_index()
    )
    agg["frequency"] = [f"{g}+" if g == top else str(g) for g in agg["group"]]
    return agg[["frequency", "customers", "actual", "predicted"]]


def validation_figure(validation_df: pd.DataFrame) -> Any:
    """A plotly Figure of actual vs predicted mean holdout purchases per calibration frequency."""
    import plotly.graph_objects as go

    frame = validation_df
    if "groups" in getattr(frame, "keys", lambda: [])():  # the "validation" object of the JSON output
        frame = pd.DataFrame(frame["groups"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=frame["frequency"], y=frame["actual"], mode="lines+markers", name="actual"))
    fig.add_trace(
        go.Scatter(
            x=frame["frequency"],
            y=frame["predicted"],
            mode="lines+markers",
            name="predicted (BG/NBD)",
            line={"dash": "dash"},
        )
    )
    fig.update_layout(
        title="Purchases in the holdout period: actual vs predicted",
        xaxis_title="purchases in the calibration period (repeat purchases)",
        yaxis_title="mean purchases in the holdout period",
        template="plotly_white",
    )
    return fig
