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

    def number(self, value: Any, digits: int = 0) -> str:
        if value is None:
            return "—"
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value)
        text = f"{number:,.{digits}f}"
        if self.lang in ("uk", "ru"):  # 1 234 567,89 with a narrow no-break space
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def percent(self, value: Any, digits: int = 1) -> str:
        if value is None:
            return "—"
        return self.number(float(value) * 100, digits) + ("\u00a0%" if self.lang in ("uk", "ru") else "%")

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
            return value.strftime("%d.%m.%Y") if self.lang in ("uk", "ru") else value.isoformat()
        return str(value)
