"""Resources, prompts, progress, logs and sampling in a real Chromium, through the real extension and host,
against tests/support/feature_server.py: the tool runner's bar moving with a server's progress and Stop reaching
the server; its Resources tab (Markdown, JSON, an image, a download, a template with completion, a followed
resource); the popup asking the person before a server's request reaches the model, and again before the
(edited) answer reaches the server; the Logs view; the chat's `@` and `/` with a model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from devkit.browser import chromium, extension_page, install_host, screenshot, wait_until
from devkit.host_process import write_config
from tests.support.figures import record
from tests.support.processes import ROOT, free_port, wait_until_serving
from tests.support.scripted_llm import ScriptedLLM


@dataclass
class World:
    driver: Any
    llm: ScriptedLLM
    log: Path


@pytest.fixture
def world(tmp_path: Path):
    profile, home, log = tmp_path / "profile", tmp_path / "home", tmp_path / "feature.log"
    with ScriptedLLM() as llm:
        config = write_config(
            home,
            [
                {
                    "id": "feat",
                    "name": "Features",
                    "kind": "stdio",
                    "command": [sys.executable, "-m", "tests.support.feature_server", "stdio"],
                    "env": {"FEATURE_ERA": "legacy", "FEATURE_LOG": str(log), "PYTHONPATH": str(ROOT)},
                }
            ],
        )
        stored = json.loads(config.read_text())
        stored["llm"] = {"base_url": llm.base_url, "model": "scripted"}
        config.write_text(json.dumps(stored))
        install_host(profile, home, token_store="file")
        with chromium(profile) as driver:
            driver.get(extension_page("popups/popup.html"))
            wait_until(
                lambda: "Connected" in driver.find_element(By.ID, "servers").text, "the server to connect", 60
            )
            yield World(driver, llm, log)


def open_tool(driver, tool: str) -> None:
    driver.get(extension_page(f"popups/tools.html?server=feat&tool={tool}"))
    wait_until(lambda: driver.find_element(By.ID, "tool").get_attribute("value") == tool, f"the {tool} form")


def field(driver, name: str):
    return driver.find_element(
        By.CSS_SELECTOR, f'[data-field="{name}"] input, [data-field="{name}"] textarea'
    )


def fill(element, value: str) -> None:
    element.clear()
    element.send_keys(value)


def test_progress_bar_moves_and_stop_reaches_the_server(world: World) -> None:
    driver = world.driver
    open_tool(driver, "steps")
    fill(field(driver, "count"), "10")
    fill(field(driver, "seconds"), "3")
    driver.find_element(By.ID, "run").click()
    seen: list[float] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "done 10 steps" not in driver.find_element(By.ID, "result").text:
        value = driver.execute_script(
            "const bar = document.querySelector('#run-progress progress'); return bar ? bar.value : null;"
        )
        if value is not None and (not seen or value != seen[-1]):
            seen.append(value)
        if len(seen) == 4:
            screenshot(driver, "tool-runner-progress")
        time.sleep(0.05)
    assert "done 10 steps" in driver.find_element(By.ID, "result").text
    final = driver.execute_script("return document.querySelector('#run-progress progress').value;")
    if final != seen[-1]:
        seen.append(final)
    assert len(seen) >= 5 and seen == sorted(seen), f"the bar moved forward step by step: {seen}"
    assert seen[-1] == pytest.approx(1.0)
    record("progress_bar_browser", {"positions_seen": len(seen), "values": seen})
    assert "100% · step 10 of 10" in driver.find_element(By.ID, "run-progress").text

    open_tool(driver, "slow")
    fill(field(driver, "tag"), "from-the-browser")
    driver.find_element(By.ID, "run").click()
    wait_until(lambda: driver.find_element(By.ID, "stop").is_displayed(), "Stop")
    time.sleep(1.0)
    driver.find_element(By.ID, "stop").click()
    wait_until(
        lambda: "cancelled" in driver.find_element(By.ID, "result").text, "the call to end as cancelled"
    )
    wait_until(
        lambda: "cancelled from-the-browser" in world.log.read_text(),
        "the server to see the cancellation",
        10,
    )
    assert "finished from-the-browser" not in world.log.read_text()


def test_resources_tab(world: World) -> None:
    driver = world.driver
    driver.get(extension_page("popups/tools.html?server=feat&tab=resources"))
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#resource-list button"), "the resources")

    def open_resource(uri: str) -> None:
        driver.find_element(By.CSS_SELECTOR, f'#resource-list button[data-uri="{uri}"]').click()
        wait_until(lambda: driver.find_element(By.ID, "resource-view").get_attribute("data-uri") == uri, uri)

    open_resource("feature://static/readme.md")
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, "#resource-contents .markdown h3"), "Markdown drawn"
    )
    assert driver.find_element(By.CSS_SELECTOR, "#resource-contents .markdown h3").text == "Features"
    assert driver.find_element(By.CSS_SELECTOR, "#resource-contents .markdown strong").text == "static"

    open_resource("feature://static/config.json")
    wait_until(lambda: "colour" in driver.find_element(By.ID, "resource-contents").text, "the JSON tree")

    open_resource("feature://static/pixel.png")
    wait_until(
        lambda: (
            driver.execute_script(
                "const i = document.querySelector('#resource-contents img'); return i && i.complete && i.naturalWidth;"
            )
            == 1
        ),
        "the image",
    )

    open_resource("feature://static/data.bin")
    link = driver.find_element(By.CSS_SELECTOR, "#resource-contents a.download")
    assert link.get_attribute("download") == "data.bin" and "1,024 bytes" in link.text
    size = driver.execute_async_script(
        "const [href, done] = arguments; fetch(href).then((r) => r.arrayBuffer()).then((b) => done(b.byteLength));",
        link.get_attribute("href"),
    )
    assert size == 1024, "the download holds the server's bytes"

    driver.find_element(
        By.CSS_SELECTOR, '#template-list button[data-template="feature://notes/{topic}"]'
    ).click()
    topic = driver.find_element(By.CSS_SELECTOR, '#template-fields [data-field="topic"] input')
    topic.send_keys("ap")
    wait_until(
        lambda: (
            [
                o.get_attribute("value")
                for o in driver.find_elements(By.CSS_SELECTOR, "#template-fields datalist option")
            ]
            == ["apples", "apricots"]
        ),
        "the server's suggestions",
    )
    topic.send_keys("ples")
    assert driver.find_element(By.ID, "template-uri").text == "feature://notes/apples"
    driver.find_element(By.CSS_SELECTOR, "#template-form button[type=submit]").click()
    wait_until(
        lambda: "A note about apples." in driver.find_element(By.ID, "resource-contents").text, "the note"
    )
    screenshot(driver, "tool-runner-template")

    open_resource("feature://counter")
    wait_until(lambda: "count 0" in driver.find_element(By.ID, "resource-contents").text, "the counter")
    driver.find_element(By.ID, "subscribe").click()
    time.sleep(0.5)
    resources = driver.current_window_handle
    driver.switch_to.new_window("tab")
    open_tool(driver, "bump")
    driver.find_element(By.ID, "run").click()
    wait_until(lambda: "count 1" in driver.find_element(By.ID, "result").text, "the bump")
    driver.switch_to.window(resources)
    wait_until(
        lambda: "count 1" in driver.find_element(By.ID, "resource-contents").text,
        "the followed resource to update",
    )
    assert driver.find_element(By.ID, "resource-updated").text.startswith("Updated at")


def test_a_servers_request_for_the_model_waits_for_the_person_twice(world: World) -> None:
    driver, llm = world.driver, world.llm
    llm.plan = [{"text": "Paris is the capital of France."}]
    open_tool(driver, "ask_model")
    runner = driver.current_window_handle
    fill(field(driver, "question"), "Capital of France?")
    driver.find_element(By.ID, "run").click()
    # The background brings the popup up (a window of it where no toolbar popup can open); the test looks at it
    # in a tab of its own.
    driver.switch_to.new_window("tab")
    driver.get(extension_page("popups/popup.html"))
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, ".question.sampling"), "the request in the popup"
    )
    card = driver.find_element(By.CSS_SELECTOR, ".question.sampling")
    assert "Features asks the chat model" in card.text and "Capital of France?" in card.text
    assert "up to 100 tokens" in card.text and "answered by scripted" in card.text and "small" in card.text
    screenshot(driver, "popup-sampling-request")
    assert llm.requests == [], "nothing went to the model before the person approved"
    card.find_element(By.CSS_SELECTOR, "button.connect").click()
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, ".question.sampling textarea.draft"),
        "the model's answer",
    )
    draft = driver.find_element(By.CSS_SELECTOR, ".question.sampling textarea.draft")
    assert draft.get_attribute("value") == "Paris is the capital of France."
    fill(draft, "Paris.")
    screenshot(driver, "popup-sampling-draft")
    driver.find_element(By.CSS_SELECTOR, ".question.sampling button.connect").click()
    wait_until(
        lambda: not driver.find_elements(By.CSS_SELECTOR, ".question.sampling"), "the question to close"
    )
    driver.switch_to.window(runner)
    wait_until(
        lambda: "the model said: Paris." in driver.find_element(By.ID, "result").text, "the edited answer"
    )
    assert len(llm.requests) == 1


def test_logs_view(world: World) -> None:
    driver = world.driver
    driver.get(extension_page("popups/logs.html?server=feat"))
    wait_until(lambda: driver.find_element(By.ID, "level").get_attribute("value") == "info", "the level")
    driver.execute_script(
        "const s = document.getElementById('level'); s.value = 'debug'; s.dispatchEvent(new Event('change'));"
    )
    wait_until(lambda: "debug and above" in driver.find_element(By.ID, "notice").text, "the level to be set")
    logs = driver.current_window_handle
    driver.switch_to.new_window("tab")
    open_tool(driver, "log_all")
    driver.find_element(By.ID, "run").click()
    wait_until(lambda: "logged" in driver.find_element(By.ID, "result").text, "the tool")
    driver.switch_to.window(logs)
    wait_until(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#entries tbody tr")) == 8, "eight messages")
    levels = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#entries td.level")]
    assert levels == ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
    screenshot(driver, "logs-view")
    driver.get(extension_page("popups/logs.html?server=feat"))
    wait_until(
        lambda: len(driver.find_elements(By.CSS_SELECTOR, "#entries tbody tr")) == 8, "the ring, read again"
    )
    assert driver.find_element(By.ID, "level").get_attribute("value") == "debug"


def test_chat_attaches_resources_with_at_and_runs_prompts_with_slash(world: World) -> None:
    driver, llm = world.driver, world.llm
    llm.plan = [{"text": "It is about features."}, {"text": "A brief summary."}, {"text": "(no more plan)"}]
    driver.get(extension_page("panel/panel.html"))
    wait_until(lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "the panel")
    wait_until(
        lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-resources") == "5",
        "the resources",
    )
    wait_until(
        lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-prompts") == "2", "the prompts"
    )
    text = driver.find_element(By.ID, "text")
    text.send_keys("What is this about? @read")
    wait_until(
        lambda: driver.find_elements(
            By.CSS_SELECTOR, '#mentions button[data-uri="feature://static/readme.md"]'
        ),
        "the @ list",
    )
    driver.find_element(By.CSS_SELECTOR, '#mentions button[data-uri="feature://static/readme.md"]').click()
    assert "Features: Read me" in driver.find_element(By.ID, "attachments").text
    assert text.get_attribute("value").strip() == "What is this about?"
    driver.find_element(By.ID, "send").click()
    wait_until(lambda: "It is about features." in driver.find_element(By.ID, "log").text, "the answer")
    sent = json.dumps(llm.requests[0]["messages"])
    assert "A **static** resource in Markdown." in sent and "feature://static/readme.md" in sent
    assert driver.find_element(By.ID, "attachments").is_displayed() is False

    text.send_keys("/summarize")
    driver.find_element(By.ID, "send").click()
    wait_until(lambda: driver.find_element(By.ID, "prompt-form").is_displayed(), "the prompt's form")
    driver.find_element(By.CSS_SELECTOR, '#prompt-fields [data-field="text"] input').send_keys(
        "Long text about apples."
    )
    style = driver.find_element(By.CSS_SELECTOR, '#prompt-fields [data-field="style"] input')
    style.send_keys("b")
    wait_until(
        lambda: len(driver.find_elements(By.CSS_SELECTOR, "#prompt-fields datalist option")) == 2,
        "suggestions",
    )
    style.send_keys("rief")
    screenshot(driver, "panel-prompt-form")
    driver.find_element(By.CSS_SELECTOR, "#prompt-form button.connect").click()
    wait_until(lambda: "A brief summary." in driver.find_element(By.ID, "log").text, "the prompt's answer")
    last = llm.requests[-1]["messages"][-1]["content"]
    assert "Summarise this in a brief style:" in last and "Long text about apples." in last


def test_options_import_masked_headers_and_tools_switched_off(world: World, tmp_path: Path) -> None:
    driver = world.driver
    port = free_port()
    remote = subprocess.Popen(
        [sys.executable, "-m", "tests.support.feature_server", "http", str(port)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_serving(port)
        claude = {
            "mcpServers": {
                "Features": {
                    "command": sys.executable,
                    "args": ["-m", "tests.support.feature_server", "stdio"],
                },
                "Remote with key": {
                    "url": f"http://127.0.0.1:{port}/mcp",
                    "headers": {"X-Api-Key": "opt-secret-55"},
                },
            }
        }
        driver.get(extension_page("options/options.html"))
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, '#servers tr[data-server="feat"]'), "the servers"
        )
        source = tmp_path / "claude_desktop_config.json"
        source.write_text(json.dumps(claude))
        driver.find_element(By.CSS_SELECTOR, "#import input[type=file]").send_keys(str(source))
        wait_until(
            lambda: (
                "mcpServers"
                in driver.find_element(By.CSS_SELECTOR, "#import textarea").get_attribute("value")
            ),
            "the file read",
        )
        driver.find_element(By.CSS_SELECTOR, "#import button[type=submit]").click()
        wait_until(lambda: driver.find_element(By.ID, "import-preview").is_displayed(), "the preview")
        rows = {
            r.get_attribute("data-name"): r.text
            for r in driver.find_elements(By.CSS_SELECTOR, "#import-table tbody tr")
        }
        assert "already configured as feat" in rows["Features"], "the same command is not added twice"
        assert "X-Api-Key" in rows["Remote with key"] and "opt-secret-55" not in driver.page_source
        screenshot(driver, "options-import-preview")
        assert driver.find_element(By.ID, "import-apply").text == "Add 1 server"
        driver.find_element(By.ID, "import-apply").click()
        wait_until(
            lambda: "Added Remote with key" in driver.find_element(By.ID, "import-done").text, "the import"
        )
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, '#servers tr[data-server="remote-with-key"]'),
            "listed",
        )

        driver.find_element(By.CSS_SELECTOR, '#servers tr[data-server="remote-with-key"] button.edit').click()
        header = driver.find_element(By.CSS_SELECTOR, "#header-rows .header-row")
        assert header.find_element(By.CSS_SELECTOR, ".header-name").get_attribute("value") == "X-Api-Key"
        assert header.find_element(By.CSS_SELECTOR, ".header-value").get_attribute("value") == "", (
            "shown masked"
        )
        assert "kept" in header.find_element(By.CSS_SELECTOR, ".header-value").get_attribute("placeholder")

        wait_until(
            lambda: driver.find_elements(
                By.CSS_SELECTOR, '#tool-switches [data-server="feat"] input[data-tool="slow"]'
            ),
            "the switches",
        )
        driver.find_element(
            By.CSS_SELECTOR, '#tool-switches [data-server="feat"] input[data-tool="slow"]'
        ).click()
        driver.get(extension_page("popups/tools.html?server=feat"))
        wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#tool option"), "the tools")
        names = [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#tool option")]
        assert "slow" not in names and "steps" in names, "a tool switched off is not offered"

        driver.get(extension_page("popups/tools.html?server=remote-with-key&tool=header"))
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, '[data-field="name"] input'), "the header tool"
        )
        driver.find_element(By.CSS_SELECTOR, '[data-field="name"] input').send_keys("X-Api-Key")
        driver.find_element(By.ID, "run").click()
        wait_until(
            lambda: "opt-secret-55" in driver.find_element(By.ID, "result").text, "the header at the server"
        )
    finally:
        remote.kill()
        remote.wait()
