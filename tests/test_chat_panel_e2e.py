"""The chat panel on a real page in Chromium: injected as an extension iframe, asked a question that ends in an
approved write to the Notion-compatible server, and unreadable from the page's own scripts."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from functools import partial

import pytest
from selenium.webdriver.common.by import By

from dev_notion.testing import DevNotionProcess
from host.client import write_config
from host.commands.browser import EXTENSION_DIR, chromium, extension_page, screenshot, wait_until
from tests.support.processes import free_port
from tests.support.scripted_llm import ScriptedLLM

ARTICLE = """<!doctype html><html><head><title>Espresso basics</title></head><body><article>
<h1>Espresso basics</h1><p>Grind fine, dose 18 grams, and pull for 28 seconds.</p></article></body></html>"""


@pytest.fixture
def world(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "article.html").write_text(ARTICLE)
    port = free_port()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    web = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    # Selenium cannot make the toolbar or shortcut gesture that grants activeTab, so the test loads a copy of the
    # extension that may script 127.0.0.1 pages; the injection code path is the product's own.
    extension = tmp_path / "extension"
    shutil.copytree(EXTENSION_DIR, extension)
    manifest = json.loads((extension / "manifest.json").read_text())
    manifest["host_permissions"] = ["http://127.0.0.1/*"]
    (extension / "manifest.json").write_text(json.dumps(manifest))
    profile, home = tmp_path / "profile", tmp_path / "home"
    with ScriptedLLM() as llm, DevNotionProcess(auth=False) as notion:
        config = write_config(
            home, [{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url}]
        )
        stored = json.loads(config.read_text())
        stored["llm"] = {"base_url": llm.base_url, "model": "scripted"}
        config.write_text(json.dumps(stored))
        env = {**os.environ, "NOTION_BRIDGE_HOME": str(home)}
        subprocess.run(
            [sys.executable, "-m", "host.cli", "install", "--browser", "chromium", "--user-data-dir", str(profile), "--home", str(home)],
            check=True, capture_output=True, env=env,
        )  # fmt: skip
        with chromium(profile, extension=extension) as driver:
            yield driver, f"http://127.0.0.1:{port}/article.html", llm, notion
    web.shutdown()


def open_panel(driver, page_url: str) -> None:
    driver.get(page_url)
    article = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(extension_page("popups/popup.html"))
    wait_until(lambda: "Connected" in driver.find_element(By.ID, "servers").text, "Notion to connect")
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "chrome.tabs.query({url: 'http://127.0.0.1/*'}).then(([tab]) =>"
        " chrome.scripting.executeScript({target: {tabId: tab.id}, files: ['content/panel-frame.js']})).then(() => done());"
    )
    driver.close()
    driver.switch_to.window(article)
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#notion-mcp-bridge-panel iframe"), "the panel")


def test_ask_on_a_page_approve_a_write_and_the_page_cannot_read_the_panel(world):
    driver, page_url, llm, notion = world
    database = next(p for p in notion.admin("pages", title="")["pages"] if p["parent"].get("database_id"))
    reading_list = database["parent"]["database_id"]
    llm.plan = [
        {"pieces": ["Saving ", "it now."], "tool_calls": [{"name": "notion__notion-create-pages", "arguments": {
            "parent": {"database_id": reading_list},
            "pages": [{"properties": {"Name": "Espresso basics"}, "content": "Grind fine, dose 18 grams."}]}}]},
        {"pieces": ["Saved it to ", "your **Reading List**."]},
    ]  # fmt: skip
    open_panel(driver, page_url)
    peek = driver.execute_script(
        "const frame = document.querySelector('#notion-mcp-bridge-panel iframe');"
        "try { return frame.contentDocument === null ? 'no access' : frame.contentDocument.body.innerText; }"
        "catch (e) { return 'no access: ' + e.name; }"
    )
    assert peek.startswith("no access"), f"the page read the panel: {peek!r}"

    driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, "#notion-mcp-bridge-panel iframe"))
    driver.find_element(By.ID, "use-page").click()
    driver.find_element(By.ID, "text").send_keys("Save this article to my Reading List")
    driver.find_element(By.ID, "send").click()
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, ".toolcard button.connect"), "the approval buttons"
    )
    card = driver.find_element(By.CSS_SELECTOR, ".toolcard").text
    assert "notion-create-pages" in card and "awaiting_approval" in card and "Espresso basics" in card
    assert not notion.admin("pages", title="Espresso basics")["pages"], "nothing is written before approval"
    screenshot(driver, "panel-awaiting-approval")
    driver.find_element(By.CSS_SELECTOR, ".toolcard button.connect").click()
    wait_until(
        lambda: "Saved it to your Reading List." in driver.find_element(By.ID, "log").text, "the answer"
    )
    assert driver.find_elements(By.CSS_SELECTOR, "#log strong")  # Markdown rendered as elements, safely
    assert len(notion.admin("pages", title="Espresso basics")["pages"]) == 1
    user_message = next(m for m in llm.requests[0]["messages"] if m["role"] == "user")["content"]
    assert "Grind fine, dose 18 grams" in user_message and page_url in user_message, (
        "the page went along as context"
    )
    screenshot(driver, "panel-answered")


def test_save_page_to_notion_and_slash_commands_without_a_model(world):
    driver, page_url, _, notion = world
    database = next(p for p in notion.admin("pages", title="")["pages"] if p["parent"].get("database_id"))
    open_panel(driver, page_url)
    driver.switch_to.frame(driver.find_element(By.CSS_SELECTOR, "#notion-mcp-bridge-panel iframe"))
    driver.find_element(By.ID, "save-page").click()
    form = driver.find_element(By.ID, "save-form")
    form.find_element(By.NAME, "database").send_keys(database["parent"]["database_id"])
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(lambda: "done" in driver.find_element(By.CSS_SELECTOR, ".toolcard").text, "the save")
    saved = notion.admin("pages", title="Espresso basics")["pages"]
    assert (
        len(saved) == 1 and page_url in saved[0]["content"] and "pull for 28 seconds" in saved[0]["content"]
    )

    driver.find_element(By.ID, "text").send_keys("/search handbook")
    driver.find_element(By.ID, "send").click()
    wait_until(
        lambda: len(driver.find_elements(By.CSS_SELECTOR, ".toolcard")) == 2, "the slash command's card"
    )
    last = driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1]
    wait_until(lambda: "done" in last.text, "the search to finish")
    screenshot(driver, "panel-slash-command")
