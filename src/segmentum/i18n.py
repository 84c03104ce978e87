"""Translations for the HTML report and the dashboard (English, Ukrainian, Russian).

Catalogs are gettext-style: `locales/<lang>.json` maps the English message id to its translation; a
missing entry falls back to English. Numbers and dates are formatted for the locale.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = {"en": "English", "uk": "Українська", "ru": "Русский"}
LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_ELSE = "other"  # the `else` segment segmentum names when a segmentation names none (spec.models)
COMMA_DECIMAL = ("uk", "ru")  # languages written 1 234,5 and 01.12.2026

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
# Plotly's toolbar and messages (its locale bundles are not shipped offline: the dictionary is made here)
PLOTLY_MESSAGES = (
    "Download plot as a png",
    "Download plot",
    "Zoom",
    "Pan",
    "Box Select",
    "Lasso Select",
    "Zoom in",
    "Zoom out",
    "Autoscale",
    "Reset axes",
    "Reset view",
    "Reset",
    "Toggle Spike Lines",
    "Show closest data on hover",
    "Compare data on hover",
    "Produced with Plotly.js",
    "Double-click to zoom back out",
    "Snapshot succeeded",
    "Taking snapshot - this may take a few seconds",
)


ACRONYMS = frozenset({"rfm", "abc", "nps", "csat", "clv", "vip", "b2b", "b2c", "ltv", "aov"})


def humanise(name: str) -> str:
    """A readable title of a segment or segmentation name: `rfm.at_risk` -> 'At risk', `rfm` -> 'RFM'."""
    words = [w.upper() if w.lower() in ACRONYMS else w for w in name.rpartition(".")[2].split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else name


@cache
def catalog(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    path = LOCALES_DIR / f"{lang}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def check_language(lang: str) -> str:
    from segmentum.errors import ConfigError

    if lang not in LANGUAGES:
        raise ConfigError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return lang


class Translator:
    """`t("Segments")` -> the translation; also formats numbers, percents, money and dates."""

    def __init__(self, lang: str = "en") -> None:
        self.lang = check_language(lang)
        self._catalog = catalog(self.lang)

    def __call__(self, message: str, **values: Any) -> str:
        text = self._catalog.get(message, message)
        return text.format(**values) if values else text

    def maybe(self, text: Any) -> Any:
        """`text` translated when the catalog has it (a built-in's title, a run's status), else as it is:
        for values that may be user data (a segment name of one's own is not translated)."""
        return self._catalog.get(text, text) if isinstance(text, str) else text

    def label(self, name: Any, shown: Any = None) -> Any:
        """The title of a built-in segmentation or segment id (`rfm`, `rfm.champions`) in this language, else
        `shown` (default the id): the user's own names are shown as they wrote them."""
        title = self._catalog.get(name) if isinstance(name, str) else None
        if not title and isinstance(name, str) and name.rpartition(".")[2] == DEFAULT_ELSE:
            title = self._catalog.get("(other)")  # a segmentation's default `else`, named by segmentum
        return title if title else (name if shown is None else shown)

    def title(self, name: str) -> str:
        """The one title of a segment or segmentation (`rfm.at_risk`, `rfm`) shown to people: a built-in's
        translated title, else a readable form of the name ('At risk'); `(new)` and `(gone)` in the language."""
        return str(self.label(name, self.maybe(humanise(name))))

    def money(self, value: Any, currency: str, *, signed: bool = False) -> str:
        """An amount in whole units of `currency` (the workspace's), with a + or − when `signed`."""
        if value is None or (isinstance(value, float) and value != value):
            return "—"
        text = self.number(abs(value) if signed else value)
        sign = ("+" if value > 0 else "−" if value < 0 else "") if signed else ""
        return f"{sign}{text}\u00a0{currency}"

    def signed(self, value: Any) -> str:
        """A change with its sign: +12, −3, 0; — when unknown."""
        if value is None or (isinstance(value, float) and value != value):
            return "—"
        return ("+" if value > 0 else "−" if value < 0 else "") + self.number(abs(value))

    @property
    def separators(self) -> str:
        """Plotly's `separators`: the decimal mark, then the thousands separator."""
        return ",\u202f" if self.lang in COMMA_DECIMAL else ".,"

    def plotly_locale(self) -> dict[str, Any] | None:
        """Plotly's locale for this language (`Plotly.register`): the toolbar's messages, month and day names,
        separators and dates as 01.12.2026; None for English (Plotly's own)."""
        if self.lang == "en":
            return None
        months = [self(m) for m in MONTHS]
        days = [self(d) for d in DAYS]
        return {
            "moduleType": "locale",
            "name": self.lang,
            "dictionary": {m: self(m) for m in PLOTLY_MESSAGES if m in self._catalog},
            "format": {
                "days": days,
                "shortDays": [self(f"{d[:3]}.") for d in DAYS],
                "months": months,
                "shortMonths": [self(f"{m[:3]}.") for m in MONTHS],
                "date": "%d.%m.%Y",
                "decimal": ",",
                "thousands": "\u202f",
            },
        }

    def month(self, value: date | datetime) -> str:
        """`value`'s month and year in words: `December 2026`, `грудень 2026`."""
        return f"{self(MONTHS[value.month - 1])} {value.year}"

    def lift(self, value: Any) -> str:
        """A lift (ratio of rates) with two decimals, `1.35` / `1,35`."""
        return self.number(value, 2)

    def number(self, value: Any, digits: int = 0) -> str:
        if value is None:
            return "—"
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value)
        text = f"{number:,.{digits}f}"
        if self.lang in COMMA_DECIMAL:  # 1 234 567,89 with a narrow no-break space
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def percent(self, value: Any, digits: int = 1) -> str:
        if value is None:
            return "—"
        return self.number(float(value) * 100, digits) + ("\u00a0%" if self.lang in COMMA_DECIMAL else "%")

    def date(self, value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            return value.strftime("%d.%m.%Y") if self.lang in COMMA_DECIMAL else value.isoformat()
        return str(value)
