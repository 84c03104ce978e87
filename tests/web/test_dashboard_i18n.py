"""The dashboard and the report speak the user's language (issue 19 item 8).

Every message the dashboard shows has a Ukrainian and a Russian translation; and the rendered pages (a real
server) and the HTML report in uk and ru hold no English word of the UI or of the built-ins: the word list is
built from the English source strings (the catalog's message ids, the templates' and routes' `t(...)` calls,
Plotly's toolbar and month names) and the built-ins' titles, descriptions, recommended actions and channels.
Ids (segment and trait names, emails, dates, numbers), user data (the workspace's customers and its own
definitions) and a short list of proper names are allowed.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentum.i18n import DAYS, MONTHS, PLOTLY_MESSAGES, Translator, catalog
from segmentum.spec.builtins import builtin_names, load_builtin

WEB = Path(__file__).resolve().parents[2] / "src" / "segmentum" / "web"
REPORT = WEB.parent / "report"
MESSAGE = re.compile(r"""(?<![\w.])t\(\s*(["'])(.+?)\1""")
WORD = re.compile(r"[A-Za-z][A-Za-z']+")
# proper names and abbreviations the languages write as they are (the language menu names English in English)
PROPER = {
    "english",
    "segmentum",
    "rfm",
    "abc",
    "clv",
    "nps",
    "csat",
    "csv",
    "excel",
    "xlsx",
    "plotly",
    "yaml",
    "api",
    "crm",
}
LANGS = ["uk", "ru"]


def messages() -> set[str]:
    found: set[str] = set()
    for path in [
        *WEB.glob("templates/*.html"),
        WEB / "routes.py",
        *REPORT.glob("*.py"),
        *REPORT.glob("templates/*"),
    ]:
        found |= {m.group(2) for m in MESSAGE.finditer(path.read_text(encoding="utf-8"))}
    return found


@pytest.mark.parametrize("lang", LANGS)
def test_every_dashboard_message_is_translated(lang: str) -> None:
    found = messages()
    assert len(found) > 50 and "Definition editor" in found
    missing = sorted(m for m in found if m not in catalog(lang))
    assert not missing, f"add to src/segmentum/locales/{lang}.json: {missing}"


def builtin_texts() -> set[str]:
    """The built-ins' titles, descriptions, recommended actions and channels, in English."""
    texts: set[str] = set()
    for name in builtin_names():
        b = load_builtin(name)
        texts |= {b.title, " ".join(b.description.split())}
        for doc in (b.docs or {}).values():
            if isinstance(doc, dict):
                texts |= {str(doc[k]) for k in ("action", "channel", "offer") if doc.get(k)}
    return texts


def english_words() -> set[str]:
    sources = {*catalog("uk"), *messages(), *builtin_texts(), *PLOTLY_MESSAGES, *MONTHS, *DAYS}
    words = {w.lower() for text in sources for w in WORD.findall(re.sub(r"\{[^}]*\}", " ", text))}
    return {w for w in words if len(w) >= 3} - PROPER


def _strings(value: Any, key: str = "") -> list[str]:
    """The text a Plotly figure shows: titles, names, labels, tick and hover texts (not colours or types)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() if k != "template" for s in _strings(v, k)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v, key)]
    if isinstance(value, str) and key in ("text", "name", "labels", "label", "ticktext", "hovertemplate"):
        return [re.sub(r"%\{[^}]*\}|<[^>]+>", " ", value)]
    return []


def shown_text(page: str) -> str:
    """What a reader sees: the text outside tags, scripts and code, attribute texts people read, and the
    figures' texts."""
    charts = []
    decoder = json.JSONDecoder()
    for match in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]*\",\s*", page):
        data, end = decoder.raw_decode(page, match.end())
        rest = page[end:].lstrip().lstrip(",").lstrip()
        layout, _ = decoder.raw_decode(rest)
        charts += _strings(data) + _strings(layout)
    attributes = re.findall(r"""(?:placeholder|title|aria-label|alt)=["']([^"']*)["']""", page)
    body = re.sub(r"(?is)<(script|style|textarea|pre|code)\b.*?</\1>", " ", page)
    body = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(" ".join([body, *attributes, *charts]))


def english_in(text: str, allowed: set[str]) -> list[str]:
    found = set()
    for token in re.split(r"[\s,;:()«»\"“”„!?·—–|\[\]]+", text):
        if not token or re.search(r"[\d_./@=#%&]", token):
            continue  # an id, an email, a date, a number, a url
        for word in WORD.findall(token):
            if word.lower() in ENGLISH and word.lower() not in allowed:
                found.add(word)
    return sorted(found)


ENGLISH = english_words()


@pytest.fixture(scope="module")
def user_data(dashboard: Any) -> set[str]:
    """Words of the workspace's own data: customers' text values and its own definitions (names, descriptions,
    actions), which are shown as the user wrote them."""
    store = dashboard.ws.store
    words: set[str] = set()
    columns = [c for c, kind in store.columns("customers").items() if "VARCHAR" in str(kind)]
    for column in columns:
        for (value,) in store.query(
            f'SELECT DISTINCT "{column}" FROM main.customers WHERE "{column}" IS NOT NULL'
        ):
            words |= {w.lower() for w in WORD.findall(str(value))}
    words |= {w.lower() for c in store.columns("customers") for w in WORD.findall(c)}  # its column names
    words |= {w.lower() for w in WORD.findall(dashboard.ws.config.name or "")}  # the workspace's name
    for title, description in store.query("SELECT title, coalesce(description, '') FROM segmentum.tasks"):
        words |= {w.lower() for w in WORD.findall(f"{title} {description}")}
    for path in (dashboard.ws.root / "definitions").glob("*.yml"):
        words |= {w.lower() for w in WORD.findall(path.read_text(encoding="utf-8"))}
    return words


def pages(dashboard: Any) -> list[str]:
    ws = dashboard.ws
    segments = [r[0] for r in ws.store.query("SELECT DISTINCT name FROM segmentum.memberships ORDER BY 1")]
    customer = ws.store.query("SELECT min(customer_id) FROM main.customers")[0][0]
    return [
        "/",
        *(f"/segments/{s}" for s in segments),
        "/customers",
        f"/customers?q={customer}",
        f"/customers/{customer}",
        "/migration",
        "/migration?segmentation=rfm",
        "/tasks",
        "/editor",
        "/lists",
        "/actions",
        "/segments/no_such_segment",  # an error shown on a page
    ]


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_no_english_on_any_page(dashboard: Any, user_data: set[str], lang: str) -> None:
    from conftest import PASSWORD, USER

    assert {"segments", "customers", "revenue", "zoom", "december"} <= ENGLISH  # the list is the real one
    problems: dict[str, list[str]] = {}
    with httpx.Client(base_url=dashboard.url, timeout=120) as web:
        login = web.get("/login", params={"lang": lang})
        problems["/login"] = english_in(shown_text(login.text), user_data)
        web.post("/login", data={"user": USER, "password": PASSWORD})
        for path in pages(dashboard):
            response = web.get(path, params={"lang": lang})
            assert response.status_code in (200, 404), (path, response.status_code)
            problems[path] = english_in(shown_text(response.text), user_data)
    problems = {path: words for path, words in problems.items() if words}
    assert not problems, (
        f"English words on {lang} pages (translate them through segmentum/i18n.py): {problems}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
def test_no_english_in_the_report(dashboard: Any, user_data: set[str], lang: str, tmp_path: Path) -> None:
    from segmentum.report import write_report

    report = write_report(dashboard.ws, tmp_path / f"report-{lang}.html", lang=lang).read_text(
        encoding="utf-8"
    )
    words = english_in(shown_text(report), user_data)
    assert not words, (
        f"English words in the {lang} report (translate them through segmentum/i18n.py): {words}"
    )


def test_english_words_are_found_and_ids_are_not() -> None:
    assert english_in("Сегменти: Revenue share 12,5 %", set()) == ["Revenue", "share"]
    assert english_in("rfm.champions big_spenders anna@example.com 01.12.2026", set()) == []
    assert english_in("Customer 7", {"customer"}) == []  # user data


@pytest.mark.parametrize("lang", LANGS)
def test_numbers_dates_lift_and_charts_follow_the_language(lang: str) -> None:
    t = Translator(lang)
    assert t.number(1234567.891, 2) == "1\u202f234\u202f567,89"
    assert t.date("2026-12-01T10:00:00") == "01.12.2026"
    assert t.lift(1.345) == "1,35" or t.lift(1.345) == "1,34"  # a decimal comma
    assert t.separators == ",\u202f"
    locale = t.plotly_locale()
    assert locale is not None and locale["format"]["date"] == "%d.%m.%Y"
    assert all(re.fullmatch(r"[^A-Za-z]+", m) for m in locale["format"]["months"]), locale["format"]["months"]
    assert set(locale["dictionary"]) == set(PLOTLY_MESSAGES)  # every toolbar message translated
    assert Translator("en").plotly_locale() is None and Translator("en").separators == ".,"


def test_charts_register_the_language_and_name_built_ins_by_their_titles() -> None:
    import pandas as pd

    from segmentum.report import charts

    t = Translator("uk")
    flows = pd.DataFrame(
        {"from_segment": ["(new)", "champions"], "to_segment": ["champions", "(gone)"], "customers": [3, 1]}
    )
    result = {"flows": flows, "segmentation": "rfm", "from_run": 1, "to_run": 2}
    fig = charts.sankey_chart(result, t)
    assert list(fig.data[0].node.label) == ["(нові)", "Чемпіони", "(вибули)", "Чемпіони"]
    assert fig.layout.separators == ",\u202f"
    div = charts.to_div(fig, "chart-migration")
    assert div.startswith("<script>if (window.Plotly) { Plotly.register(")
    assert '"locale": "uk"' in div and "грудень" in div and "Масштаб" in div
    assert "Plotly.register" not in charts.to_div(charts.sankey_chart(result, Translator("en")), "x")
    assert t.label("my_own.segment") == "my_own.segment" and t.label("value_tier.other", "other") == "(інші)"
