"""The analyst's and the customer-success manager's daily work, driven end to end in a real headless Chromium
against a real server (issue 19): find a customer and see why they are in a segment; export the members a
segment page shows; see a segment's size over time; open the customers who moved between two segments and make
tasks for them; edit, preview, save and run a definition; work through and close tasks. Each in English,
Ukrainian and Russian, on a desktop and at phone width (390 px, where no page may be wider than the screen).
Screenshots go to test-artifacts/web/workflows/."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from segmentum.store import snapshots as snapshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if CHROMIUM is None or not Path(CHROMEDRIVER).exists():
    pytest.skip(
        "headless Chromium is not installed (apt-get install chromium chromium-driver, or `make browser-deps`)",
        allow_module_level=True,
    )

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web" / "workflows"
USER, PASSWORD = "anna", "correct horse battery"  # made by build_workspace in conftest.py
DESKTOP, PHONE = (1400, 1000), (390, 844)
# (language, window): every workflow in each language, at phone width in each language too
SETTINGS = [
    pytest.param("en", DESKTOP, id="en"),
    pytest.param("uk", DESKTOP, id="uk"),
    pytest.param("ru", DESKTOP, id="ru"),
    pytest.param("en", PHONE, id="en-390"),
    pytest.param("uk", PHONE, id="uk-390"),
    pytest.param("ru", PHONE, id="ru-390"),
]
WHY = {"en": "is in", "uk": "належить до", "ru": "входит в"}  # the member verdict of explain


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="segmentum-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver: webdriver.Chrome, condition, timeout: float = 30):  # type: ignore[no-untyped-def]
    # a form posts and the page reloads: an element found just before may be gone when it is read, so the
    # condition is asked again rather than failing on the old page's element
    return WebDriverWait(
        driver, timeout, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
    ).until(condition)


def start(driver: webdriver.Chrome, url: str, lang: str, size: tuple[int, int]) -> None:
    """Sign in at this window size and pick the language (it sticks in a cookie)."""
    driver.set_window_size(*size)
    driver.delete_all_cookies()
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "user").send_keys(USER)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, lambda d: d.find_elements(By.ID, "nav-overview"))
    driver.get(f"{url}/?lang={lang}")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang


def fits(driver: webdriver.Chrome, where: str) -> None:
    """No page is wider than the window: wide tables scroll inside their card."""
    wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    culprits = driver.execute_script(
        """return Array.from(document.querySelectorAll('body *'))
             .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.parentElement.closest('.scroll'))
             .slice(0, 8).map((e) => e.tagName + '#' + e.id + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().width) + ':' + getComputedStyle(e).overflowX)"""
    )
    assert wide <= 1, f"{where}: the page is {wide}px wider than the window ({culprits})"


def shot(driver: webdriver.Chrome, lang: str, size: tuple[int, int], name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{lang}-{size[0]}-{name}.png"))


def charts_drawn(driver: webdriver.Chrome) -> int:
    divs = driver.find_elements(By.CSS_SELECTOR, "div.plotly-graph-div")
    for div in divs:
        wait(driver, lambda d, div=div: div.find_elements(By.CSS_SELECTOR, ".main-svg"))
    return len(divs)


@pytest.mark.parametrize(("lang", "size"), SETTINGS)
def test_find_a_customer_and_see_why_they_are_in_a_segment(browser, dashboard, lang, size) -> None:  # type: ignore[no-untyped-def]
    start(browser, dashboard.url, lang, size)
    shot(browser, lang, size, "overview")
    fits(browser, "overview")
    search = browser.find_element(By.ID, "header-search")
    search.send_keys("Customer 1", Keys.ENTER)
    count = wait(browser, lambda d: d.find_element(By.ID, "match-count"))
    assert "11" in count.text  # Customer 1 and 10-19, and it says how many
    fits(browser, "customer search")
    browser.find_element(By.CSS_SELECTOR, "#found a").click()
    wait(browser, lambda d: d.find_elements(By.ID, "summary"))
    fits(browser, "customer")
    why = browser.find_elements(By.CSS_SELECTOR, "#current a.why")
    assert why, "no why? link beside the customer's segments"
    why[0].click()
    verdict = wait(browser, lambda d: d.find_element(By.ID, "explain-verdict"))
    assert WHY[lang] in verdict.text
    assert browser.find_elements(By.CSS_SELECTOR, "#explain-checks .held-yes")
    shot(browser, lang, size, "customer")


@pytest.mark.parametrize(("lang", "size"), SETTINGS)
def test_export_the_members_a_segment_shows_and_see_its_size_over_time(
    browser, dashboard, lang, size
) -> None:  # type: ignore[no-untyped-def]
    start(browser, dashboard.url, lang, size)
    browser.get(f"{dashboard.url}/segments/value_tier.low")
    assert charts_drawn(browser) >= 1  # size over time
    browser.find_element(By.CSS_SELECTOR, "#size summary").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#size-table tr")) == 3  # header + two runs
    field = browser.find_element(By.ID, "member-q")
    field.send_keys("PL", Keys.ENTER)
    wait(browser, lambda d: "q=PL" in d.current_url)
    browser.find_element(By.CSS_SELECTOR, "#choose-columns summary").click()  # add a trait to the table
    browser.find_element(By.CSS_SELECTOR, ".column-choice[value=revenue_365d]").click()
    browser.find_element(By.ID, "apply-columns").click()
    wait(browser, lambda d: "cols=" in d.current_url and "q=PL" in d.current_url)
    sort = [a for a in browser.find_elements(By.CSS_SELECTOR, "#members a.sort") if a.text == "revenue_365d"]
    sort[0].click()  # ascending, then descending
    wait(browser, lambda d: "sort=revenue_365d" in d.current_url)
    [
        a
        for a in browser.find_elements(By.CSS_SELECTOR, "#members a.sort")
        if a.text.startswith("revenue_365d")
    ][0].click()
    wait(browser, lambda d: "desc=1" in d.current_url)
    fits(browser, "segment")
    shot(browser, lang, size, "segment")
    shown = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#members td:first-child a")]
    headers = [a.text.rstrip(" ↑↓") for a in browser.find_elements(By.CSS_SELECTOR, "#members th a")]
    href = browser.find_element(By.ID, "export-csv").get_attribute("href")
    text = browser.execute_async_script(
        "const done = arguments[1]; fetch(arguments[0]).then((r) => r.text()).then(done);", href
    )
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][1:] == headers[1:]  # the columns the table shows, in its order
    assert [r[0] for r in rows[1:]] == shown  # the rows it shows (one page here), in its order
    assert all(r[headers.index("country")] == "PL" for r in rows[1:])


@pytest.mark.parametrize(("lang", "size"), SETTINGS)
def test_open_the_customers_who_moved_and_create_tasks_for_them(browser, dashboard, lang, size) -> None:  # type: ignore[no-untyped-def]
    ws = dashboard.ws
    start(browser, dashboard.url, lang, size)
    browser.get(f"{dashboard.url}/migration?segmentation=value_tier")
    assert charts_drawn(browser) == 1
    fits(browser, "migration")
    shot(browser, lang, size, "migration")
    flow = browser.find_element(By.CSS_SELECTOR, "#flows a.open-flow")  # the biggest move
    flow.click()
    count = int(
        wait(browser, lambda d: d.find_element(By.ID, "moved-count"))
        .text.replace("\u202f", "")
        .replace(",", "")
    )
    listed = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#moved td:first-child a")]
    assert len(listed) == count > 0
    fits(browser, "moved customers")
    title = browser.find_element(By.ID, "task-title")
    title.clear()
    title.send_keys(f"Win back ({lang} {size[0]})")
    browser.find_element(By.ID, "create-tasks-button").click()
    wait(browser, lambda d: d.find_elements(By.ID, "tasks-created"))
    shot(browser, lang, size, "moved")
    made = ws.store.query(
        "SELECT customer_id FROM segmentum.tasks WHERE title = ? ORDER BY customer_id",
        [f"Win back ({lang} {size[0]})"],
    )
    assert [r[0] for r in made] == sorted(listed)


@pytest.mark.parametrize(("lang", "size"), SETTINGS)
def test_work_through_and_close_tasks(browser, dashboard, lang, size) -> None:  # type: ignore[no-untyped-def]
    from segmentum.actions.tasks import create_tasks

    ws = dashboard.ws
    title = f"Check in ({lang} {size[0]})"
    ids = create_tasks(ws, ["c003", "c004"], title, reason={"event": "entered", "segment": "big_spenders"})
    start(browser, dashboard.url, lang, size)
    browser.get(f"{dashboard.url}/tasks")
    Select(browser.find_element(By.NAME, "segment")).select_by_value("big_spenders")
    Select(browser.find_element(By.NAME, "sort")).select_by_value("-value")
    browser.find_element(By.ID, "apply-filters").click()
    wait(browser, lambda d: "segment=big_spenders" in d.current_url)
    fits(browser, "tasks")
    shot(browser, lang, size, "tasks")
    row = browser.find_element(By.ID, f"task-{ids[0]}")
    row.find_element(By.CSS_SELECTOR, "input[name=assignee]").clear()
    row.find_element(By.CSS_SELECTOR, "input[name=assignee]").send_keys("olha")
    row.find_element(By.CSS_SELECTOR, "button.assign-button").click()
    wait(browser, lambda d: d.find_element(By.ID, f"assignee-{ids[0]}").get_attribute("value") == "olha")
    row = browser.find_element(By.ID, f"task-{ids[0]}")
    row.find_element(By.CSS_SELECTOR, "input[name=note]").send_keys("Called: all good")
    row.find_element(By.CSS_SELECTOR, "button.complete").click()
    wait(browser, lambda d: d.find_elements(By.ID, "undo"))
    done = ws.store.query("SELECT status, note, completed_by FROM segmentum.tasks WHERE id = ?", [ids[0]])
    assert done == [("done", "Called: all good", USER)]
    browser.find_element(By.ID, "undo").click()  # a slip: undo it
    wait(browser, lambda d: d.find_elements(By.ID, f"note-{ids[0]}"))
    assert ws.store.query("SELECT status FROM segmentum.tasks WHERE id = ?", [ids[0]]) == [("open",)]
    for task_id in ids:
        browser.find_element(By.CSS_SELECTOR, f"#task-{task_id} button.complete").click()
        wait(
            browser,
            lambda d, task_id=task_id: (
                ws.store.query("SELECT status FROM segmentum.tasks WHERE id = ?", [task_id]) == [("done",)]
            ),
        )
        wait(browser, lambda d, task_id=task_id: not d.find_elements(By.ID, f"task-{task_id}"))
    assert ws.store.query(
        "SELECT count(*) FROM segmentum.tasks WHERE title = ? AND status = 'done'", [title]
    ) == [(2,)]


# after the others: it adds a run to the module's workspace
@pytest.mark.parametrize(("lang", "size"), SETTINGS)
def test_edit_preview_save_and_run_a_definition(browser, dashboard, lang, size) -> None:  # type: ignore[no-untyped-def]
    ws = dashboard.ws
    path = ws.root / "definitions" / "shop.yml"
    original = path.read_text(encoding="utf-8")
    runs = len(snapshot.list_runs(ws.store))
    start(browser, dashboard.url, lang, size)
    browser.get(f"{dashboard.url}/editor?file=shop.yml")
    preview = browser.find_element(By.ID, "preview")
    wait(browser, lambda d: preview.get_attribute("data-state") == "valid")
    fits(browser, "editor")
    area = browser.find_element(By.ID, "definition-text")
    edited = original.replace("revenue_365d >= 1000", "revenue_365d >= 400")
    browser.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));", area, edited
    )
    assert browser.find_element(By.ID, "unsaved").is_displayed()
    row = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".preview-row[data-name='big_spenders']"))
    assert int(row.get_attribute("data-after")) > int(row.get_attribute("data-before"))
    assert browser.find_elements(By.CSS_SELECTOR, "#preview a.sample")  # sample ids open the customer
    shot(browser, lang, size, "editor")
    try:
        browser.find_element(By.ID, "save").click()
        wait(browser, lambda d: d.find_elements(By.ID, "run-now"))
        assert "revenue_365d >= 400" in path.read_text(encoding="utf-8")
        browser.find_element(By.ID, "run-now").click()
        wait(browser, lambda d: d.find_elements(By.ID, "run-started"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
            len(snapshot.list_runs(ws.store)) > runs and snapshot.list_runs(ws.store)[0].status != "running"
        ):
            time.sleep(0.5)
        newest = snapshot.list_runs(ws.store)[0]
        assert len(snapshot.list_runs(ws.store)) == runs + 1 and newest.status == "complete"
    finally:
        path.write_text(original, encoding="utf-8")
