"""Every surface in its main states, light and dark, saved into docs/screens/ (and artifacts/screenshots/): the
review of how the product looks, judged from that folder without running it. The states are listed once, in
SCREENS; a listed state without its two screenshots fails test_every_listed_state_has_its_screenshots. The
browser is the one tests/test_accessibility.py uses (tests/conftest.py). On the way the error states are checked
to show the action that fixes them, and the action to work: Connect from a sign-in that needs doing opens the
consent window, the host-missing popup gives the install command and a retry."""

from __future__ import annotations

import time

from selenium.webdriver.common.by import By

from devkit.browser import (
    ARTIFACTS,
    card_text,
    chromium,
    extension_page,
    screenshot,
    sign_in_from_popup,
    wait_until,
)
from tests.support.processes import ROOT
from tests.support.scripted_llm import ScriptedLLM

DOCS = ROOT / "docs" / "screens"
SCHEMES = ("light", "dark")

#: Each state: its file name (without the scheme) and what it shows.
SCREENS = {
    "popup-empty": "the popup with nothing connected: what Connect will do",
    "popup-connecting": "the popup while a server connects (the sign-in window is open)",
    "popup-needs-auth": "the popup when a sign-in was refused: the card's words and Connect",
    "popup-connected": "the popup with Notion and SQLite connected",
    "popup-host-missing": "the popup without the host program: the install command and Retry",
    "runner-form": "the tool runner with a tool's generated form",
    "runner-table": "the tool runner with a result as a table",
    "panel-empty": "the chat panel before a conversation, no model set up",
    "panel-awaiting-approval": "the chat mid-answer, a tool card awaiting approval",
    "panel-table": "the chat with a command's result as a table",
    "options": "the options page",
}

POPUP, RUNNER, PANEL, OPTIONS = (400, 640), (900, 800), (440, 760), (900, 1000)


def scheme(driver, name: str) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": name}]}
    )


def shoot(driver, name: str) -> None:
    """The page as it is now, in both schemes, into artifacts/screenshots and docs/screens."""
    assert name in SCREENS, f"{name} is not a listed state"
    DOCS.mkdir(parents=True, exist_ok=True)
    for each in SCHEMES:
        scheme(driver, each)
        time.sleep(0.3)  # the new colours painted
        shot = screenshot(driver, f"{name}-{each}", ARTIFACTS)
        (DOCS / shot.name).write_bytes(shot.read_bytes())
    scheme(driver, "light")


def open_page(driver, path: str, size: tuple[int, int]) -> None:
    driver.set_window_size(*size)
    driver.get(extension_page(path))


def card(driver, server: str):
    return driver.find_element(By.CSS_SELECTOR, f'[data-server="{server}"]')


def click(driver, css: str, what: str) -> None:
    """Find and click at once, again if the page redrew it meanwhile (the popup redraws on every change)."""

    def clicked() -> bool:
        driver.find_element(By.CSS_SELECTOR, css).click()
        return True

    wait_until(clicked, what)


def test_the_popup_from_nothing_connected_to_signed_in(product):
    driver = product.driver
    open_page(driver, "popups/popup.html", POPUP)
    wait_until(lambda: "Connected" in card_text(driver, "sqlite"), "SQLite to connect")
    # Nothing connected: the popup says what Connect will do.
    click(driver, '[data-server="sqlite"] .enable input', "the Enabled box")
    wait_until(lambda: driver.find_element(By.ID, "empty").is_displayed(), "the empty state")
    assert "Connect" in driver.find_element(By.ID, "empty").text
    shoot(driver, "popup-empty")
    click(driver, '[data-server="sqlite"] .enable input', "the Enabled box")
    wait_until(lambda: "Connected" in card_text(driver, "sqlite"), "SQLite to connect again")
    wait_until(lambda: not driver.find_element(By.ID, "empty").is_displayed(), "the empty state to go")

    # Connecting, with the sign-in window open; refused, the card says so and offers Connect.
    click(driver, '[data-server="notion"] .enable input', "the Enabled box")
    wait_until(
        lambda: card(driver, "notion").find_element(By.CSS_SELECTOR, ".connect").is_displayed(), "Connect"
    )
    popup = driver.current_window_handle
    click(driver, '[data-server="notion"] .connect', "Connect")
    wait_until(lambda: len(driver.window_handles) > 1, "the consent window")
    consent = next(h for h in driver.window_handles if h != popup)
    wait_until(lambda: "Connecting" in card_text(driver, "notion"), "the card to say Connecting")
    shoot(driver, "popup-connecting")
    driver.switch_to.window(consent)
    wait_until(lambda: driver.find_elements(By.ID, "deny"), "the consent page")
    driver.find_element(By.ID, "deny").click()
    driver.switch_to.window(popup)
    wait_until(lambda: "Needs auth" in card_text(driver, "notion"), "the card to say Needs auth")
    connect = card(driver, "notion").find_element(By.CSS_SELECTOR, ".connect")
    assert connect.is_displayed() and connect.text == "Connect"
    shoot(driver, "popup-needs-auth")

    # The action works: Connect opens the consent window, and Allow connects.
    click(driver, '[data-server="notion"] .connect', "Connect on the needs-auth card")
    wait_until(lambda: len(driver.window_handles) > 1, "the consent window, from the needs-auth card")
    driver.switch_to.window(next(h for h in driver.window_handles if h != popup))
    wait_until(lambda: driver.find_elements(By.ID, "allow"), "the consent page")
    driver.find_element(By.ID, "allow").click()
    driver.switch_to.window(popup)
    wait_until(lambda: "Connected" in card_text(driver, "notion"), "Notion to connect", 60)
    shoot(driver, "popup-connected")


def test_the_popup_without_the_host_says_how_to_install_it(tmp_path):
    # A browser whose profile has no host installed: the extension finds no native host.
    with chromium(tmp_path / "profile") as driver:
        open_page(driver, "popups/popup.html", POPUP)
        wait_until(
            lambda: driver.find_element(By.ID, "missing").is_displayed(), "the host-missing notice", 40
        )
        missing = driver.find_element(By.ID, "missing")
        assert "notion-bridge install" in missing.text
        assert missing.find_element(By.ID, "copy-install").is_displayed()
        shoot(driver, "popup-host-missing")
        # Retry tries again (and, with nothing installed, says so again).
        missing.find_element(By.ID, "retry").click()
        wait_until(lambda: "Host" in driver.find_element(By.ID, "host").text, "the host line")


def test_the_tool_runner_with_its_form_and_a_table(product):
    driver = product.driver
    open_page(driver, "popups/tools.html?server=sqlite&tool=read_query", RUNNER)
    query = '[data-field="query"] input'
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, query), "the tool's form")
    driver.find_element(By.CSS_SELECTOR, query).send_keys(
        "SELECT id, name, email FROM users ORDER BY id LIMIT 40"
    )
    shoot(driver, "runner-form")
    driver.find_element(By.ID, "run").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#result .result-table"), "the result table")
    assert driver.find_element(By.CSS_SELECTOR, "#result .table-bar .count").text == "40 rows"
    shoot(driver, "runner-table")


CONFIGURE = """
const [baseUrl, done] = arguments;
const { BridgeClient } = await import(chrome.runtime.getURL('shared/bridge-client.js'));
const { llmConfigure } = await import(chrome.runtime.getURL('shared/host-requests.js'));
const client = new BridgeClient();
done(await client.request(...llmConfigure({ baseUrl, model: 'scripted' })));
"""


def panel(driver) -> None:
    open_page(driver, "options/options.html", PANEL)
    tab = driver.execute_async_script(
        "const done = arguments[0]; chrome.tabs.getCurrent().then((t) => done(t.id));"
    )
    driver.get(extension_page(f"panel/panel.html?tab={tab}"))
    wait_until(lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "the panel")


def test_the_chat_panel_empty_mid_answer_and_with_a_table(product):
    driver = product.driver
    panel(driver)
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, '#intro [data-server="sqlite"]'), "the intro")
    wait_until(lambda: driver.find_elements(By.ID, "no-model"), "the no-model line")
    shoot(driver, "panel-empty")

    with ScriptedLLM() as llm:
        configured = driver.execute_async_script(
            "(async () => { " + CONFIGURE + " })().catch((e) => arguments[1]({error: String(e)}));",
            llm.base_url,
        )
        assert configured.get("ok"), configured
        write = {
            "name": "sqlite__write_query",
            "arguments": {"query": "INSERT INTO teams (name) VALUES ('Research')"},
        }
        llm.plan = [
            {"pieces": ["I will add the ", "**Research** team ", "to the database."], "tool_calls": [write]},
            {"text": "Done: the team is added."},
        ]
        panel(driver)
        assert not driver.find_elements(By.ID, "no-model"), "a model is set up"
        driver.find_element(By.ID, "text").send_keys("Add a Research team to the database")
        driver.find_element(By.ID, "send").click()
        wait_until(
            lambda: driver.find_elements(
                By.CSS_SELECTOR, '.toolcard[data-status="awaiting_approval"] button.connect'
            ),
            "the approval buttons",
        )
        assert "INSERT INTO teams" in driver.find_element(By.CSS_SELECTOR, ".toolcard").text, (
            "what it would do, open"
        )
        shoot(driver, "panel-awaiting-approval")
        buttons = driver.find_elements(By.CSS_SELECTOR, ".toolcard .actions button")
        next(b for b in buttons if b.text == "Deny").click()
        wait_until(lambda: "Done" in driver.find_element(By.ID, "log").text, "the answer")

    driver.find_element(By.ID, "text").send_keys(
        "/sql SELECT id, name, email FROM users ORDER BY id LIMIT 25"
    )
    driver.find_element(By.ID, "send").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, ".toolcard.direct .result-table"), "the table")
    table = driver.find_element(By.CSS_SELECTOR, ".toolcard.direct .result-table")
    assert table.get_attribute("data-rows") == "25" and table.is_displayed(), "open, without a click"
    driver.execute_script("arguments[0].scrollIntoView({block: 'end'})", table)
    shoot(driver, "panel-table")


OPTIONS_TABS = (
    "const done = arguments[0]; chrome.tabs.query({url: chrome.runtime.getURL('options/options.html')})"
    ".then((tabs) => done(tabs.map((t) => t.id)));"
)


def close_options(driver) -> None:
    for tab in driver.execute_async_script(OPTIONS_TABS):
        driver.execute_async_script("chrome.tabs.remove(arguments[0]).then(arguments[1]);", tab)


def problem_fix(driver, kind: str):
    return driver.find_element(By.CSS_SELECTOR, f'#problem button[data-fix="{kind}"]')


def test_errors_in_the_chat_carry_the_action_that_fixes_them(product):
    driver = product.driver
    open_page(driver, "popups/popup.html", POPUP)
    wait_until(lambda: card_text(driver, "notion"), "the Notion card")
    if "Connected" not in card_text(driver, "notion"):
        if not card(driver, "notion").find_element(By.CSS_SELECTOR, ".enable input").is_selected():
            click(driver, '[data-server="notion"] .enable input', "the Enabled box")
        sign_in_from_popup(driver, "notion", "allow")
        wait_until(lambda: "Connected" in card_text(driver, "notion"), "Notion to connect", 60)

    # Rate limited: the time left, and Retry once it is over, which runs the call again.
    panel(driver)
    product.notion.admin("rate-limit", calls=1, retry_after_seconds=2)
    driver.find_element(By.ID, "text").send_keys("/search handbook")
    driver.find_element(By.ID, "send").click()
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, '.toolcard button[data-fix="wait"]'), "the retry"
    )
    card_words = driver.find_element(By.CSS_SELECTOR, ".toolcard").text
    assert "rate limiting: try again in 2 s" in card_words, card_words
    retry = '.toolcard button[data-fix="wait"]'
    assert driver.find_element(By.CSS_SELECTOR, retry).get_attribute("disabled") is not None, "not yet"
    screenshot(driver, "panel-rate-limited")
    wait_until(
        lambda: driver.find_element(By.CSS_SELECTOR, retry).get_attribute("disabled") is None, "the wait", 10
    )
    click(driver, retry, "Retry")
    wait_until(
        lambda: len(driver.find_elements(By.CSS_SELECTOR, '.toolcard[data-status="done"]')) == 2,
        "the second try",
    )
    assert "Engineering Handbook" in driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1].text

    with ScriptedLLM() as llm:
        configured = driver.execute_async_script(
            "(async () => { " + CONFIGURE + " })().catch((e) => arguments[1]({error: String(e)}));",
            llm.base_url,
        )
        assert configured.get("ok"), configured
        # The model's key refused: the options page, one click away.
        llm.plan = [{"status": 401, "message": "invalid api key"}]
        panel(driver)
        driver.find_element(By.ID, "text").send_keys("Hello")
        driver.find_element(By.ID, "send").click()
        wait_until(lambda: problem_fix(driver, "options").is_displayed(), "the options button")
        assert "API key" in driver.find_element(By.ID, "problem").text
        screenshot(driver, "panel-key-refused")
        close_options(driver)
        click(driver, '#problem button[data-fix="options"]', "Open options")
        wait_until(lambda: driver.execute_async_script(OPTIONS_TABS), "the options page to open")
        close_options(driver)

        # Too long for the model: a new conversation, one click away.
        llm.context_limit = 50
        panel(driver)
        driver.find_element(By.ID, "text").send_keys("Hello again")
        driver.find_element(By.ID, "send").click()
        wait_until(lambda: problem_fix(driver, "new-chat").is_displayed(), "the new-conversation button", 60)
        screenshot(driver, "panel-too-long")
        click(driver, '#problem button[data-fix="new-chat"]', "Start a new conversation")
        wait_until(lambda: driver.find_elements(By.ID, "intro"), "a fresh conversation's first screen")
        assert not driver.find_elements(By.CSS_SELECTOR, "#log .msg")
        assert driver.find_element(By.ID, "conversations").get_attribute("value") == ""


def test_the_options_page(product):
    driver = product.driver
    open_page(driver, "options/options.html", OPTIONS)
    wait_until(
        lambda: len(driver.find_elements(By.CSS_SELECTOR, "#servers tbody tr")) >= 2, "the server list"
    )
    shoot(driver, "options")


def test_every_listed_state_has_its_screenshots():
    missing = [
        f"{name}-{each}.png"
        for name in SCREENS
        for each in SCHEMES
        if not (DOCS / f"{name}-{each}.png").is_file() or (DOCS / f"{name}-{each}.png").stat().st_size == 0
    ]
    assert missing == [], f"states without a screenshot in docs/screens: {missing}"
