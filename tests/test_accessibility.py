"""axe-core over every extension page a person sees — popup, tool runner, options, chat panel, welcome, logs — in light
and dark mode, with the real host behind them: no serious or critical violation. Also saves the popup and the
panel in both schemes in artifacts/screenshots/ (docs/screens/ is tests/test_screens.py's). The browser is shared
with tests/test_screens.py (tests/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By

from devkit import axe
from devkit.browser import ARTIFACTS, card_text, extension_page, screenshot, wait_until
from tests.support.processes import ROOT

SCHEMES = ("light", "dark")
FINDINGS = ROOT / "artifacts" / "accessibility.json"


@pytest.fixture
def browser(product):
    """The shared browser (tests/conftest.py), also used by tests/test_screens.py."""
    return product.driver


def scheme(driver, name: str) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": name}]}
    )


def popup_ready(driver) -> None:
    wait_until(lambda: "Connected" in card_text(driver, "sqlite"), "the SQLite card")
    wait_until(lambda: "Notion" in card_text(driver, "notion"), "the Notion card")


def tools_ready(driver) -> None:
    query = '[data-field="query"] input'
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, query), "the tool's form")
    # A result on screen, so the result table is checked too.
    driver.find_element(By.CSS_SELECTOR, query).send_keys("SELECT id, name FROM teams ORDER BY id")
    driver.find_element(By.ID, "run").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#result table.rows td"), "the result table")


def options_ready(driver) -> None:
    wait_until(
        lambda: len(driver.find_elements(By.CSS_SELECTOR, "#servers tbody tr")) >= 2, "the server list"
    )


def panel_ready(driver) -> None:
    wait_until(lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "the panel")
    if not driver.find_elements(By.CSS_SELECTOR, "#log .toolcard"):
        # A conversation on screen, so the messages and tool cards (a result table among them) are checked too.
        driver.find_element(By.ID, "text").send_keys("/sql SELECT name, type FROM sqlite_master LIMIT 3")
        driver.find_element(By.ID, "send").click()
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, '#log .toolcard[data-status="done"] table.rows td'),
        "the tool card",
    )


def logs_ready(driver) -> None:
    wait_until(lambda: driver.find_element(By.ID, "notice").text, "the logs page's notice")


def welcome_ready(driver) -> None:
    wait_until(lambda: driver.find_element(By.ID, "next").is_displayed(), "the welcome page's next steps")


def panel_page(driver) -> str:
    driver.get(extension_page("options/options.html"))
    tab = driver.execute_async_script(
        "const done = arguments[0]; chrome.tabs.getCurrent().then((tab) => done(tab.id));"
    )
    return f"panel/panel.html?tab={tab}"


PAGES: dict[str, tuple[str | None, Callable[..., None], tuple[int, int]]] = {
    "popup": ("popups/popup.html", popup_ready, (400, 560)),
    "tools": ("popups/tools.html?server=sqlite&tool=read_query", tools_ready, (900, 800)),
    "options": ("options/options.html", options_ready, (900, 1000)),
    "panel": (None, panel_ready, (440, 760)),
    "welcome": ("welcome/welcome.html", welcome_ready, (900, 900)),
    "logs": ("popups/logs.html?server=sqlite", logs_ready, (700, 500)),
}


@pytest.mark.parametrize("color_scheme", SCHEMES)
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_or_critical_accessibility_violations(browser, name, color_scheme):
    path, ready, size = PAGES[name]
    browser.set_window_size(*size)
    path = path or panel_page(browser)
    scheme(browser, color_scheme)
    browser.get(extension_page(path))
    ready(browser)
    assert browser.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches") == (
        color_scheme == "dark"
    )
    found = axe.audit(browser)
    record(name, color_scheme, found)
    if name in ("popup", "panel"):
        screenshot(browser, f"{name}-{color_scheme}", ARTIFACTS)
    assert axe.blocking(found) == [], axe.describe(axe.blocking(found))


def record(page: str, color_scheme: str, violations: list[dict]) -> None:
    """Every finding, blocking or not, for the record (docs and the report quote the counts)."""
    FINDINGS.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(FINDINGS.read_text()) if FINDINGS.exists() else {}
    data[f"{page}/{color_scheme}"] = {
        impact: sum(v["impact"] == impact for v in violations)
        for impact in ("minor", "moderate", "serious", "critical")
    } | {"rules": sorted({v["id"] for v in violations})}
    FINDINGS.write_text(json.dumps(data, indent=2, sort_keys=True))


def test_the_dark_scheme_changes_the_colours(browser):
    browser.get(extension_page("popups/popup.html"))
    colours = {}
    for name in SCHEMES:
        scheme(browser, name)
        colours[name] = browser.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert colours["light"] == "rgb(255, 255, 255)" and colours["dark"] == "rgb(25, 25, 25)"


def test_every_page_links_the_shared_theme():
    for html in sorted((ROOT / "extension").rglob("*.html")):
        if "tests" in html.parts:
            continue
        assert '<link rel="stylesheet" href="../shared/theme.css">' in html.read_text(encoding="utf-8"), html
    theme = (ROOT / "extension" / "shared" / "theme.css").read_text(encoding="utf-8")
    assert "prefers-color-scheme: dark" in theme and "color-scheme: light dark" in theme


def test_the_vendored_axe_is_the_pinned_release():
    assert axe.AXE.is_file() and (axe.AXE.parent / "LICENSE").is_file()
    assert axe._source().startswith("/*! axe v" + axe.AXE_VERSION)
    # The extension vendors marked and DOMPurify (extension/vendor/README.md), but never axe.
    shipped = [p for p in (ROOT / "extension").rglob("*") if "axe" in p.name.lower()]
    assert shipped == [], "axe is for tests only, never in the extension"


KEYBOARD = """
const visible = (el) => !el.disabled && el.offsetParent !== null && getComputedStyle(el).visibility !== "hidden";
return [...document.querySelectorAll("button, a[href], input:not([type=hidden]), select, textarea")]
  .filter(visible).map((el) => el.id || el.className || el.textContent.trim() || el.tagName);
"""


@pytest.mark.parametrize("name", ["popup", "welcome", "options"])
def test_every_control_is_reached_with_the_tab_key(browser, name):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    path, ready, size = PAGES[name]
    assert path is not None
    scheme(browser, "light")
    browser.set_window_size(*size)
    browser.get(extension_page(path))
    ready(browser)
    controls = browser.execute_script(KEYBOARD)
    assert controls, "no controls found"
    reached = []
    for _ in range(len(controls) + 5):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        reached.append(
            browser.execute_script(
                "const el = document.activeElement;"
                "return el.id || el.className || el.textContent.trim() || el.tagName;"
            )
        )
    missing = [control for control in controls if control not in reached]
    assert missing == [], f"not reachable with Tab: {missing}"
