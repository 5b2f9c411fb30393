"""The extension in a real Chromium with the real host: status cards, the Enable toggle, a tool run through a
form generated from its schema, and recovery when the host dies."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from devkit.browser import card_text, chromium, extension_page, install_host, screenshot, wait_until
from devkit.host_process import write_config
from host import __version__
from tests.test_host_supervision import STDIO_TOY


@pytest.fixture
def browser(tmp_path):
    profile, home = tmp_path / "profile", tmp_path / "home"
    write_config(home, [{"id": "sqlite", "name": "SQLite (sample)", "kind": "stdio", "builtin": "sqlite",
                         "db_path": str(home / "data" / "sample.db")}, {**STDIO_TOY, "name": "Asker"}])  # fmt: skip
    install_host(profile, home)
    with chromium(profile) as driver:
        driver.bridge_home = home
        yield driver


def host_pids(home: Path) -> list[int]:
    """The hosts this test's browser started: other hosts on the machine (other tests) are left alone."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            environment = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        is_host = b"host" in command[1:] and command[command.index(b"host") - 1] == b"-m"
        if is_host and f"NOTION_BRIDGE_HOME={home}".encode() in environment:
            pids.append(int(proc.name))
    return pids


def test_popup_card_enable_toggle_and_host_recovery(browser):
    home = browser.bridge_home
    browser.get(extension_page("popups/popup.html"))
    wait_until(lambda: "Connected" in card_text(browser, "sqlite"), "SQLite to connect")
    assert "stdio · 3 tools" in card_text(browser, "sqlite")
    screenshot(browser, "popup-connected")

    browser.find_element(By.CSS_SELECTOR, '[data-server="sqlite"] .enable input').click()
    wait_until(lambda: "Disconnected" in card_text(browser, "sqlite"), "the card to say Disconnected")
    screenshot(browser, "popup-disabled")
    browser.find_element(By.CSS_SELECTOR, '[data-server="sqlite"] .enable input').click()
    wait_until(lambda: "Connected" in card_text(browser, "sqlite"), "the card to come back")

    # The reconnect can take under a second, so record every state the popup shows rather than poll for one.
    browser.execute_script(
        "window.seen = [];"
        "new MutationObserver(() => window.seen.push(document.body.innerText))"
        ".observe(document.body, {subtree: true, childList: true, characterData: true});"
    )
    hosts = host_pids(home)
    assert hosts, "no host process to kill"
    for pid in hosts:
        os.kill(pid, signal.SIGKILL)

    def stopped_views() -> list[str]:
        return [t for t in browser.execute_script("return window.seen") if "Native host has exited" in t]

    wait_until(lambda: stopped_views(), "the popup to say the host stopped", 10)
    assert "Host offline" in stopped_views()[0], "a card must not claim Connected without a host"
    wait_until(
        lambda: browser.find_element(By.ID, "host").text == f"Host {__version__} connected",
        "the host to come back",
    )
    wait_until(lambda: "Connected" in card_text(browser, "sqlite"), "SQLite to reconnect")


def test_a_tool_runs_through_the_generated_form(browser):
    browser.get(extension_page("popups/tools.html?server=sqlite&tool=read_query"))
    wait_until(
        lambda: browser.find_elements(
            By.CSS_SELECTOR, '[data-field="query"] textarea, [data-field="query"] input'
        ),
        "the form",
    )
    browser.find_element(By.ID, "run").click()
    wait_until(
        lambda: "query is required" in browser.find_element(By.ID, "problems").text, "the form to refuse"
    )
    field = browser.find_element(By.CSS_SELECTOR, '[data-field="query"] input')
    field.send_keys("SELECT id, name FROM teams ORDER BY id")
    browser.find_element(By.ID, "run").click()
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, "#result table.rows td"), "the result table")
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#result table.rows td")]
    assert cells[:4] == ["1", "Platform", "2", "Growth"]
    screenshot(browser, "tool-runner-result")
    Select(browser.find_element(By.ID, "tool")).select_by_value("describe_table")
    wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, '[data-field="table"] input'),
        "the describe_table form",
    )
    browser.find_element(By.CSS_SELECTOR, '[data-field="table"] input').send_keys("ghosts")
    browser.find_element(By.ID, "run").click()
    wait_until(
        lambda: "no table named 'ghosts'" in browser.find_element(By.ID, "result").text, "the tool error"
    )
    assert "is-error" in browser.find_element(By.ID, "result").get_attribute("class")


def test_options_page_adds_edits_and_removes_servers_and_keeps_the_api_key_out_of_the_extension(browser):
    browser.get(extension_page("options/options.html"))
    wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, '#servers tr[data-server="sqlite"]'), "the server list"
    )
    form = browser.find_element(By.ID, "editor")
    form.find_element(By.NAME, "name").send_keys("Toy")
    Select(form.find_element(By.NAME, "kind")).select_by_value("stdio")
    form.find_element(By.NAME, "command").send_keys(f'"{sys.executable}" -m tests.support.toy_server stdio')
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # The fixture already has a server with the id "toy" ("Asker"): the new one is found by its name, and its
    # id ("toy-2") is what the rest of the test works on.
    added = '//*[@id="servers"]//tr[td[1][text()="Toy"]]'
    wait_until(lambda: browser.find_elements(By.XPATH, added), "the new server")
    toy = browser.find_element(By.XPATH, added).get_attribute("data-server")
    assert toy == "toy-2"

    # The list redraws when the host reports a change; retry the click if it landed on a row being replaced.
    wait_until(
        lambda: (
            browser.find_element(By.CSS_SELECTOR, f'#servers tr[data-server="{toy}"] .edit').click() or True
        ),
        "Edit",
    )
    name = browser.find_element(By.CSS_SELECTOR, "#editor [name=name]")
    name.clear()
    name.send_keys("Toy renamed")
    browser.find_element(By.CSS_SELECTOR, "#editor button[type=submit]").click()
    wait_until(lambda: "Toy renamed" in browser.find_element(By.ID, "servers").text, "the rename")

    sqlite = browser.find_element(By.ID, "sqlite")
    sqlite.find_element(By.NAME, "allow_writes").click()
    sqlite.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    llm = browser.find_element(By.ID, "llm")
    llm.find_element(By.NAME, "api_key").send_keys("sk-test-do-not-store-in-extension")
    llm.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(
        lambda: "An API key is stored" in browser.find_element(By.ID, "llm-status").text,
        "the key to be stored",
    )
    screenshot(browser, "options")
    stored = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all([chrome.storage.local.get(null), chrome.storage.session.get(null)])"
        ".then((all) => done(JSON.stringify(all)));"
    )
    assert "sk-test" not in stored, "the API key must never be kept in extension storage"

    browser.execute_script("window.confirm = () => true;")
    wait_until(
        lambda: (
            browser.find_element(By.CSS_SELECTOR, f'#servers tr[data-server="{toy}"] .remove').click() or True
        ),
        "Remove",
    )
    wait_until(
        lambda: not browser.find_elements(By.CSS_SELECTOR, f'#servers tr[data-server="{toy}"]'), "the removal"
    )

    browser.get(extension_page("popups/popup.html"))
    wait_until(lambda: "5 tools" in card_text(browser, "sqlite"), "SQLite to offer its write tools")


def test_a_servers_question_is_asked_in_the_popup_and_the_answer_goes_back(browser):
    browser.get(extension_page("popups/tools.html?server=toy&tool=ask_name"))
    runner = browser.current_window_handle
    wait_until(
        lambda: browser.find_element(By.ID, "tool").get_attribute("value") == "ask_name", "the ask_name tool"
    )
    browser.find_element(By.ID, "run").click()
    wait_until(lambda: len(browser.window_handles) > 1, "the popup to open with the question")
    browser.switch_to.window(next(h for h in browser.window_handles if h != runner))
    wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, ".question [data-field=name] input"),
        "the question form",
    )
    assert "Asker asks:" in browser.find_element(By.CSS_SELECTOR, ".question").text
    assert "What is your name?" in browser.find_element(By.CSS_SELECTOR, ".question").text
    browser.find_element(By.CSS_SELECTOR, ".question button.connect").click()
    wait_until(
        lambda: "name is required" in browser.find_element(By.CSS_SELECTOR, ".question").text,
        "the form to refuse",
    )
    browser.find_element(By.CSS_SELECTOR, ".question [data-field=name] input").send_keys("Ada")
    screenshot(browser, "elicitation-question")
    browser.find_element(By.CSS_SELECTOR, ".question button.connect").click()
    wait_until(lambda: not browser.find_elements(By.CSS_SELECTOR, ".question"), "the question to close")
    browser.switch_to.window(runner)
    wait_until(
        lambda: "hello Ada" in browser.find_element(By.ID, "result").text, "the answer to reach the server"
    )


def test_stop_cancels_a_running_tool_call_in_the_runner_and_in_the_chat(browser):
    browser.get(extension_page("popups/tools.html?server=toy&tool=sleep"))
    wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, '[data-field="seconds"] input'), "the sleep form"
    )
    assert not browser.find_element(By.ID, "stop").is_displayed(), "nothing to stop yet"
    browser.find_element(By.CSS_SELECTOR, '[data-field="seconds"] input').send_keys("60")
    browser.find_element(By.ID, "run").click()
    wait_until(lambda: browser.find_element(By.ID, "stop").is_displayed(), "Stop, while the call runs")
    browser.find_element(By.ID, "stop").click()
    # The host cancels the call by the id the page gave it, and the call's own reply says so.
    wait_until(
        lambda: "cancelled" in browser.find_element(By.ID, "result").text, "the call to be cancelled", 10
    )
    assert "is-error" in browser.find_element(By.ID, "result").get_attribute("class")
    assert not browser.find_element(By.ID, "stop").is_displayed()
    assert browser.find_element(By.ID, "run").is_enabled()
    screenshot(browser, "tool-runner-stopped")

    browser.get(extension_page("panel/panel.html"))
    wait_until(lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "the panel")
    browser.find_element(By.ID, "text").send_keys('/tool toy.sleep {"seconds": 60}')
    browser.find_element(By.ID, "send").click()
    wait_until(lambda: browser.find_element(By.ID, "stop").is_displayed(), "the panel's Stop")
    assert "Running" in browser.find_element(By.CSS_SELECTOR, ".toolcard").text
    browser.find_element(By.ID, "stop").click()
    wait_until(
        lambda: "Cancelled" in browser.find_element(By.CSS_SELECTOR, ".toolcard").text,
        "the card to say so",
        10,
    )
    assert not browser.find_element(By.ID, "stop").is_displayed()
    screenshot(browser, "panel-tool-stopped")


def test_the_chat_draws_a_tool_result_as_the_tool_runner_does(browser):
    browser.get(extension_page("popups/popup.html"))
    wait_until(lambda: "Connected" in card_text(browser, "sqlite"), "SQLite to connect")
    browser.get(extension_page("panel/panel.html"))
    wait_until(lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "the panel")
    browser.find_element(By.ID, "text").send_keys("/sql SELECT id, name FROM teams ORDER BY id")
    browser.find_element(By.ID, "send").click()
    wait_until(lambda: "Done" in browser.find_element(By.CSS_SELECTOR, ".toolcard").text, "the query")
    browser.find_element(By.CSS_SELECTOR, ".toolcard details summary").click()
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, ".toolcard .result table.rows td")]
    assert cells[:4] == ["1", "Platform", "2", "Growth"]
    assert browser.find_elements(By.CSS_SELECTOR, ".toolcard .result details.json"), "and the JSON tree"
    screenshot(browser, "panel-tool-result")


def test_a_stopped_background_fails_what_was_out_and_the_page_reconnects_by_itself(browser):
    browser.get(extension_page("popups/tools.html?server=toy&tool=sleep"))
    wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, '[data-field="seconds"] input'), "the sleep form"
    )
    browser.find_element(By.CSS_SELECTOR, '[data-field="seconds"] input').send_keys("60")
    browser.find_element(By.ID, "run").click()
    wait_until(lambda: browser.find_element(By.ID, "stop").is_displayed(), "the call to be running")
    # Chrome stops idle service workers, and restarts them on the next event; this does it now.
    browser.execute_cdp_cmd("ServiceWorker.enable", {})
    browser.execute_cdp_cmd("ServiceWorker.stopAllWorkers", {})
    wait_until(
        lambda: "outcome is unknown" in browser.find_element(By.ID, "result").text,
        "the call to fail at once rather than hang",
        10,
    )
    assert "background dropped" in browser.find_element(By.ID, "result").text

    def ran_again() -> bool:
        if "slept 0.1" in browser.find_element(By.ID, "result").text:
            return True
        if browser.find_element(By.ID, "run").is_enabled():
            field = browser.find_element(By.CSS_SELECTOR, '[data-field="seconds"] input')
            field.clear()
            field.send_keys("0.1")
            browser.find_element(By.ID, "run").click()
        return False

    # The same page, without a reload: its client found the restarted background, which started the host again.
    wait_until(ran_again, "the page to run the tool again through the restarted background")
