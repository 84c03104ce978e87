"""Descriptive names for clusters from what distinguishes them from everyone else.

A name is built from at most `max_terms` numeric terms (one fewer when a category stands out) and two
categorical ones: numeric features whose cluster mean lies at least
`min_effect` standard deviations (of the encoded feature, over everyone) from the overall mean, strongest
first, and categorical values held by at least half of the cluster with a lift of at least 1.25.
Known behavioural features get words a marketer would use ("frequent high spenders", "recent");
others read "high <feature>" / "low <feature>"; categorical values read "mostly <value>".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from segmentum.models.features import MISSING, OTHER, slug

# feature-name pattern -> (word when high, word when low, part of speech)
_VOCAB: list[tuple[str, str, str, str]] = [
    (r"^(recency|recency_days|days_since_(last_)?order|days_since_purchase)$", "lapsed", "recent", "adj"),
    (
        r"^(frequency|orders|orders_total|order_count|n_orders|orders_\d+[dwmy])$",
        "frequent",
        "infrequent",
        "adj",
    ),
    (
        r"^(monetary|revenue|revenue_\w+|spend|spend_\w+|total_spend|sales|clv|clv_\w+)$",
        "high spenders",
        "low spenders",
        "noun",
    ),
    (r"^(avg_order_value|aov|average_order_value|basket_size)$", "big-basket", "small-basket", "adj"),
    (r"^(tenure|tenure_days|days_since_first_order|customer_age_days)$", "long-standing", "new", "adj"),
    (
        r"^(events|events_total|events_\d+[dwmy]|sessions\w*|logins\w*|page_views\w*)$",
        "active",
        "quiet",
        "adj",
    ),
    (r"^(income|annual_revenue)$", "affluent", "budget", "adj"),
    (r"^(employees|company_size)$", "large-company", "small-company", "adj"),
    (r"^(age)$", "older", "younger", "adj"),
    (r"^(p_alive)$", "likely-active", "likely-churned", "adj"),
]
MIN_EFFECT = 0.5
MIN_SHARE = 0.5
MIN_LIFT = 1.25


@dataclass(frozen=True)
class NumericEffect:
    feature: str
    effect: float  # (cluster mean - overall mean) / overall std, in the encoded space


@dataclass(frozen=True)
class CategoryEffect:
    feature: str
    value: str
    share: float  # share of the cluster holding the value
    lift: float  # share in the cluster / share in everyone


def _describe_numeric(feature: str, effect: float) -> tuple[str, str]:
    high = effect > 0
    for pattern, up, down, kind in _VOCAB:
        if re.match(pattern, feature):
            return (up if high else down), kind
    interest = re.match(r"^interest_(\w+?)(_stated)?$", feature)
    if interest:  # survey ratings and stated-interest flags
        topic = interest.group(1).replace("_", " ")
        return (f"into {topic}" if high else f"not into {topic}"), "clause"
    words = feature.replace("_", " ")
    return f"{'high' if high else 'low'} {words}", "clause"


def _describe_category(feature: str, value: str) -> str:
    plain = re.fullmatch(r"[A-Za-zА-Яа-яІіЇїЄєҐґ][\w' .&/-]*", value) is not None and value.lower() not in (
        "yes",
        "no",
        "true",
        "false",
        "none",
        "other",
        "unknown",
    )
    if feature in ("region",) and plain:
        return f"mostly {value} region"
    return f"mostly {value}" if plain else f"mostly {feature.replace('_', ' ')} {value}"


def cluster_name(
    numeric: Sequence[NumericEffect],
    categorical: Sequence[CategoryEffect],
    *,
    max_terms: int = 3,
    min_effect: float = MIN_EFFECT,
) -> str:
    """A descriptive name, e.g. 'frequent high spenders, mostly mobile, Kyiv region'."""
    num = sorted((n for n in numeric if abs(n.effect) >= min_effect), key=lambda n: -abs(n.effect))
    cat = sorted(
        (
            c
            for c in categorical
            if c.share >= MIN_SHARE and c.lift >= MIN_LIFT and c.value not in (OTHER, MISSING)
        ),
        key=lambda c: -(c.lift * c.share),
    )
    # the strongest numeric signals (2 when a category also stands out) and up to 2 categories
    picked_num = num[: max_terms - 1] if cat else num[:max_terms]
    picked_cat = cat[:2]
    adjs: list[str] = []
    nouns: list[str] = []
    clauses: list[str] = []
    for n in picked_num:
        word, kind = _describe_numeric(n.feature, n.effect)
        (adjs if kind == "adj" else nouns if kind == "noun" else clauses).append(word)
    head = " ".join(adjs + nouns[:1]) if (adjs or nouns) else ""
    if head and not nouns:
        head += " customers"
    cats = [_describe_category(c.feature, c.value) for c in picked_cat]
    cats = cats[:1] + [c.removeprefix("mostly ") for c in cats[1:]]  # "mostly mobile, Kyiv region"
    parts = ([head] if head else []) + nouns[1:] + clauses + cats
    if not parts:
        return "typical customers"
    if not head:
        first = parts[0]
        parts[0] = (
            "customers, "
            if first.startswith("mostly")
            else "customers "
            if first.startswith(("into", "not into"))
            else "customers with "
        ) + first
    return ", ".join(parts)


def unique_names(names: Sequence[str], ids: Sequence[str]) -> list[str]:
    """Make names unique by appending the cluster id to repeats."""
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    return [f"{n} (cluster {i})" if counts[n] > 1 else n for n, i in zip(names, ids, strict=True)]


def segment_slugs(names: Sequence[str], ids: Sequence[str], *, max_len: int = 48) -> list[str]:
    """Segment names for a definitions file: slugified names, unique, valid identifiers."""
    out: list[str] = []
    for name, cid in zip(names, ids, strict=True):
        base = slug(re.sub(r"\(cluster \w+\)", "", name), max_len=200)
        if len(base) > max_len:  # cut at a word boundary
            cut = base[: max_len + 1].rfind("_")
            base = base[: cut if cut > 8 else max_len]
        candidate = base
        if candidate in out:
            candidate = f"{base}_{cid}"
        out.append(candidate)
    return out
