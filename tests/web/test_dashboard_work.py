"""The pages' work (issue 19): the overview leads with what changed, the segment page's members table, plain
language beside definitions, migration cells that open their customers, the customer's summary, the task
queue and the editor's helpers; on a real workspace served by a real server (tests/web/conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from segmentum.i18n import Translator
from segmentum.store.snapshots import traits_table
from segmentum.views.changes import humanise, run_changes

pytestmark = pytest.mark.slow
USER, PASSWORD = "anna", "correct horse battery"  # tests/web/conftest.py's user


@contextmanager
def signed_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=120) as client:
        assert client.post("/login", data={"user": USER, "password": PASSWORD}).status_code == 303
        yield client


def text_of(html: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))  # keeps no-break spaces


def test_run_changes_compare_each_segment_with_its_previous_run(dashboard) -> None:
    ws = dashboard.ws
    changes = run_changes(ws)
    seg = changes.segments.set_index("name")
    before = dict(
        ws.store.query("SELECT name, count(*) FROM segmentum.memberships WHERE run_id = 1 GROUP BY name")
    )
    after = dict(
        ws.store.query("SELECT name, count(*) FROM segmentum.memberships WHERE run_id = 2 GROUP BY name")
    )
    for name in ("value_tier.vip", "value_tier.regular", "value_tier.low", "big_spenders"):
        assert seg.loc[name, "previous"] == before.get(name, 0)
        assert seg.loc[name, "customers"] == after.get(name, 0)
        assert seg.loc[name, "change"] == after.get(name, 0) - before.get(name, 0)
    # definition order, not name order: vip, regular, low as written in shop.yml
    tier = [n for n in changes.segments["name"] if n.startswith("value_tier.")]
    assert tier == ["value_tier.vip", "value_tier.regular", "value_tier.low", "value_tier.other"]
    movers = changes.movers()
    assert list(movers["change"].abs()) == sorted(movers["change"].abs(), reverse=True)
    assert humanise("rfm.at_risk") == "At risk"
    assert (humanise("rfm"), humanise("value_tier.vip")) == ("RFM", "VIP")


def test_the_overview_leads_with_what_changed_in_definition_order(dashboard) -> None:
    with signed_in(dashboard.url) as client:
        html = client.get("/?lang=en").text
    assert "chart-overview" not in html  # the treemap of every segmentation is gone
    text = text_of(html)
    assert text.index("What changed since the previous run") < text.index("Value tier")
    movers = html[html.index('id="movers"') : html.index("</table>", html.index('id="movers"'))]
    assert "VIP" in movers or "Regular" in movers or "Low" in movers
    tier = html[html.index("<h2>Value tier</h2>") :]
    assert tier.index(">VIP<") < tier.index(">Regular<") < tier.index(">Low<")
    assert "\u00a0USD" in html  # revenue in the workspace's currency
    assert 'id="open-tasks"' in html


def test_the_segment_page_shows_its_rule_in_words_and_its_own_traits_first(dashboard) -> None:
    with signed_in(dashboard.url) as client:
        html = client.get("/segments/value_tier.vip?lang=en").text
        words = text_of(html[html.index('id="definition-words"') :][:400])
        assert "total amount of orders in the last 365 days is at least 1,500" in words
        assert "revenue_365d &gt;= 1500" in html  # the YAML rule beside the words
        header = html[html.index('id="members"') : html.index("</tr>", html.index('id="members"'))]
        columns = re.findall(r'class="sort">([^<]+)<', header)
        assert columns[:2] == ["Customer", "revenue_365d"]  # the rule's own trait first
        uk = text_of(client.get("/segments/value_tier.vip?lang=uk").text)
        assert "сума замовлень за останні 365 днів не менше 1\u202f500" in uk, uk[uk.index("Хто входить") :][
            :300
        ]


def test_members_sort_columns_and_export_exactly_what_is_shown(dashboard) -> None:
    ws = dashboard.ws
    expected = ws.store.query(
        f"""SELECT m.customer_id, t.revenue_365d FROM segmentum.memberships m
           JOIN segmentum.{traits_table(2)} t USING (customer_id)
           WHERE m.run_id = 2 AND m.name = 'value_tier.low' AND m.customer_id IN
                 (SELECT customer_id FROM customers WHERE country = 'PL')
           ORDER BY t.revenue_365d DESC NULLS LAST, m.customer_id"""
    )
    query = "q=PL&cols=revenue_365d,country&sort=revenue_365d&desc=1"
    with signed_in(dashboard.url) as client:
        html = client.get(f"/segments/value_tier.low?{query}").text
        table = html[html.index('id="members"') : html.index("</table>", html.index('id="members"'))]
        ids = re.findall(r'href="/customers/([^"]+)"', table)
        assert ids == [r[0] for r in expected][: len(ids)] and ids
        assert 'aria-sort="descending"' in table
        assert "members.csv?q=PL&amp;cols=revenue_365d%2Ccountry&amp;sort=revenue_365d&amp;desc=1" in html
        csv = client.get(f"/segments/value_tier.low/members.csv?{query}").text.lstrip("\ufeff")
    lines = csv.splitlines()
    assert lines[0] == "customer_id,revenue_365d,country"
    assert [line.split(",")[0] for line in lines[1:]] == [r[0] for r in expected]


def test_a_list_value_is_shown_as_words_not_a_numpy_repr() -> None:
    import numpy as np

    from segmentum.i18n import Translator
    from segmentum.web.routes import _cell

    assert _cell(Translator("en"), np.array(["fashion", "travel", "sports"])) == "fashion, travel, sports"
    assert _cell(Translator("uk"), [1500, 2]) == "1\u202f500, 2"


def test_describe_reads_rules_as_sentences_in_each_language(dashboard) -> None:
    from segmentum.i18n import Translator
    from segmentum.spec.describe import describe_segment

    defs = dashboard.ws.definitions()
    big = defs.segments["big_spenders"]
    vip = next(s for s in defs.segmentations["value_tier"].segments if s.segment == "vip")
    other = defs.segmentations["value_tier"].else_segment
    # a trait's own description wins over generated words
    assert describe_segment(big, defs.traits, Translator("en")) == (
        "total amount of orders in the last 365 days is at least 1,000"
    )
    assert describe_segment(vip, defs.traits, Translator("ru")) == (
        "общая сумма заказов за последние 365 дней не меньше 1\u202f500"
    )
    assert describe_segment(other, defs.traits, Translator("en")) == "everyone the rules above leave"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found
    return found.group(1)


def test_tasks_work_as_a_queue_assign_close_with_a_note_and_undo(dashboard) -> None:
    from segmentum.actions.tasks import create_tasks, get_task
    from segmentum.views.tasks import task_counts, tasks

    ws = dashboard.ws
    ids = create_tasks(
        ws, ["c002", "c050"], "Win them back", reason={"event": "entered", "segment": "value_tier.low"}
    )
    assert len(ids) == 2
    queue = tasks(ws, status="open", segment="value_tier.low", sort="-value")
    assert [t["id"] for t in queue["tasks"]] == sorted(ids, key=lambda i: -float(get_value(ws, i)))
    assert task_counts(ws)["open"] >= 2
    assert tasks(ws, status="open", due="none", segment="value_tier.low")["total"] == 2
    assert tasks(ws, status="open", assignee="", segment="value_tier.low")["total"] == 2  # nobody's yet
    first = ids[0]
    with signed_in(dashboard.url) as client:
        page = client.get("/tasks?segment=value_tier.low&lang=en").text
        assert "entered Low (value_tier.low)" in text_of(page)
        assert "\u00a0USD" in page  # the customer's value on each task
        token = csrf_of(page)
        back = "/tasks?segment=value_tier.low"
        r = client.post(
            f"/tasks/{first}/assign", data={"csrf_token": token, "assignee": "olha", "back": back}
        )
        assert r.status_code == 303 and r.headers["location"] == back
        assert get_task(ws, first)["assignee"] == "olha"
        r = client.post(
            f"/tasks/{first}/complete",
            data={"csrf_token": token, "note": "Called, coming back", "back": back},
        )
        assert r.headers["location"] == back + f"&undo={first}"
        done = get_task(ws, first)
        assert (done["status"], done["completed_by"], done["note"]) == ("done", USER, "Called, coming back")
        assert done["completed_at"] is not None
        listed = client.get(r.headers["location"] + "&status=done").text
        assert 'id="undo"' in listed and "Called, coming back" in listed
        client.post(f"/tasks/{first}/reopen", data={"csrf_token": token, "back": back})
        again = get_task(ws, first)
        assert (again["status"], again["completed_at"], again["note"]) == ("open", None, None)
        # off-site "back" never leaves the task list
        r = client.post(
            f"/tasks/{first}/assign", data={"csrf_token": token, "assignee": "x", "back": "//evil"}
        )
        assert r.headers["location"] == "/tasks"
    ws.store.cursor().execute("DELETE FROM segmentum.tasks WHERE id IN (SELECT unnest(?::BIGINT[]))", [ids])


def get_value(ws, task_id: int) -> float:  # type: ignore[no-untyped-def]
    row = ws.store.query(
        """SELECT coalesce(sum(o.amount), 0) FROM segmentum.tasks t LEFT JOIN orders o
           ON o.customer_id = t.customer_id AND o.status <> 'cancelled' WHERE t.id = ?""",
        [task_id],
    )
    return float(row[0][0])


def test_a_migration_cell_opens_its_customers_exports_them_and_makes_tasks(dashboard) -> None:
    from segmentum.analysis import migration

    ws = dashboard.ws
    result = migration(ws, "value_tier")
    moved = result["flows"][result["flows"]["from_segment"] != result["flows"]["to_segment"]]
    cell = moved.sort_values("customers", ascending=False).iloc[0]
    a, b = str(cell.from_segment), str(cell.to_segment)
    expected = list(migration(ws, "value_tier", who=(a, b))["customers"]["customer_id"])
    origin = int(result["flows"].loc[result["flows"]["from_segment"] == a, "customers"].sum())
    with signed_in(dashboard.url) as client:
        page = client.get("/migration?segmentation=value_tier&lang=en").text
        assert "2024-06-30 → 2024-12-31" in text_of(page)  # run dates, not run numbers
        flows = page[page.index('id="flows"') :]
        assert f"{100 * len(expected) / origin:.1f}%" in flows  # % of the origin segment
        links = re.findall(r'href="(/migration/customers\?[^"]+)"', flows)
        link = next(u for u in links if f"from={a}&amp;to={b}" in u).replace("&amp;", "&")
        opened = client.get(link).text
        listed = re.findall(r'<tr><td><a href="/customers/([^"]+)"', opened)
        assert listed == expected
        csv = client.get(link.replace("/migration/customers?", "/migration/customers.csv?")).text
        assert [line.split(",")[0] for line in csv.lstrip("\ufeff").splitlines()[1:]] == expected
        token = csrf_of(opened)
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', opened))
        form |= {"csrf_token": token, "title": "Ask why", "assignee": "olha", "due_days": "3"}
        r = client.post("/migration/tasks", data=form)
        assert r.status_code == 303 and f"created={len(expected)}" in r.headers["location"]
        # the tasks lead back to the same cell the page showed (one address of a migration cell)
        back = dict(parse_qsl(urlsplit(r.headers["location"]).query))
        assert back.pop("created") == str(len(expected))
        assert back == dict(parse_qsl(urlsplit(link).query))
    made = ws.store.query(
        "SELECT customer_id, assignee, due_at IS NOT NULL, json_extract_string(reason, '$.from') "
        "FROM segmentum.tasks WHERE title = 'Ask why' ORDER BY customer_id"
    )
    assert [r[0] for r in made] == sorted(expected)
    assert {(r[1], r[2], r[3]) for r in made} == {("olha", True, a)}
    ws.store.cursor().execute("DELETE FROM segmentum.tasks WHERE title = 'Ask why'")


def test_the_customer_page_leads_with_a_summary_and_a_why_beside_each_segment(dashboard) -> None:
    ws = dashboard.ws
    current = sorted(
        r[0]
        for r in ws.store.query(
            "SELECT name FROM segmentum.memberships WHERE run_id = 2 AND customer_id = 'c001'"
        )
    )
    with signed_in(dashboard.url) as client:
        html = client.get("/customers/c001?lang=en").text
        summary = html[html.index('id="summary"') : html.index('id="explain"')]
        assert "Customer 1" in summary and "\u00a0USD" in summary  # who and what they are worth
        for name in current:
            assert f'href="?explain={name}#explain"' in summary  # a why? link beside every segment
        # the details are folded, and explain picks a segment from a list
        assert "<details" in html[html.index('id="explain"') :]
        assert '<select id="explain-choice" name="explain">' in html
        uk = client.get("/customers/c001?lang=uk").text
        change = text_of(uk[uk.index('id="latest-change"') :][:600])
        assert "31.12.2024" in change and "23:59" not in change  # the date as the language writes it
        # c001 moved in the lifecycle: its segments, and the segmentation they belong to, read by their uk titles
        uk_titles = Translator("uk")
        assert f"({uk_titles.label('lifecycle')})" in change and uk_titles.label("lifecycle") != "lifecycle"
        why = client.get(f"/customers/c001?explain={current[0]}&lang=en").text
        assert "is in " + current[0] in text_of(why)
        found = client.get("/customers?q=Customer 1&lang=en").text
        assert re.search(r"(\d+) customers match", text_of(found))
        count = int(re.search(r"(\d+) customers match", text_of(found)).group(1))  # type: ignore[union-attr]
        assert count == 11  # Customer 1, 10-19
        assert "Customer 12" in found


def test_the_timeline_shows_only_the_runs_that_changed_something() -> None:
    from segmentum.web.routes import _changes

    history = [
        {"run_id": 1, "as_of": "2024-01-31", "kind": "batch", "segments": ["a", "b"]},
        {"run_id": 2, "as_of": "2024-02-29", "kind": "batch", "segments": ["b", "a"]},
        {"run_id": 3, "as_of": "2024-03-31", "kind": "batch", "segments": ["a", "c"]},
    ]
    changes = _changes(history)
    assert [c["run_id"] for c in changes] == [3, 1]
    assert (changes[0]["entered"], changes[0]["left"]) == (["c"], ["b"])


def test_every_message_of_describe_is_translated() -> None:
    from segmentum.i18n import catalog
    from segmentum.spec import describe

    messages = [
        *describe.COMPARISONS.values(),
        *describe.AGGREGATES.values(),
        *describe.UNITS.values(),
        *describe.WITHIN.values(),
    ]
    text = Path(describe.__file__).read_text(encoding="utf-8")
    messages += re.findall(r'(?<![\w.])t\(\s*"([^"]+)"', text)
    messages += re.findall(r'"(\{left\}[^"]+)"', text)
    for lang in ("uk", "ru"):
        missing = sorted({m for m in messages if m not in catalog(lang)})
        assert not missing, f"add to src/segmentum/locales/{lang}.json: {missing}"


def test_builtins_can_be_read_and_copied_into_a_new_file(dashboard) -> None:
    with signed_in(dashboard.url) as client:
        editor = client.get("/editor?lang=en").text
        assert 'href="/editor/builtins/rfm"' in editor
        page = client.get("/editor/builtins/rfm").text
        assert 'id="builtin-yaml"' in page and "segmentations:" in page
        copied = client.get("/editor?file=my_rfm.yml&copy=rfm").text
        assert "segmentations:" in copied[copied.index('id="definition-text"') :]
        assert not (dashboard.ws.root / "definitions" / "my_rfm.yml").exists()  # nothing saved before Save
        assert client.get("/editor/builtins/nope").status_code == 404


PAGES = {
    "overview": "/",
    "segment": "/segments/value_tier.vip",
    "migration": "/migration?segmentation=value_tier",
    "customers": "/customers?q=Customer",
    "customer": "/customers/c001",
    "tasks": "/tasks",
    "editor": "/editor?file=shop.yml",
}


@pytest.mark.parametrize("page", list(PAGES))
def test_pages_label_every_input_mark_the_active_page_and_offer_a_skip_link(dashboard, page: str) -> None:
    with signed_in(dashboard.url) as client:
        html = client.get(PAGES[page] + ("&" if "?" in PAGES[page] else "?") + "lang=uk").text
    assert '<a class="skip" href="#main">' in html and '<main id="main"' in html
    active = re.findall(r'<a href="[^"]*" class="active" aria-current="page" id="nav-(\w+)"', html)
    assert len(active) <= 1 and (page == "segment" or active)
    labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
    # an input is labelled by <label for>, by aria-label, or by the <label> around it
    for match in re.finditer(r"<(input|select|textarea)\b([^>]*)>", html):
        attrs = match.group(2)
        if re.search(r'type="(hidden|submit)"', attrs):
            continue
        ident = re.search(r'\bid="([^"]+)"', attrs)
        inside = html.rfind("<label", 0, match.start()) > html.rfind("</label>", 0, match.start())
        assert "aria-label=" in attrs or (ident and ident.group(1) in labelled) or inside, (page, attrs)
    # every chart has a table beside it
    charts = len(re.findall(r'class="plotly-graph-div"', html))
    tables = {
        "overview": ["rfm-table", "pareto-table"],
        "segment": ["size-table"],
        "migration": ["matrix"],
    }.get(page, [])
    assert charts == len(tables)
    for table in tables:
        assert f'id="{table}"' in html, (page, table)


# last in this module: it adds a run to the module's workspace
def test_run_now_after_saving_starts_a_batch_run(dashboard) -> None:
    import time

    from segmentum.store import snapshots as snapshot

    ws = dashboard.ws
    before = len(snapshot.list_runs(ws.store))
    with signed_in(dashboard.url) as client:
        saved = client.get("/editor?file=shop.yml&saved=1&lang=en").text
        assert 'id="run-now"' in saved
        r = client.post("/editor/run", data={"csrf_token": csrf_of(saved), "file": "shop.yml"})
        assert r.status_code == 303 and "started=" in r.headers["location"]
        assert "Run started" in client.get(r.headers["location"]).text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = snapshot.list_runs(ws.store)
        if len(runs) > before and runs[0].status == "complete":
            break
        time.sleep(0.5)
    assert len(snapshot.list_runs(ws.store)) == before + 1
