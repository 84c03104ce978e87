"""Model benchmarks: CLV fitting against `lifetimes`, clustering against scikit-learn KMeans and kmodes.

`python -m bench.models [--clv-sizes 100000,1000000] [--lifetimes-max 1000000] [--cluster-sizes ...]`.
CLV: the same purchase summary (simulated from a known BG/NBD + Gamma-Gamma process, vectorised) is fitted by
segmentum and by lifetimes; the parameters must agree. The published CDNOW parameters (Fader, Hardie & Lee
2005: r 0.243, alpha 4.414, a 0.793, b 2.426) are checked on lifetimes' bundled CDNOW summary.
Clustering: 5 numeric + 3 categorical attributes with 5 planted groups (as docs/clustering.md).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CDNOW_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TRUE_BG = {"r": 0.5, "alpha": 8.0, "a": 0.6, "b": 3.0}  # weeks
TRUE_GG = {"p": 6.0, "q": 4.0, "gamma": 15.0}


def simulate_summary(n: int, seed: int = 0) -> pd.DataFrame:
    """frequency, recency, T (weeks), monetary_value from the BG/NBD and Gamma-Gamma generative processes."""
    rng = np.random.default_rng(seed)
    big_t = rng.uniform(26, 78, n).round(1)
    lam = rng.gamma(TRUE_BG["r"], 1 / TRUE_BG["alpha"], n)
    p = rng.beta(TRUE_BG["a"], TRUE_BG["b"], n)
    arrivals = rng.poisson(lam * big_t)
    death_after = rng.geometric(p)  # dies right after this repeat purchase
    x = np.minimum(arrivals, death_after)
    # the x-th of `arrivals` uniform arrival times on (0, T]
    t_x = big_t * rng.beta(np.maximum(x, 1), np.maximum(arrivals - x + 1, 1))
    t_x = np.where(x > 0, np.maximum(t_x.round(1), 0.1), 0.0)  # a repeat purchase comes after day 0
    nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["gamma"], n)
    total = rng.gamma(np.maximum(x, 1) * TRUE_GG["p"], 1 / nu)
    monetary = np.where(x > 0, total / np.maximum(x, 1), 0.0).round(2)
    return pd.DataFrame(
        {
            "frequency": x.astype(float),
            "recency": np.minimum(t_x, big_t),
            "T": big_t,
            "monetary_value": monetary,
        }
    )


def _rel(a: dict[str, float], b: dict[str, float]) -> float:
    return max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-12) for k in b)


def fit_segmentum(
    summary: pd.DataFrame, spend: bool = True
) -> tuple[dict[str, float], dict[str, float], float]:
    """BG/NBD (and Gamma-Gamma when `spend`) by segmentum: parameters and seconds."""
    from segmentum.models.clv import BGNBD, GammaGamma

    mark = time.perf_counter()
    bg = BGNBD().fit(summary)
    gg = GammaGamma().fit(summary).params_ if spend else {}
    return bg.params_, gg, time.perf_counter() - mark


def fit_lifetimes(
    summary: pd.DataFrame, spend: bool = True
) -> tuple[dict[str, float], dict[str, float], float]:
    """The same fits by the `lifetimes` package (BetaGeoFitter, GammaGammaFitter, no penalizer)."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    mark = time.perf_counter()
    ggp: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = BetaGeoFitter(penalizer_coef=0.0).fit(summary.frequency, summary.recency, summary["T"])
        if spend:
            repeat = summary[(summary.frequency > 0) & (summary.monetary_value > 0)]
            gg = GammaGammaFitter(penalizer_coef=0.0).fit(repeat.frequency, repeat.monetary_value)
            ggp = {"p": float(gg.params_["p"]), "q": float(gg.params_["q"]), "gamma": float(gg.params_["v"])}
    seconds = time.perf_counter() - mark
    bgp = {k: float(bg.params_[k]) for k in ("r", "alpha", "a", "b")}
    return bgp, ggp, seconds


def clv(sizes: list[int], lifetimes_max: int) -> dict[str, Any]:
    from lifetimes.datasets import load_cdnow_summary

    cdnow = load_cdnow_summary()
    seg_bg, _, seg_s = fit_segmentum(cdnow, spend=False)
    lt_bg, _, lt_s = fit_lifetimes(cdnow, spend=False)
    out: dict[str, Any] = {
        "cdnow": {
            "customers": len(cdnow),
            "segmentum": seg_bg,
            "lifetimes": lt_bg,
            "published": CDNOW_PUBLISHED,
            "segmentum_vs_published_max_abs": max(
                abs(round(seg_bg[k], 3) - v) for k, v in CDNOW_PUBLISHED.items()
            ),
            "segmentum_vs_lifetimes_max_rel": _rel(seg_bg, lt_bg),
            "segmentum_s": seg_s,
            "lifetimes_s": lt_s,
        }
    }
    out["sizes"] = []
    for n in sizes:
        summary = simulate_summary(n)
        bg, gg, s = fit_segmentum(summary)
        row: dict[str, Any] = {
            "customers": n,
            "segmentum_s": round(s, 2),
            "segmentum_bg": bg,
            "segmentum_gg": gg,
            "true_bg": TRUE_BG,
            "true_gg": TRUE_GG,
        }
        if n <= lifetimes_max:
            lbg, lgg, ls = fit_lifetimes(summary)
            row |= {
                "lifetimes_s": round(ls, 2),
                "lifetimes_bg": lbg,
                "lifetimes_gg": lgg,
                "ratio_lifetimes_to_segmentum": round(ls / s, 2),
                "bg_max_rel_diff": _rel(bg, lbg),
                "gg_max_rel_diff": _rel(gg, lgg),
            }
        print(f"CLV {n:,}: {row}", flush=True)
        out["sizes"].append(row)
    return out


def mixed_frame(n: int, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 5, n)
    df = pd.DataFrame(
        {
            "recency_days": rng.gamma(5, np.array([10, 40, 120, 300, 20])[g] / 5),
            "frequency": rng.poisson(np.array([12, 4, 2, 1, 25])[g]) + 1,
            "monetary": rng.lognormal(np.log(np.array([800, 200, 80, 40, 5000])[g]), 0.4),
            "avg_order_value": rng.lognormal(np.log(np.array([60, 50, 40, 40, 200])[g]), 0.3),
            "events_90d": rng.poisson(np.array([30, 10, 2, 0.5, 60])[g]),
            "device": np.array(["mobile", "desktop", "tablet", "desktop", "mobile"])[g],
            "country": rng.choice(["UA", "PL", "DE", "US", "GB", "FR", "IT", "ES", "CZ", "SK"], n),
            "first_source": np.where(
                rng.random(n) < 0.7,
                np.array(["search", "social", "email", "referral", "direct"])[g],
                rng.choice(["search", "social", "email", "referral", "direct"], n),
            ),
        }
    )
    return df, g


def cluster(sizes: list[int], kmodes_max: int, k: int = 5) -> list[dict[str, Any]]:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    from segmentum.models.cluster import CustomerClusterer

    rows = []
    for n in sizes:
        df, truth = mixed_frame(n)
        row: dict[str, Any] = {"customers": n, "k": k}
        mark = time.perf_counter()
        model = CustomerClusterer(k=k, random_state=0, bic=False, n_bootstrap=0).fit(df)
        labels = model.predict(df)
        row["segmentum_s"] = round(time.perf_counter() - mark, 2)
        row["segmentum_ari"] = round(adjusted_rand_score(truth, labels), 3)
        mark = time.perf_counter()
        numeric = df.select_dtypes("number")
        matrix = np.hstack(
            [
                StandardScaler().fit_transform(np.log1p(numeric)),
                pd.get_dummies(df.select_dtypes(exclude="number")).to_numpy(float) * 0.5,
            ]
        )
        km = KMeans(n_clusters=k, n_init=1, random_state=0).fit(matrix)
        row["sklearn_kmeans_s"] = round(time.perf_counter() - mark, 2)
        row["sklearn_kmeans_ari"] = round(adjusted_rand_score(truth, km.labels_), 3)
        if n <= kmodes_max:
            from kmodes.kprototypes import KPrototypes

            mark = time.perf_counter()
            cat_idx = [df.columns.get_loc(c) for c in df.select_dtypes(exclude="number").columns]
            data = df.copy()
            data[numeric.columns] = StandardScaler().fit_transform(np.log1p(numeric))
            kp = KPrototypes(n_clusters=k, init="Cao", n_init=1, random_state=0, n_jobs=1)
            kp_labels = kp.fit_predict(data.to_numpy(object), categorical=cat_idx)
            row["kprototypes_s"] = round(time.perf_counter() - mark, 2)
            row["kprototypes_ari"] = round(adjusted_rand_score(truth, kp_labels), 3)
            row["ratio_kprototypes_to_segmentum"] = round(row["kprototypes_s"] / row["segmentum_s"], 1)
        row["ratio_segmentum_to_kmeans"] = round(row["segmentum_s"] / row["sklearn_kmeans_s"], 2)
        print(f"cluster {n:,}: {row}", flush=True)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clv-sizes", default="100000,1000000")
    parser.add_argument("--lifetimes-max", type=int, default=1_000_000)
    parser.add_argument("--cluster-sizes", default="5000,20000,1000000")
    parser.add_argument("--kmodes-max", type=int, default=20_000)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "models.json"))
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    if args.clv_sizes:
        results["clv"] = clv([int(s) for s in args.clv_sizes.split(",")], args.lifetimes_max)
    if args.cluster_sizes:
        results["cluster"] = cluster([int(s) for s in args.cluster_sizes.split(",")], args.kmodes_max)
    Path(args.out).write_text(json.dumps(results, indent=2, default=float))
    print(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
