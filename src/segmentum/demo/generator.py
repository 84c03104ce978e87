"""A synthetic but realistic demo business: a B2C shop with B2B accounts, every canonical table.

Behaviour is driven by latent personas (kept as ground truth in `customers.persona`), so segments found
later mean something. Generation is vectorised with numpy and done in chunks of `CHUNK` customers, each
chunk with its own random stream derived from (seed, chunk number): the same seed and size always give
identical tables, and memory stays bounded however many customers are asked for.

All timestamps are naive wall-clock time in the demo workspace's zone (Europe/Kyiv); money is exact
decimals with 2 places (UAH).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmentum.demo import catalog as cat
from segmentum.errors import SegmentumError

CHUNK = 10_000
DEFAULT_END = date(2026, 10, 31)
DAY = 86_400
TABLE_NAMES = ("customers", "orders", "order_items", "events", "responses", "tickets", "subscriptions")

# persona: share among its kind, created (days before end: earliest, latest), order window end (days before end),
# orders per 30 days, minimum orders, extra lines per order (Poisson mean), price power (higher = cheaper items),
# share of discounted orders. B2C personas first, then B2B.
B2C_PERSONAS: dict[str, dict] = {
    "loyal": dict(
        share=0.10, created=(1095, 400), win=(0, 14), rate=1.0, min=6, lines=1.2, power=1.7, disc=0.15
    ),
    "bargain_hunter": dict(
        share=0.10, created=(1095, 200), win=(0, 40), rate=0.9, min=4, lines=0.8, power=4.0, disc=0.85
    ),
    "big_spender": dict(
        share=0.05, created=(1095, 200), win=(0, 90), rate=0.15, min=2, lines=0.6, power=0.25, disc=0.10
    ),
    "new": dict(share=0.06, created=(30, 1), win=(0, 0), rate=0.0, min=1, lines=0.9, power=1.8, disc=0.15),
    "lapsing": dict(
        share=0.10, created=(1095, 420), win=(121, 300), rate=0.6, min=2, lines=0.9, power=1.8, disc=0.15
    ),
    "churned": dict(
        share=0.12, created=(1095, 580), win=(370, 700), rate=0.35, min=1, lines=0.7, power=2.0, disc=0.15
    ),
    "one_time": dict(
        share=0.14, created=(1095, 45), win=(35, 35), rate=0.0, min=1, lines=0.7, power=2.0, disc=0.2
    ),
    "browser": dict(
        share=0.08, created=(1095, 30), win=(0, 0), rate=0.0, min=0, lines=0.8, power=1.2, disc=0.0
    ),
    "prospect": dict(
        share=0.10, created=(1095, 1), win=(0, 0), rate=0.0, min=0, lines=0.0, power=1.0, disc=0.0
    ),
    "declining": dict(
        share=0.075, created=(1095, 300), win=(90, 90), rate=1.1, min=4, lines=1.1, power=1.4, disc=0.15
    ),
    "growing": dict(
        share=0.075, created=(1095, 200), win=(90, 90), rate=0.25, min=1, lines=0.8, power=2.0, disc=0.15
    ),
}
B2B_PERSONAS: dict[str, dict] = {
    "key_account": dict(share=0.20, created=(1095, 240)),
    "growing_account": dict(share=0.25, created=(1095, 240)),
    "churning_account": dict(share=0.20, created=(1095, 300)),
    "onboarding_account": dict(share=0.20, created=(60, 7)),
    "lead_account": dict(share=0.15, created=(300, 1)),
}
PERSONAS = (*B2C_PERSONAS, *B2B_PERSONAS)
B2B_SHARE = 0.10
_P = {name: i for i, name in enumerate(PERSONAS)}
_B2C_BUYERS = [
    _P[p]
    for p in (
        "loyal",
        "bargain_hunter",
        "big_spender",
        "new",
        "lapsing",
        "churned",
        "one_time",
        "declining",
        "growing",
    )
]

# hour-of-day weights of shopping activity (local time): quiet nights, lunch and evening peaks
_HOURS = np.array(
    [2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 11, 13, 12, 10, 10, 11, 12, 14, 17, 18, 16, 11, 5], float
)
_HOURS /= _HOURS.sum()
_PAGES = np.array(
    [
        "/",
        "/search",
        "/deals",
        "/c/electronics",
        "/c/home",
        "/c/fashion",
        "/c/beauty",
        "/c/books",
        "/c/toys",
        "/c/garden",
        "/account",
        "/blog",
    ],
    dtype=object,
)


class DemoError(SegmentumError, ValueError):
    """The demo cannot be generated with the given parameters."""


# --------------------------------------------------------------------------------------------------------- arrow


def _str(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*[pa.scalar(p) if isinstance(p, str) else p for p in parts], "")


def _money(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Exact DECIMAL(18, 2) from integer cents, without passing through floats."""
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension into the high word of the 128-bit value
    validity = None
    if mask is not None:
        validity = pa.array(~mask).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(18, 2), len(cents), [validity, pa.py_buffer(words)])


def _decimal_text(cents: pa.Array | np.ndarray) -> pa.Array:
    """'123.45' from integer cents (for JSON properties)."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = pc.cast(pa.array(cents // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    return _join(whole, ".", frac)


def _ts(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(np.asarray(seconds, dtype=np.int64) * 1_000_000, type=pa.int64(), mask=mask)
    return arr.cast(pa.timestamp("us"))


# ------------------------------------------------------------------------------------------------------ helpers


def _epoch(day: date) -> int:
    return int((datetime(day.year, day.month, day.day) - datetime(1970, 1, 1)).total_seconds())


def _at_daytime(rng: np.random.Generator, t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Move each time to a realistic hour of its day, kept inside [lo, hi]."""
    day0 = t - t % DAY
    tod = rng.choice(24, size=len(t), p=_HOURS) * 3600 + rng.integers(0, 3600, size=len(t))
    return np.clip(day0 + tod, lo, hi)


def _uniform(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, daytime: bool = True) -> np.ndarray:
    t = lo + (rng.random(len(lo)) * np.maximum(hi - lo, 0)).astype(np.int64)
    return _at_daytime(rng, t, lo, hi) if daytime else t


def _expand(counts: np.ndarray) -> np.ndarray:
    """Row -> owner index for `counts[i]` rows per owner i."""
    return np.repeat(np.arange(len(counts)), counts)


def _rank_in_group(sorted_groups: np.ndarray) -> np.ndarray:
    """0-based position of each row within its run of equal values (input sorted by group)."""
    n = len(sorted_groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(sorted_groups[1:] != sorted_groups[:-1]) + 1]
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths)


def _clip_normal(rng: np.random.Generator, mean: np.ndarray, sd: float, lo: float, hi: float) -> np.ndarray:
    return np.clip(np.rint(rng.normal(mean, sd)), lo, hi).astype(np.int64)


# --------------------------------------------------------------------------------------------------- generator


class _Products:
    """Catalog + consumables + subscription plans as one indexable product table."""

    def __init__(self) -> None:
        c = cat.product_catalog()
        self.cat_start, self.cat_count = c["cat_start"], c["cat_count"]
        self.n_regular = len(c["id"])
        cons = cat.CONSUMABLES
        self.cons_start = self.n_regular
        plans = list(cat.PLANS)
        self.plan_start = self.cons_start + len(cons)
        self.id = np.concatenate(
            [
                c["id"],
                np.array([x[0] for x in cons], object),
                np.array([f"SUB-{p.upper()}" for p in plans], object),
            ]
        )
        self.name = np.concatenate(
            [
                c["name"],
                np.array([x[1] for x in cons], object),
                np.array([f"{p.title()} plan, 1 seat, 1 month" for p in plans], object),
            ]
        )
        self.category = np.concatenate(
            [
                c["category"],
                np.array(["consumables"] * len(cons), object),
                np.array(["subscription"] * len(plans), object),
            ]
        )
        self.price = np.concatenate(
            [
                c["price_cents"],
                np.array([int(x[2] * 100) for x in cons], np.int64),
                np.array([cat.PLANS[p] * 100 for p in plans], np.int64),
            ]
        )

    def pick(self, rng: np.random.Generator, fav: np.ndarray, power: np.ndarray) -> np.ndarray:
        """A regular product per row: the customer's favourite category half the time, cheap when power > 1."""
        n = len(fav)
        other = rng.choice(len(cat.CATEGORIES), size=n, p=cat.CATEGORY_WEIGHTS)
        category = np.where(rng.random(n) < 0.5, fav, other)
        pos = np.floor(rng.random(n) ** power * self.cat_count[category]).astype(np.int64)
        return self.cat_start[category] + np.minimum(pos, self.cat_count[category] - 1)


_PRODUCTS: _Products | None = None


def _products() -> _Products:
    global _PRODUCTS
    if _PRODUCTS is None:
        _PRODUCTS = _Products()
    return _PRODUCTS


class _Chunk:
    """One chunk of customers and everything they did."""

    def __init__(self, seed: int, index: int, first_no: int, n: int, start: date, end: date) -> None:
        self.rng = np.random.default_rng([seed, index])
        self.n = n
        self.no = np.arange(first_no, first_no + n, dtype=np.int64)
        self.start_s = _epoch(start)
        self.end_s = _epoch(end) + DAY - 1  # the end day is included up to 23:59:59
        self.products = _products()
        self.cid = _ids("C", self.no, 8)

    # ----------------------------------------------------------------------------------------- customers
    def customers(self) -> pa.Table:
        rng, n = self.rng, self.n
        b2c_names, b2b_names = list(B2C_PERSONAS), list(B2B_PERSONAS)
        b2b = rng.random(n) < B2B_SHARE
        p_b2c = np.array([B2C_PERSONAS[p]["share"] for p in b2c_names])
        p_b2b = np.array([B2B_PERSONAS[p]["share"] for p in b2b_names])
        persona = np.where(
            b2b,
            len(b2c_names) + rng.choice(len(b2b_names), size=n, p=p_b2b / p_b2b.sum()),
            rng.choice(len(b2c_names), size=n, p=p_b2c / p_b2c.sum()),
        )
        self.b2b, self.persona = b2b, persona
        params = [*B2C_PERSONAS.values(), *B2B_PERSONAS.values()]
        early = np.array([p["created"][0] for p in params])[persona]
        late = np.array([p["created"][1] for p in params])[persona]
        created = self.end_s - (late * DAY + (rng.random(n) * (early - late) * DAY).astype(np.int64))
        self.created = _at_daytime(rng, created, created - DAY, np.full(n, self.end_s))
        self.act_a = np.maximum(self.created, self.start_s)  # the data begin at `start`

        # geography and language
        weights = np.array([c[5] for c in cat.CITIES])
        city = rng.choice(len(cat.CITIES), size=n, p=weights / weights.sum())
        lang = np.empty(n, dtype=np.int64)
        u = rng.random(n)
        for i, c in enumerate(cat.CITIES):
            rows = city == i
            codes = [cat.LANGUAGES.index(k) for k in c[6]]
            shares = np.cumsum(list(c[6].values()))
            lang[rows] = np.array(codes)[
                np.searchsorted(shares / shares[-1], u[rows], side="right").clip(0, len(codes) - 1)
            ]
        self.city, self.lang = city, lang
        country = np.array([c[2] for c in cat.CITIES], object)[city]
        self.country = country

        # names (python per row is fine at chunk size: the string tables are small)
        female = rng.random(n) < np.where(b2b, 0.45, 0.56)
        fi, li, dom, num = rng.integers(0, 1 << 30, size=(4, n))
        names, emails, phones, postals = [], [], [], []
        ph = rng.integers(0, 10**9, size=n)
        for i in range(n):
            lg = cat.LANGUAGES[lang[i]]
            first = (cat.FIRST_F if female[i] else cat.FIRST_M)[lg]
            f = first[fi[i] % len(first)]
            last = cat.LAST[lg][li[i] % len(cat.LAST[lg])]
            surname = last[0]
            if lg in ("uk", "ru", "pl") and female[i]:
                # Slavic feminine surnames
                if lg == "pl" and surname.endswith("ski"):
                    surname = surname[:-1] + "a"
                elif lg == "ru" and surname.endswith("ов"):
                    surname += "а"
            names.append(f"{f[0]} {surname}")
            emails.append(
                f"{f[1]}.{last[1]}{num[i] % 1000}@{cat.EMAIL_DOMAINS[dom[i] % len(cat.EMAIL_DOMAINS)]}"
            )
            digits = f"{ph[i]:09d}"
            phones.append(f"{cat.PHONE_PREFIX[country[i]]} {digits[:2]} {digits[2:5]} {digits[5:]}")
            pattern = cat.CITIES[city[i]][3]
            code = []
            for k, ch in enumerate(pattern):
                if ch == "#":
                    code.append(str((ph[i] >> (k * 3)) % 10))
                elif ch == "X":
                    code.append("ABDEFGHJLNPQRSTUWXYZ"[(num[i] >> k) % 20])
                else:
                    code.append(ch)
            postals.append("".join(code))
        self.female = female
        p = self.persona

        # demographics: sparse on purpose, so the coverage report has something to say
        age = np.where(b2b, rng.normal(42, 9, n), rng.normal(37, 12, n))
        age = np.where(p == _P["new"], age - 6, age).clip(18, 80)
        birth = (
            np.datetime64(DEFAULT_END, "D")
            - (age * 365.25).astype("timedelta64[D]")
            - rng.integers(0, 365, n).astype("timedelta64[D]")
        )
        no_birth = rng.random(n) < 0.12
        gender = np.where(female, "female", "male").astype(object)
        no_gender = rng.random(n) < 0.04
        marital = rng.choice(
            np.array(["single", "married", "divorced", "widowed"], object), n, p=[0.38, 0.48, 0.11, 0.03]
        )
        no_marital = rng.random(n) < 0.25
        education = rng.choice(
            np.array(["secondary", "vocational", "bachelor", "master", "phd"], object),
            n,
            p=[0.18, 0.17, 0.33, 0.28, 0.04],
        )
        no_education = rng.random(n) < 0.30
        income_mult = np.ones(n)
        income_mult[p == _P["big_spender"]] = 2.6
        income_mult[p == _P["loyal"]] = 1.4
        income_mult[p == _P["bargain_hunter"]] = 0.7
        income = (rng.lognormal(np.log(360_000), 0.5, n) * income_mult).round(-3).astype(np.int64) * 100
        no_income = rng.random(n) < 0.40

        device = rng.choice(np.array(["mobile", "desktop", "tablet"], object), n, p=[0.56, 0.34, 0.10])
        device[b2b] = rng.choice(np.array(["desktop", "mobile"], object), int(b2b.sum()), p=[0.8, 0.2])
        sources = np.array(["search", "social", "email", "referral", "direct"], object)
        source = rng.choice(sources, n, p=[0.34, 0.24, 0.12, 0.12, 0.18])
        bargain = p == _P["bargain_hunter"]
        source[bargain] = rng.choice(sources, int(bargain.sum()), p=[0.2, 0.4, 0.3, 0.05, 0.05])
        source[b2b] = rng.choice(sources, int(b2b.sum()), p=[0.45, 0.1, 0.1, 0.3, 0.05])
        self.opt_in = rng.random(n) < np.where(bargain, 0.9, 0.62)

        # favourite category and interests (list)
        fav = rng.choice(len(cat.CATEGORIES), size=n, p=cat.CATEGORY_WEIGHTS)
        fav[p == _P["big_spender"]] = np.where(
            rng.random(int((p == _P["big_spender"]).sum())) < 0.6, 0, fav[p == _P["big_spender"]]
        )
        self.fav = fav
        k_int = rng.integers(0, 5, n)
        k_int[b2b] = 0
        extra = rng.integers(0, len(cat.INTERESTS), size=(n, 3))
        int_values, int_offsets = [], [0]
        for i in range(n):
            chosen: list[str] = []
            if k_int[i]:
                chosen.append(cat.CATEGORIES[fav[i]])
                for j in range(k_int[i] - 1):
                    word = cat.INTERESTS[extra[i, j]]
                    if word not in chosen:
                        chosen.append(word)
            int_values.extend(chosen)
            int_offsets.append(len(int_values))
        interests = pa.ListArray.from_arrays(
            pa.array(int_offsets, pa.int32()), pa.array(int_values, pa.string()), mask=pa.array(k_int == 0)
        )

        # account owners: every B2B account, some big B2C customers
        owner = rng.choice(np.array(cat.ACCOUNT_OWNERS, object), n)
        vip = np.isin(p, [_P["big_spender"], _P["loyal"]]) & (rng.random(n) < 0.3)
        self.has_owner = b2b | vip
        self.owner = owner

        # B2B firmographics, subscriptions (needed for plan / renewal / lifecycle stage)
        self._b2b_accounts()
        industry = rng.choice(np.array(cat.INDUSTRIES, object), n)
        w1, w2, legal = rng.integers(0, 1 << 20, size=(3, n))
        company = np.array(
            [
                f"{cat.COMPANY_WORDS[w1[i] % len(cat.COMPANY_WORDS)]} "
                f"{cat.COMPANY_SUFFIX[industry[i]][w2[i] % 4]} {cat.LEGAL_FORMS[legal[i] % len(cat.LEGAL_FORMS)]}"
                if b2b[i]
                else None
                for i in range(n)
            ],
            dtype=object,
        )
        employees = (
            np.where(
                p == _P["key_account"], rng.lognormal(np.log(900), 0.7, n), rng.lognormal(np.log(60), 0.9, n)
            )
            .clip(2, 50_000)
            .astype(np.int64)
        )
        revenue = (employees * rng.uniform(0.6e6, 3.0e6, n)).round(-3).astype(np.int64) * 100
        job = rng.choice(np.array(cat.JOB_TITLES, object), n)

        nb = ~b2b
        return pa.table(
            {
                "customer_id": self.cid,
                "name": _str(np.array(names, object)),
                "email": _str(np.array(emails, object)),
                "phone": _str(np.array(phones, object)),
                "created_at": _ts(self.created),
                "birth_date": pa.array(birth, pa.date32(), mask=no_birth | b2b),
                "gender": pa.array(gender, pa.string(), mask=no_gender),
                "marital_status": pa.array(marital, pa.string(), mask=no_marital | b2b),
                "education": pa.array(education, pa.string(), mask=no_education | b2b),
                "income": _money(income, no_income | b2b),
                "language": _str(np.array(cat.LANGUAGES, object)[lang]),
                "country": _str(country),
                "region": _str(np.array([c[1] for c in cat.CITIES], object)[city]),
                "city": _str(np.array([c[0] for c in cat.CITIES], object)[city]),
                "postal_code": _str(np.array(postals, object)),
                "timezone": _str(np.array([c[4] for c in cat.CITIES], object)[city]),
                "device": _str(device),
                "first_source": _str(source),
                "account_owner": pa.array(owner, pa.string(), mask=~self.has_owner),
                "email_opt_in": pa.array(self.opt_in),
                "company": pa.array(company, pa.string()),
                "industry": pa.array(industry, pa.string(), mask=nb),
                "employees": pa.array(employees, pa.int64(), mask=nb),
                "annual_revenue": _money(revenue, nb),
                "lifecycle_stage": pa.array(self.stage, pa.string(), mask=nb),
                "job_title": pa.array(job, pa.string(), mask=nb),
                "plan": pa.array(self.cust_plan, pa.string(), mask=self.cust_plan == None),  # noqa: E711
                "renewal_at": _ts(self.cust_renewal, mask=self.cust_renewal < 0),
                "interests": interests,
                "customer_type": _str(np.where(b2b, "b2b", "b2c").astype(object)),
                "persona": _str(np.array(PERSONAS, object)[p]),
            }
        )

    def _b2b_accounts(self) -> None:
        """Subscriptions of B2B accounts; sets per-customer plan, renewal and lifecycle stage."""
        rng, n, p = self.rng, self.n, self.persona
        plans = np.array(list(cat.PLANS), object)
        stage = np.full(n, None, dtype=object)
        stage[self.b2b] = "customer"
        stage[p == _P["onboarding_account"]] = "onboarding"
        stage[p == _P["lead_account"]] = "lead"
        paying = self.b2b & (p != _P["lead_account"])
        idx = np.flatnonzero(paying)
        pp = p[idx]
        m = len(idx)
        plan = np.where(
            pp == _P["key_account"],
            rng.choice([2, 3], m, p=[0.4, 0.6]),
            np.where(pp == _P["onboarding_account"], rng.choice([0, 1], m), rng.choice([1, 2], m)),
        )
        seats = np.where(
            pp == _P["key_account"],
            rng.integers(50, 400, m),
            np.where(pp == _P["onboarding_account"], rng.integers(3, 30, m), rng.integers(8, 80, m)),
        )
        started = (
            self.created[idx]
            + np.where(pp == _P["onboarding_account"], rng.integers(0, 5, m), rng.integers(0, 60, m)) * DAY
        )
        started = np.minimum(started, self.end_s - DAY)
        end_use = np.full(m, self.end_s)
        cancelled = np.full(m, -1, dtype=np.int64)
        reason = np.full(m, None, dtype=object)
        churning = pp == _P["churning_account"]
        gone = churning & (rng.random(m) < 0.6)
        cancelled[gone] = (
            self.end_s - rng.integers(3, 120, int(gone.sum())) * DAY - rng.integers(0, DAY, int(gone.sum()))
        )
        reason[gone] = rng.choice(np.array(cat.CANCEL_REASONS, object), int(gone.sum()))
        end_use[gone] = cancelled[gone]
        stage[idx[gone]] = "churned"
        # seat trend over the account's life: growing up, churning down
        trend = np.where(pp == _P["growing_account"], 1.2, np.where(churning, -0.6, 0.0))
        # growing accounts half of the time upgraded their plan: the first subscription ends with 'upgrade'
        upgrade = (pp == _P["growing_account"]) & (rng.random(m) < 0.5) & (plan < 3)
        up_at = started + ((self.end_s - started) * rng.uniform(0.4, 0.8, m)).astype(np.int64)

        sub_cust = np.concatenate([idx, idx[upgrade]])
        sub_start = np.concatenate([started, up_at[upgrade]])
        sub_end_use = np.concatenate([np.where(upgrade, up_at, end_use), end_use[upgrade]])
        sub_cancel = np.concatenate([np.where(upgrade, up_at, cancelled), cancelled[upgrade]])
        sub_reason = np.concatenate([np.where(upgrade, "upgrade", reason).astype(object), reason[upgrade]])
        sub_plan = np.concatenate([plan, plan[upgrade] + 1])
        sub_seats0 = np.concatenate([seats, seats[upgrade]])
        sub_trend = np.concatenate([trend, trend[upgrade]])
        age_years = np.ceil((np.maximum(self.end_s, sub_start + 1) - sub_start) / (365 * DAY)).astype(
            np.int64
        )
        renews = sub_start + age_years * 365 * DAY
        # seats at the end of the subscription's life: mrr is the current monthly fee
        frac_end = (sub_end_use - self.act_a[sub_cust]) / max(self.end_s - self.start_s, 1)
        seats_end = np.maximum(1, np.rint(sub_seats0 * (1 + sub_trend * frac_end))).astype(np.int64)
        order = np.lexsort((sub_start, sub_cust))
        self.subs = {
            k: v[order]
            for k, v in dict(
                cust=sub_cust,
                start=sub_start,
                end_use=sub_end_use,
                cancelled=sub_cancel,
                reason=sub_reason,
                plan=sub_plan,
                seats0=sub_seats0,
                trend=sub_trend,
                renews=renews,
                seats_end=seats_end,
            ).items()
        }
        current_plan = np.full(n, None, dtype=object)
        current_renewal = np.full(n, -1, dtype=np.int64)
        last = (
            np.r_[self.subs["cust"][1:] != self.subs["cust"][:-1], True]
            if len(sub_cust)
            else np.zeros(0, bool)
        )
        cust_last = self.subs["cust"][last]
        current_plan[cust_last] = plans[self.subs["plan"][last]]
        alive = self.subs["cancelled"][last] < 0
        current_renewal[cust_last[alive]] = self.subs["renews"][last][alive]
        self.cust_plan, self.cust_renewal, self.stage = current_plan, current_renewal, stage

    def subscriptions(self) -> pa.Table:
        s = self.subs
        plans = np.array(list(cat.PLANS), object)
        price = np.array(list(cat.PLANS.values()), np.int64)[s["plan"]] * 100
        rank = _rank_in_group(s["cust"])
        return pa.table(
            {
                "subscription_id": _join(
                    _ids("S", self.no[s["cust"]], 8), "-", pc.cast(pa.array(rank + 1), pa.string())
                ),
                "customer_id": self.cid.take(pa.array(s["cust"])),
                "started_at": _ts(s["start"]),
                "plan": _str(plans[s["plan"]]),
                "mrr": _money(price * s["seats_end"]),
                "renews_at": _ts(s["renews"]),
                "cancelled_at": _ts(s["cancelled"], mask=s["cancelled"] < 0),
                "cancel_reason": pa.array(s["reason"], pa.string()),
            }
        )

    # ------------------------------------------------------------------------------------------- orders
    def orders(self) -> tuple[pa.Table, pa.Table]:
        rng, p = self.rng, self.persona
        end = self.end_s
        params = list(B2C_PERSONAS.values())
        b2c = ~self.b2b
        pi = np.where(b2c, p, 0)

        def per(key: str, default: float = 0.0) -> np.ndarray:
            return np.where(b2c, np.array([q[key] for q in params], float)[pi], default)

        rate, min_orders = per("rate") / 30.0, per("min").astype(np.int64)
        win_lo = np.array([q["win"][0] for q in params], float)[pi]
        win_hi = np.array([q["win"][1] for q in params], float)[pi]
        lines_lam, power, disc_share = per("lines"), per("power", 1.0), per("disc")
        a = self.act_a
        available = (end - a) / DAY
        gap = win_lo + rng.random(self.n) * (np.minimum(win_hi, available - 5) - win_lo)
        b = np.minimum(np.maximum(a + DAY, end - (gap * DAY).astype(np.int64)), end)
        is_new, one_time = p == _P["new"], p == _P["one_time"]
        declining, growing = p == _P["declining"], p == _P["growing"]
        days = (b - a) / DAY
        n1 = np.maximum(rng.poisson(rate * days), min_orders)
        n1 = np.where(is_new, 1 + (rng.random(self.n) < 0.3), n1)
        n1 = np.where(one_time, 1, n1)
        n1 = np.where(b2c, n1, 0)
        # the last 90 days of declining and growing customers: a different rate and basket
        a2, b2 = np.full(self.n, end - 90 * DAY), np.full(self.n, end)
        n2 = np.zeros(self.n, dtype=np.int64)
        n2[declining] = rng.poisson(0.12 * 3, int(declining.sum()))
        n2[growing] = np.maximum(rng.poisson(1.6 * 3, int(growing.sum())), 2)
        self.act_b = np.where(n1 + n2 > 0, np.maximum(b, np.where(n2 > 0, end, 0)), a)
        self.act_b[p == _P["browser"]] = end
        self.act_b[p == _P["prospect"]] = end
        self.act_b[self.b2b] = end

        # regular orders
        c1, c2 = _expand(n1), _expand(n2)
        t1 = _uniform(rng, a[c1], b[c1])
        t2 = _uniform(rng, a2[c2], b2[c2])
        pw = np.concatenate([power[c1], np.where(declining[c2], power[c2] * 2.0, power[c2] * 0.45)])
        lam = np.concatenate([lines_lam[c1], np.where(declining[c2], 0.2, lines_lam[c2] + 1.0)])
        reg_c, reg_t = np.concatenate([c1, c2]), np.concatenate([t1, t2])

        # replenishment of consumables at each customer's own interval
        cons_share = np.zeros(self.n)
        for name, share in (
            ("loyal", 0.5),
            ("bargain_hunter", 0.4),
            ("declining", 0.3),
            ("growing", 0.3),
            ("lapsing", 0.3),
            ("big_spender", 0.1),
            ("churned", 0.2),
        ):
            cons_share[p == _P[name]] = share
        has_cons = rng.random(self.n) < cons_share
        kind = rng.integers(0, len(cat.CONSUMABLES), self.n)
        lo = np.array([x[3] for x in cat.CONSUMABLES])[kind]
        hi = np.array([x[4] for x in cat.CONSUMABLES])[kind]
        interval = rng.uniform(lo, hi)
        self.cons_kind, self.cons_interval = np.where(has_cons, kind, -1), interval
        r_a = np.where(growing, a2, a)
        r_b = np.where(declining, end - 90 * DAY, b)
        r_b = np.where(
            p == _P["loyal"], end - (rng.random(self.n) * 1.5 * interval * DAY).astype(np.int64), r_b
        )
        first = r_a + (rng.random(self.n) * interval * DAY).astype(np.int64)
        m = np.where(has_cons & (r_b > first), (r_b - first) // (interval * DAY).astype(np.int64) + 1, 0)
        cr = _expand(m)
        k = _rank_in_group(cr)
        tr = first[cr] + (k * interval[cr] * DAY + rng.normal(0, 0.06, len(cr)) * interval[cr] * DAY).astype(
            np.int64
        )
        tr = _at_daytime(rng, tr, a[cr], np.minimum(r_b[cr], end))

        # monthly invoices of B2B subscriptions (seats follow the account's trend)
        s = self.subs
        months = np.maximum((s["end_use"] - s["start"]) // int(30.44 * DAY) + 1, 0)
        si = _expand(months)
        k = _rank_in_group(si)
        ti = s["start"][si] + (k * 30.44 * DAY).astype(np.int64)
        frac = (ti - self.act_a[s["cust"][si]]) / max(end - self.start_s, 1)
        seats = np.maximum(1, np.rint(s["seats0"][si] * (1 + s["trend"][si] * frac))).astype(np.int64)
        # a subscription may predate the data; its invoices are kept from the data's start on
        keep = (ti <= np.minimum(s["end_use"][si], end)) & (ti >= self.start_s)
        si, ti, seats = si[keep], ti[keep], seats[keep]

        # all orders, by customer and time
        o_c = np.concatenate([reg_c, cr, s["cust"][si]])
        o_t = np.concatenate([reg_t, tr, ti])
        o_kind = np.concatenate(
            [np.zeros(len(reg_c), np.int8), np.ones(len(cr), np.int8), np.full(len(si), 2, np.int8)]
        )
        o_pw = np.concatenate([pw, np.ones(len(cr)), np.ones(len(si))])
        o_lam = np.concatenate([lam, np.full(len(cr), 0.15), np.zeros(len(si))])
        o_prod = np.concatenate(
            [
                np.full(len(reg_c), -1),
                self.products.cons_start + kind[cr],
                self.products.plan_start + s["plan"][si],
            ]
        )
        o_qty = np.concatenate([np.zeros(len(reg_c), np.int64), 1 + (rng.random(len(cr)) < 0.25), seats])
        order = np.lexsort((o_t, o_c))
        o_c, o_t, o_kind, o_pw, o_lam, o_prod, o_qty = (
            x[order] for x in (o_c, o_t, o_kind, o_pw, o_lam, o_prod, o_qty)
        )
        n_orders = len(o_c)
        o_rank = _rank_in_group(o_c)
        self.o_c, self.o_t, self.o_kind = o_c, o_t, o_kind

        # discounts: bargain hunters nearly always, others sometimes
        discounted = (o_kind == 0) & (rng.random(n_orders) < disc_share[o_c])
        rate_off = np.where(
            discounted,
            np.where(
                p[o_c] == _P["bargain_hunter"],
                rng.uniform(0.15, 0.45, n_orders),
                rng.uniform(0.05, 0.20, n_orders),
            ),
            0.0,
        )

        # lines
        n_lines = 1 + np.where(o_kind == 2, 0, rng.poisson(o_lam))
        li = _expand(n_lines)
        line_no = _rank_in_group(li) + 1
        first_line = line_no == 1
        special = first_line & (o_kind[li] > 0)  # the consumable or the plan of the order
        prod = np.where(special, o_prod[li], -1)
        regular = prod < 0
        prod[regular] = self.products.pick(rng, self.fav[o_c[li[regular]]], o_pw[li[regular]])
        qty = np.where(special, o_qty[li], 1 + (rng.random(len(li)) < 0.15) * (1 + rng.poisson(0.5, len(li))))
        list_price = self.products.price[prod]
        unit = np.where(
            o_kind[li] == 2, list_price, np.rint(list_price * (1 - rate_off[li])).astype(np.int64)
        )
        line_value = unit * qty
        starts = np.r_[0, np.cumsum(n_lines)[:-1]] if n_orders else np.zeros(0, np.int64)
        amount = np.add.reduceat(line_value, starts) if n_orders else np.zeros(0, np.int64)
        discount = np.add.reduceat((list_price - unit) * qty, starts) if n_orders else np.zeros(0, np.int64)
        self.o_amount = amount
        self.li, self.l_prod, self.l_value = li, prod, line_value

        u = rng.random(n_orders)
        returned_p = np.where(p[o_c] == _P["bargain_hunter"], 0.10, 0.04)
        status = np.where(
            u < 0.03, "cancelled", np.where(u < 0.03 + returned_p, "returned", "completed")
        ).astype(object)
        status[o_kind == 2] = "completed"
        channel = rng.choice(
            np.array(["web", "mobile_app", "marketplace", "phone"], object),
            n_orders,
            p=[0.5, 0.35, 0.1, 0.05],
        )
        channel[o_kind == 2] = "invoice"
        self.o_status, self.o_channel = status, channel

        order_id = _join(
            _ids("O", self.no[o_c], 8), "-", pc.utf8_lpad(pc.cast(pa.array(o_rank + 1), pa.string()), 3, "0")
        )
        self.order_id = order_id
        cust = self.cid.take(pa.array(o_c))
        ordered_at = _ts(o_t)
        orders = pa.table(
            {
                "order_id": order_id,
                "customer_id": cust,
                "ordered_at": ordered_at,
                "amount": _money(amount),
                "status": _str(status),
                "channel": _str(channel),
                "currency": pa.array(np.full(n_orders, "UAH", object), pa.string()),
                "discount": _money(discount),
            }
        )
        lidx = pa.array(li)
        items = pa.table(
            {
                "order_id": order_id.take(lidx),
                "line": pa.array(line_no, pa.int64()),
                "customer_id": cust.take(lidx),
                "ordered_at": ordered_at.take(lidx),
                "product_id": _str(self.products.id[prod]),
                "quantity": _money(qty * 100),
                "unit_price": _money(unit),
                "category": _str(self.products.category[prod]),
                "product_name": _str(self.products.name[prod]),
            }
        )
        return orders, items

    # ---------------------------------------------------------------------------------------- tickets
    def tickets(self) -> pa.Table:
        rng, p, n = self.rng, self.persona, self.n
        share = np.full(n, 0.10)
        for name, s in (
            ("bargain_hunter", 0.25),
            ("loyal", 0.2),
            ("big_spender", 0.2),
            ("churning_account", 0.7),
            ("key_account", 0.45),
            ("growing_account", 0.3),
            ("onboarding_account", 0.5),
            ("prospect", 0.0),
            ("browser", 0.02),
            ("lead_account", 0.0),
        ):
            share[p == _P[name]] = s
        count = np.where(rng.random(n) < share, 1 + rng.poisson(np.where(self.b2b, 1.5, 0.4)), 0)
        tc = _expand(count)
        lo = self.act_a[tc]
        hi = np.maximum(self.act_b[tc], lo + DAY)
        if len(tc):
            hi = np.minimum(hi, self.end_s)
        opened = _uniform(rng, lo, hi)
        slow = np.isin(p[tc], [_P["churning_account"], _P["churned"]])
        first_resp = opened + (rng.lognormal(np.log(np.where(slow, 20, 3)), 0.8) * 3600).astype(np.int64)
        resolved = first_resp + (rng.lognormal(np.log(np.where(slow, 60, 18)), 0.9) * 3600).astype(np.int64)
        unresolved = (rng.random(len(tc)) < np.where(slow, 0.35, 0.08)) | (resolved > self.end_s)
        no_first = first_resp > self.end_s
        happy = np.isin(p[tc], [_P["loyal"], _P["key_account"], _P["growing_account"], _P["big_spender"]])
        mean = np.where(happy, 4.5, np.where(slow, 2.0, 3.8)) - unresolved * 1.5
        csat = _clip_normal(rng, mean, 0.8, 1, 5).astype(float)
        no_csat = (rng.random(len(tc)) < 0.4) | unresolved
        b2b = self.b2b[tc]
        topic = np.where(
            b2b,
            rng.choice(np.array(cat.B2B_TOPICS, object), len(tc)),
            rng.choice(np.array(cat.B2C_TOPICS, object), len(tc)),
        )
        channel = rng.choice(np.array(cat.TICKET_CHANNELS, object), len(tc), p=[0.45, 0.35, 0.2])
        order = np.lexsort((opened, tc))
        tc, opened, first_resp, resolved, unresolved, no_first, csat, no_csat, topic, channel = (
            x[order]
            for x in (tc, opened, first_resp, resolved, unresolved, no_first, csat, no_csat, topic, channel)
        )
        rank = _rank_in_group(tc)
        self.t_c, self.t_open, self.t_resolved, self.t_unresolved = tc, opened, resolved, unresolved
        self.t_csat, self.t_no_csat, self.t_channel = csat, no_csat, channel
        self.ticket_id = _join(_ids("T", self.no[tc], 8), "-", pc.cast(pa.array(rank + 1), pa.string()))
        return pa.table(
            {
                "ticket_id": self.ticket_id,
                "customer_id": self.cid.take(pa.array(tc)),
                "opened_at": _ts(opened),
                "first_response_at": _ts(first_resp, mask=no_first),
                "resolved_at": _ts(resolved, mask=unresolved),
                "csat": pa.array(csat, pa.float64(), mask=no_csat),
                "channel": _str(channel),
                "topic": _str(topic),
            }
        )

    # -------------------------------------------------------------------------------------- responses
    def responses(self) -> pa.Table:
        rng, p, n = self.rng, self.persona, self.n
        parts: list[tuple[np.ndarray, np.ndarray, pa.Array, pa.Array, str]] = []
        # NPS: customers who bought or use the product, once or twice
        buyer = np.isin(p, _B2C_BUYERS) | (self.b2b & (p != _P["lead_account"]))
        answers = np.where(
            buyer & (rng.random(n) < np.where(self.b2b, 0.6, 0.35)), 1 + (rng.random(n) < 0.3), 0
        )
        rc = _expand(answers)
        k = _rank_in_group(rc)
        span = np.maximum(self.end_s - self.act_a[rc], 2 * DAY)
        t = self.act_a[rc] + (rng.random(len(rc)) * span / 2).astype(np.int64) + k * (span // 2)
        t = _at_daytime(rng, t, self.act_a[rc], np.full(len(rc), self.end_s))
        t = t + k  # two answers of one customer never share a timestamp
        mean_by = {
            "loyal": 9.2,
            "big_spender": 8.5,
            "bargain_hunter": 7.0,
            "new": 8.0,
            "lapsing": 6.0,
            "churned": 4.0,
            "one_time": 6.5,
            "declining": 5.5,
            "growing": 8.5,
            "key_account": 9.4,
            "growing_account": 8.6,
            "churning_account": 3.5,
            "onboarding_account": 7.8,
        }
        mean = np.full(len(rc), 7.0)
        for name, value in mean_by.items():
            mean[p[rc] == _P[name]] = value
        score = _clip_normal(rng, mean, 1.3, 0, 10)
        parts.append(
            (
                rc,
                t,
                pa.array(np.full(len(rc), "nps", object), pa.string()),
                pc.cast(pa.array(score), pa.string()),
                "nps",
            )
        )
        # CSAT after resolved tickets
        has = ~self.t_no_csat
        parts.append(
            (
                self.t_c[has],
                self.t_resolved[has] + 3600,
                pa.array(np.full(int(has.sum()), "csat", object), pa.string()),
                pc.cast(pa.array(self.t_csat[has].astype(np.int64)), pa.string()),
                "support",
            )
        )
        # needs questionnaire (B2C): priority, shopping_style, preferred_channel, interest_* (1-5)
        took = ~self.b2b & (rng.random(n) < 0.25)
        qc = np.flatnonzero(took)
        qt = _uniform(rng, self.act_a[qc], np.full(len(qc), self.end_s))
        qp = p[qc]
        prio_p = np.tile([0.3, 0.35, 0.15, 0.2], (len(qc), 1))
        prio_p[qp == _P["bargain_hunter"]] = [0.8, 0.1, 0.05, 0.05]
        prio_p[qp == _P["big_spender"]] = [0.05, 0.65, 0.1, 0.2]
        prio_p[qp == _P["loyal"]] = [0.15, 0.35, 0.15, 0.35]
        prio = (rng.random(len(qc))[:, None] > np.cumsum(prio_p, axis=1)).sum(axis=1).clip(0, 3)
        style_p = np.tile([0.3, 0.25, 0.3, 0.15], (len(qc), 1))
        style_p[qp == _P["bargain_hunter"]] = [0.15, 0.1, 0.15, 0.6]
        style_p[qp == _P["big_spender"]] = [0.3, 0.2, 0.45, 0.05]
        style = (rng.random(len(qc))[:, None] > np.cumsum(style_p, axis=1)).sum(axis=1).clip(0, 3)
        questions = [
            ("priority", np.array(cat.PRIORITIES, object)[prio]),
            ("shopping_style", np.array(cat.SHOPPING_STYLES, object)[style]),
            (
                "preferred_channel",
                rng.choice(np.array(cat.PREFERRED_CHANNELS, object), len(qc), p=[0.55, 0.15, 0.3]),
            ),
        ]
        for category in cat.INTEREST_QUESTIONS:
            fav = self.fav[qc] == cat.CATEGORIES.index(category)
            questions.append(
                (
                    f"interest_{category}",
                    _clip_normal(rng, np.where(fav, 4.6, 2.6), 1.1, 1, 5).astype(str).astype(object),
                )
            )
        for question, values in questions:
            answered = rng.random(len(qc)) < 0.92  # some skip a question
            parts.append(
                (
                    qc[answered],
                    qt[answered] + rng.integers(0, 120, int(answered.sum())),
                    pa.array(np.full(int(answered.sum()), question, object), pa.string()),
                    pa.array(values[answered], pa.string()),
                    "needs",
                )
            )
        c = np.concatenate([x[0] for x in parts])
        t = np.minimum(np.concatenate([x[1] for x in parts]), self.end_s)
        q = pa.concat_arrays([x[2] for x in parts])
        a = pa.concat_arrays([x[3] for x in parts])
        survey = pa.array(np.concatenate([np.full(len(x[0]), x[4], object) for x in parts]), pa.string())
        order = pa.array(np.lexsort((t, c)))
        return pa.table(
            {
                "customer_id": self.cid.take(pa.array(c)).take(order),
                "question": q.take(order),
                "answer": a.take(order),
                "answered_at": _ts(t).take(order),
                "survey": survey.take(order),
            }
        )

    # ----------------------------------------------------------------------------------------- events
    def events(self) -> pa.Table:
        rng, p, n, end = self.rng, self.persona, self.n, self.end_s
        ev_c: list[np.ndarray] = []
        ev_t: list[np.ndarray] = []
        ev_name: list[pa.Array] = []
        ev_props: list[pa.Array] = []

        def add(c: np.ndarray, t: np.ndarray, name: str | pa.Array, props: pa.Array) -> None:
            ev_c.append(c)
            ev_t.append(np.minimum(t, end))
            ev_name.append(
                pa.array(np.full(len(c), name, object), pa.string()) if isinstance(name, str) else name
            )
            ev_props.append(props)

        # shopping sessions behind each web order: page views, cart adds, checkout
        # only web and app orders leave a tracked session (phone and marketplace orders do not)
        shop = np.flatnonzero((self.o_kind < 2) & np.isin(self.o_channel, ["web", "mobile_app"]))
        oc, ot = self.o_c[shop], self.o_t[shop]
        checkout = ot - rng.integers(60, 1200, len(shop))
        cart_id = pc.replace_substring_regex(self.order_id.take(pa.array(shop)), "^O", "K")
        value = _decimal_text(self.o_amount[shop])
        add(oc, checkout, "checkout", _join('{"cart_id":"', cart_id, '","value":', value, "}"))
        tracked = np.zeros(len(self.o_c), dtype=bool)
        tracked[shop] = True
        item_rows = np.flatnonzero(tracked[self.li])
        order_pos = np.searchsorted(shop, self.li[item_rows])
        prod = self.l_prod[item_rows]
        add(
            oc[order_pos],
            checkout[order_pos] - rng.integers(60, 3600, len(item_rows)),
            "cart_add",
            self._cart_props(cart_id.take(pa.array(order_pos)), prod, self.l_value[item_rows]),
        )
        views = 1 + (rng.random(len(shop)) < 0.3)
        vi = _expand(views)
        add(
            oc[vi],
            checkout[vi] - rng.integers(3600, 3 * 3600, len(vi)),
            "page_view",
            self._page_props(len(vi)),
        )
        login = rng.random(len(shop)) < 0.3
        add(oc[login], checkout[login] - 3 * 3600 - 30, "login", pa.nulls(int(login.sum()), pa.string()))

        # abandoned carts: browsers (recently, many of them this week) and some buyers
        carts = np.zeros(n, dtype=np.int64)
        browser = p == _P["browser"]
        carts[browser] = 1 + rng.poisson(1.2, int(browser.sum()))
        some = np.isin(p, _B2C_BUYERS) & (rng.random(n) < 0.12)
        carts[some] = 1
        cc = _expand(carts)
        recent = browser[cc]
        lo = np.where(recent, end - 60 * DAY, self.act_a[cc])
        ct = _uniform(rng, lo, np.full(len(cc), end))
        this_week = browser[cc] & (_rank_in_group(cc) == 0) & (rng.random(len(cc)) < 0.6)
        ct[this_week] = _uniform(
            rng, np.full(int(this_week.sum()), end - 7 * DAY + 3600), np.full(int(this_week.sum()), end)
        )
        cart_no = _rank_in_group(cc) + 1
        acart = _join(_ids("A", self.no[cc], 8), "-", pc.cast(pa.array(cart_no), pa.string()))
        adds = 1 + rng.poisson(0.8, len(cc))
        ai = _expand(adds)
        aprod = self.products.pick(
            rng, self.fav[cc[ai]], np.where(p[cc[ai]] == _P["bargain_hunter"], 3.0, 1.0)
        )
        at = ct[ai] + _rank_in_group(ai) * rng.integers(30, 600, len(ai))
        add(
            cc[ai],
            at,
            "cart_add",
            self._cart_props(acart.take(pa.array(ai)), aprod, self.products.price[aprod]),
        )
        removed = (rng.random(len(ai)) < 0.12) & (_rank_in_group(ai) == 0)
        add(
            cc[ai][removed],
            at[removed] + rng.integers(60, 3600, int(removed.sum())),
            "cart_remove",
            self._cart_props(
                acart.take(pa.array(ai[removed])), aprod[removed], self.products.price[aprod[removed]]
            ),
        )
        add(cc, ct - rng.integers(120, 1800, len(cc)), "page_view", self._page_props(len(cc)))

        # browsing without buying
        lam = np.where(browser, 10, np.where(p == _P["prospect"], 3, np.where(self.b2b, 0, 3)))
        bc = _expand(rng.poisson(lam))
        add(bc, _uniform(rng, self.act_a[bc], np.full(len(bc), end)), "page_view", self._page_props(len(bc)))

        self._email_events(add)
        self._contact_events(add)
        self._usage_events(add)

        c = np.concatenate(ev_c)
        t = np.concatenate(ev_t)
        # nothing happens before the customer exists or before the data begin
        t = np.maximum(np.maximum(t, self.created[c]), self.start_s)
        order = np.lexsort((t, c))
        c, t = c[order], t[order]
        take = pa.array(order)
        rank = _rank_in_group(c)
        return pa.table(
            {
                "event_id": _join(
                    _ids("E", self.no[c], 8),
                    "-",
                    pc.utf8_lpad(pc.cast(pa.array(rank + 1), pa.string()), 4, "0"),
                ),
                "customer_id": self.cid.take(pa.array(c)),
                "event": pa.concat_arrays(ev_name).take(take),
                "occurred_at": _ts(t),
                "properties": pa.concat_arrays(ev_props).take(take),
            }
        )

    def _cart_props(self, cart_id: pa.Array, prod: np.ndarray, value_cents: np.ndarray) -> pa.Array:
        return _join(
            '{"cart_id":"',
            cart_id,
            '","product_id":"',
            _str(self.products.id[prod]),
            '","category":"',
            _str(self.products.category[prod]),
            '","value":',
            _decimal_text(value_cents),
            "}",
        )

    def _page_props(self, count: int) -> pa.Array:
        return _join('{"page":"', _str(self.rng.choice(_PAGES, count)), '"}')

    def _email_events(self, add: Callable[..., None]) -> None:
        """Monthly campaigns (first Tuesday, 10:00) to opted-in customers until they unsubscribe."""
        rng, p, n, end = self.rng, self.persona, self.n, self.end_s
        campaigns, labels = [], []
        month = np.datetime64(self.start_s, "s").astype("datetime64[M]")
        while True:
            first = month.astype("datetime64[D]")
            tuesday = first + ((1 - (first.astype(np.int64) + 3) % 7) % 7)  # 1970-01-01 was a Thursday
            t = int(tuesday.astype("datetime64[s]").astype(np.int64)) + 10 * 3600
            if t > end:
                break
            if t >= self.start_s:
                campaigns.append(t)
                labels.append(str(month))
            month = month + 1
        camp = np.array(campaigns, dtype=np.int64)
        k = len(camp)
        p_open = np.full(n, 0.25)
        for name, value in (
            ("loyal", 0.5),
            ("bargain_hunter", 0.6),
            ("big_spender", 0.3),
            ("churned", 0.08),
            ("lapsing", 0.15),
            ("prospect", 0.1),
            ("browser", 0.3),
            ("declining", 0.2),
            ("growing", 0.45),
        ):
            p_open[p == _P[name]] = value
        p_open[rng.random(n) < 0.18] = 0.0  # never opens
        unsub_at = np.where(rng.random(n) < 0.05, rng.integers(0, max(k, 1), n), k + 1)
        sent = (
            self.opt_in[:, None]
            & (camp[None, :] > self.created[:, None])
            & (np.arange(k)[None, :] <= unsub_at[:, None])
        )
        sc, sk = np.nonzero(sent)
        label = pa.array(np.array(labels, object), pa.string())
        props = _join('{"campaign":"', label.take(pa.array(sk)), '"}')
        st = camp[sk] + rng.integers(0, 1800, len(sc))
        add(sc, st, "email_sent", props)
        faded = st > self.act_b[sc] + 60 * DAY  # interest fades after the customer stops buying
        opened = rng.random(len(sc)) < p_open[sc] * np.where(faded, 0.3, 1.0)
        opened |= sk == unsub_at[sc]
        ot = st + (rng.lognormal(np.log(5 * 3600), 1.0, len(sc))).astype(np.int64)
        add(sc[opened], ot[opened], "email_open", props.filter(pa.array(opened)))
        clicked = opened & (rng.random(len(sc)) < 0.3)
        add(
            sc[clicked],
            ot[clicked] + rng.integers(5, 600, len(sc))[clicked],
            "email_click",
            props.filter(pa.array(clicked)),
        )
        unsub = sk == unsub_at[sc]
        add(sc[unsub], ot[unsub] + 60, "email_unsubscribe", props.filter(pa.array(unsub)))

    def _contact_events(self, add: Callable[..., None]) -> None:
        """support_contact per ticket; sales_contact from account owners, with their outcome."""
        rng, p, end = self.rng, self.persona, self.end_s
        outcome = np.where(self.t_unresolved, "unresolved", "resolved").astype(object)
        add(
            self.t_c,
            self.t_open,
            "support_contact",
            _join(
                '{"ticket_id":"',
                self.ticket_id,
                '","channel":"',
                _str(self.t_channel),
                '","outcome":"',
                _str(outcome),
                '"}',
            ),
        )
        lam = np.zeros(self.n)
        b2b_paying = self.b2b & (p != _P["lead_account"])
        lam[b2b_paying] = (end - self.act_a[b2b_paying]) / DAY / 45
        lam[p == _P["lead_account"]] = 2.5
        lam[~self.b2b & self.has_owner] = 2.0
        sc = _expand(rng.poisson(lam))
        st = _uniform(rng, self.act_a[sc], np.full(len(sc), end))
        positive_p = np.full(len(sc), 0.7)
        for name, value in (
            ("key_account", 0.9),
            ("growing_account", 0.8),
            ("churning_account", 0.2),
            ("lead_account", 0.5),
            ("lapsing", 0.4),
            ("declining", 0.45),
        ):
            positive_p[p[sc] == _P[name]] = value
        out = np.where(rng.random(len(sc)) < positive_p, "positive", "negative").astype(object)
        channel = rng.choice(np.array(["call", "meeting", "email"], object), len(sc), p=[0.5, 0.2, 0.3])
        add(sc, st, "sales_contact", _join('{"channel":"', _str(channel), '","outcome":"', _str(out), '"}'))

    def _usage_events(self, add: Callable[..., None]) -> None:
        """B2B product usage: logins and feature_used, rising for growing and falling for churning accounts."""
        rng, s = self.rng, self.subs
        if not len(s["cust"]):
            return
        # one usage stream per account: from its first subscription's start to its last one's end
        last = np.r_[s["cust"][1:] != s["cust"][:-1], True]
        firsts = np.r_[True, s["cust"][1:] != s["cust"][:-1]]
        acc = s["cust"][last]
        lo = np.maximum(s["start"][firsts], self.start_s)
        hi = s["end_use"][last]
        pp = self.persona[acc]
        weeks = np.maximum(hi - lo, DAY) / (7 * DAY)
        per_week = np.select(
            [pp == _P["key_account"], pp == _P["growing_account"], pp == _P["churning_account"]],
            [1.5, 0.9, 0.8],
            1.5,
        )
        n_features = np.select(
            [pp == _P["key_account"], pp == _P["growing_account"], pp == _P["churning_account"]], [8, 5, 3], 2
        )
        count = rng.poisson(per_week * weeks)
        ui = _expand(count)
        u = rng.random(len(ui))
        shape = pp[ui]
        u = np.where(
            shape == _P["growing_account"],
            np.sqrt(u),
            np.where(shape == _P["churning_account"], 1 - np.sqrt(u), u),
        )
        t = lo[ui] + (u * (hi[ui] - lo[ui])).astype(np.int64)
        t = _at_daytime(rng, t, lo[ui], hi[ui])
        is_feature = rng.random(len(ui)) < 0.6
        feature = np.floor(rng.random(len(ui)) ** 1.5 * n_features[ui]).astype(np.int64)
        fi = np.flatnonzero(is_feature)
        add(
            acc[ui[fi]],
            t[fi],
            "feature_used",
            _join('{"feature":"', _str(np.array(cat.FEATURES, object)[feature[fi]]), '"}'),
        )
        li = np.flatnonzero(~is_feature)
        add(acc[ui[li]], t[li], "login", pa.nulls(len(li), pa.string()))

    def tables(self) -> dict[str, pa.Table]:
        customers = self.customers()
        orders, items = self.orders()
        subs = self.subscriptions()
        tickets = self.tickets()
        responses = self.responses()
        events = self.events()
        return {
            "customers": customers,
            "orders": orders,
            "order_items": items,
            "events": events,
            "responses": responses,
            "tickets": tickets,
            "subscriptions": subs,
        }


# ------------------------------------------------------------------------------------------------------ public


def _check(customers: int, start: date | None, end: date) -> date:
    if isinstance(customers, bool) or not isinstance(customers, (int, np.integer)) or customers < 1:
        raise DemoError(
            f"customers must be a whole number of at least 1, got {customers!r}; try --customers 5000"
        )
    start = start or _default_start(end)
    if (end - start).days < 400:
        raise DemoError(
            f"the demo needs at least 400 days of history, got start={start} end={end}; leave start unset "
            "for two years ending at `end`"
        )
    return start


def iter_demo_chunks(
    customers: int = 5000, seed: int = 42, start: date | None = None, end: date = DEFAULT_END
) -> Iterator[dict[str, pa.Table]]:
    """The demo tables, one chunk of at most `CHUNK` customers at a time (bounded memory)."""
    start = _check(customers, start, end)
    for index, first in enumerate(range(0, customers, CHUNK)):
        size = min(CHUNK, customers - first)
        yield _Chunk(seed, index, first + 1, size, start, end).tables()


def _default_start(end: date) -> date:
    """Two years before the day after `end`: 2026-10-31 -> data from 2024-11-01."""
    following = end + timedelta(days=1)
    try:
        return following.replace(year=following.year - 2)
    except ValueError:  # 29 February
        return following.replace(year=following.year - 2, day=28)


def generate_demo(
    customers: int = 5000, seed: int = 42, start: date | None = None, end: date = DEFAULT_END
) -> dict[str, pa.Table]:
    """Every canonical table of a synthetic shop with B2B accounts, deterministic by `seed`.

    Parameters
    ----------
    customers:
        Number of customers (about 10% are B2B accounts).
    seed:
        Random seed; the same seed and `customers` give identical tables.
    start, end:
        The period of the data; by default the two years ending on `end` (2026-10-31), so that
        `as_of=latest` lands on a fixed day and runs are reproducible.

    Returns
    -------
    dict of table name -> pyarrow.Table, in the canonical column names; `customers.persona` is the latent
    persona that drove each customer's behaviour (ground truth for tests and demos).
    """
    start = start or _default_start(end)
    parts: dict[str, list[pa.Table]] = {name: [] for name in TABLE_NAMES}
    for chunk in iter_demo_chunks(customers, seed, start, end):
        for name, table in chunk.items():
            parts[name].append(table)
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}


def write_demo_parquet(
    folder: str | Path,
    customers: int = 5000,
    seed: int = 42,
    start: date | None = None,
    end: date = DEFAULT_END,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Path]:
    """Write the demo tables as `<folder>/<table>.parquet`, chunk by chunk (memory bounded by `CHUNK`).

    `progress(done, total)` is called after each chunk with customer counts. Returns table -> file path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    start = start or _default_start(end)
    paths = {name: folder / f"{name}.parquet" for name in TABLE_NAMES}
    writers: dict[str, pq.ParquetWriter] = {}
    done = 0
    try:
        for chunk in iter_demo_chunks(customers, seed, start, end):
            for name, table in chunk.items():
                if name not in writers:
                    writers[name] = pq.ParquetWriter(paths[name], table.schema, compression="zstd")
                writers[name].write_table(table.cast(writers[name].schema))
            done += chunk["customers"].num_rows
            if progress is not None:
                progress(done, customers)
    finally:
        for writer in writers.values():
            writer.close()
    return paths
