"""The dashboard in a real headless Chromium: sign-in, every page in each language with its charts drawn,
the live definition editor, and the offline report opened with networking switched off."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from segmentum.report import write_report

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if CHROMIUM is None or not Path(CHROMEDRIVER).exists():
    pytest.skip(
        "headless Chromium is not installed (apt-get install chromium chromium-driver, or `make browser-deps`)",
        allow_module_level=True,
    )


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
TITLES = {
    "en": ("Overview", "Tasks", "Definition editor"),
    "uk": ("Огляд", "Завдання", "Редактор визначень"),
    "ru": ("Обзор", "Задачи", "Редактор определений"),
}


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
    return WebDriverWait(driver, timeout).until(condition)


USER, PASSWORD = "anna", "correct horse battery"  # made by build_workspace in conftest.py


def sign_in(driver: webdriver.Chrome, url: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{url}/")
    assert "/login" in driver.current_url  # every page needs a session
    driver.find_element(By.ID, "user").send_keys(USER)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    wait(driver, lambda d: d.find_elements(By.ID, "nav-overview"))


def charts_drawn(driver: webdriver.Chrome) -> int:
    """Wait until every Plotly chart div on the page has drawn its SVG; return how many there are."""
    divs = driver.find_elements(By.CSS_SELECTOR, "div.plotly-graph-div")
    for div in divs:
        wait(driver, lambda d, div=div: div.find_elements(By.CSS_SELECTOR, ".main-svg"))
    return len(divs)


def test_wrong_password_is_refused_and_pages_stay_closed(browser: webdriver.Chrome, dashboard) -> None:
    browser.delete_all_cookies()
    browser.get(f"{dashboard.url}/tasks")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "user").send_keys(USER)
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.ID, "sign-in").click()
    assert "Wrong user name" in wait(browser, lambda d: d.find_element(By.ID, "login-error")).text
    browser.get(f"{dashboard.url}/customers/c001")
    assert "/login" in browser.current_url


@pytest.mark.parametrize("lang", ["en", "uk", "ru"])
def test_every_page_renders_with_its_charts_in_each_language(
    browser: webdriver.Chrome, dashboard, lang: str
) -> None:
    sign_in(browser, dashboard.url)
    overview, tasks, editor = TITLES[lang]
    pages = {
        "overview": ("/", 2),  # RFM grid, Pareto curve
        "segment": ("/segments/value_tier.vip", 1),
        "standalone": ("/segments/big_spenders", 1),
        "migration": ("/migration?segmentation=value_tier", 1),
        "customer": ("/customers/c001?explain=value_tier.vip", 0),
        "tasks": ("/tasks", 0),
        "editor": ("/editor?file=shop.yml", 0),
    }
    for name, (path, charts) in pages.items():
        browser.get(f"{dashboard.url}{path}{'&' if '?' in path else '?'}lang={lang}")
        assert browser.find_elements(By.CSS_SELECTOR, "main h1"), f"{name}: no heading"
        assert not browser.find_elements(By.ID, "page-error"), f"{name}: {browser.page_source[:500]}"
        assert browser.find_element(By.ID, "nav-overview").text == overview
        assert browser.find_element(By.ID, "nav-tasks").text == tasks
        assert browser.find_element(By.ID, "nav-editor").text == editor
        assert charts_drawn(browser) >= charts, f"{name}: charts missing"
        browser.save_screenshot(str(ARTIFACTS / f"{lang}-{name}.png"))
    # the language choice sticks (cookie) without ?lang=
    browser.get(f"{dashboard.url}/tasks")
    assert browser.find_element(By.ID, "nav-tasks").text == tasks


def test_numbers_and_dates_follow_the_language(browser: webdriver.Chrome, dashboard) -> None:
    sign_in(browser, dashboard.url)
    browser.get(f"{dashboard.url}/?lang=uk")
    text = browser.execute_script(
        "return document.querySelector('main').textContent"
    )  # keeps no-break spaces
    assert "31.12.2024" in text and "\u00a0%" in text
    browser.get(f"{dashboard.url}/?lang=en")
    text = browser.execute_script("return document.querySelector('main').textContent")
    assert "2024-12-31" in text and "%" in text and "\u00a0%" not in text


def test_segment_members_search_and_export(browser: webdriver.Chrome, dashboard) -> None:
    sign_in(browser, dashboard.url)
    browser.get(f"{dashboard.url}/segments/value_tier.low?q=PL")
    rows = browser.find_elements(By.CSS_SELECTOR, "#members tr")[1:]
    assert rows and all("PL" in r.text for r in rows)
    href = browser.find_element(By.ID, "export-csv").get_attribute("href")
    assert href.endswith("/segments/value_tier.low/members.csv?q=PL")


def test_editor_previews_as_you_type_and_saves(browser: webdriver.Chrome, dashboard) -> None:
    sign_in(browser, dashboard.url)
    browser.get(f"{dashboard.url}/editor?file=shop.yml")
    preview = browser.find_element(By.ID, "preview")
    wait(browser, lambda d: preview.get_attribute("data-state") == "valid")
    area = browser.find_element(By.ID, "definition-text")
    original = area.get_attribute("value")
    # a broken expression: the error names line:col before anything is saved
    area.send_keys(Keys.CONTROL, "a")
    area.send_keys('segments:\n  broken:\n    where: "revenue_365d >= "\n')
    wait(browser, lambda d: preview.get_attribute("data-state") == "invalid")
    assert "3:29" in browser.find_element(By.ID, "definition-error").text
    location = browser.find_element(By.ID, "error-location")
    assert location.text.endswith("3:29")
    location.click()  # puts the caret where the error is
    caret = browser.execute_script("return arguments[0].selectionStart", area)
    assert caret == len("segments:\n  broken:\n") + 28
    browser.save_screenshot(str(ARTIFACTS / "editor-invalid.png"))
    # a valid edit: the segment's size after the edit and who would enter
    edited = original.replace("revenue_365d >= 1000", "revenue_365d >= 500")
    area.send_keys(Keys.CONTROL, "a")
    area.send_keys(Keys.DELETE)
    browser.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));", area, edited
    )
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#preview-table .preview-row"))
    row = browser.find_element(By.CSS_SELECTOR, ".preview-row[data-name='big_spenders']")
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    before, after = int(cells[1]), int(cells[2])
    assert after > before and cells[3] == f"+{after - before}"
    browser.save_screenshot(str(ARTIFACTS / "editor-valid.png"))
    assert (dashboard.ws.root / "definitions" / "shop.yml").read_text(
        encoding="utf-8"
    ) == original  # not saved yet
    browser.find_element(By.ID, "save").click()
    wait(browser, lambda d: d.find_elements(By.ID, "saved"))
    saved = (dashboard.ws.root / "definitions" / "shop.yml").read_text(encoding="utf-8")
    assert "revenue_365d >= 500" in saved
    (dashboard.ws.root / "definitions" / "shop.yml").write_text(original, encoding="utf-8")


def test_tasks_can_be_completed(browser: webdriver.Chrome, dashboard) -> None:
    sign_in(browser, dashboard.url)
    browser.get(f"{dashboard.url}/tasks")
    assert "Call c001 about renewal" in browser.find_element(By.ID, "tasks").text
    browser.find_element(By.CSS_SELECTOR, "#tasks button.complete").click()
    wait(browser, lambda d: d.find_elements(By.ID, "no-tasks"))
    browser.get(f"{dashboard.url}/tasks?status=done")
    assert "Call c001 about renewal" in browser.find_element(By.ID, "tasks").text


def test_customer_page_shows_segments_explain_and_tasks(browser: webdriver.Chrome, dashboard) -> None:
    sign_in(browser, dashboard.url)
    browser.get(f"{dashboard.url}/customers/c001?explain=value_tier.vip")
    links = browser.find_elements(By.CSS_SELECTOR, "#current a.segment-link")
    current = [a.get_attribute("title") for a in links]  # the name; the link reads the segment's title
    assert any(n.startswith("value_tier.") for n in current)
    verdict = browser.find_element(By.ID, "explain-verdict").text
    member = "value_tier.vip" in current
    assert ("is in value_tier.vip" in verdict) == member
    held = browser.find_elements(By.CSS_SELECTOR, "#explain-checks .held-yes, #explain-checks .held-no")
    assert held and "revenue_365d" in browser.find_element(By.ID, "explain-checks").text
    assert "Call c001 about renewal" in browser.find_element(By.ID, "customer-tasks").text
    # the timeline (folded) holds the runs that changed something: at least the first
    browser.find_element(By.CSS_SELECTOR, "#timeline-details summary").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#timeline tr")) >= 2


def test_an_api_key_signs_in_too(browser: webdriver.Chrome, dashboard) -> None:
    browser.delete_all_cookies()
    browser.get(f"{dashboard.url}/login")
    browser.find_element(By.ID, "api_key").send_keys(dashboard.api_key)
    browser.find_element(By.ID, "sign-in").click()
    wait(browser, lambda d: d.find_elements(By.ID, "nav-overview"))
    browser.find_element(By.ID, "sign-out").click()
    wait(browser, lambda d: "/login" in d.current_url)


def test_offline_report_draws_every_chart_with_networking_off(browser: webdriver.Chrome, dashboard) -> None:
    target = write_report(dashboard.ws, ARTIFACTS / "report.html")
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    try:
        browser.get(target.as_uri())
        assert charts_drawn(browser) >= 3
        for chart in (
            "chart-rfm",
            "chart-pareto",
            "chart-migration",
        ):  # no treemap of segmentations (issue 19)
            assert browser.find_elements(By.CSS_SELECTOR, f"#{chart} .main-svg"), chart
        browser.save_screenshot(str(ARTIFACTS / "report.png"))
    finally:
        browser.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
