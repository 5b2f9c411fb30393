"""The chat's answers, usage and model choice in Chromium, with the real extension and host.

A scripted OpenAI-compatible endpoint (with a model list, prices and a 4,096-token model) and the toy MCP server
stand in for the model and the tools. The options page's picker lists the endpoint's models; the panel renders a
table, a nested list and a code block as elements, a tool's image as an image in its card, what each turn used and
the conversation's total, the divider where earlier turns stop being sent, and regenerates and edits the last
turn.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from devkit.browser import chromium, extension_page, install_host, screenshot, wait_until
from devkit.host_process import write_config
from tests.support.processes import ROOT
from tests.support.scripted_llm import ScriptedLLM
from tests.test_chat_context import MODELS, words_of

RICH_ANSWER = """Here is what the tool returned.

| Team | Users | Growth |
|:-----|------:|:------:|
| Platform | **120** | 4% |
| Growth | 85 | 9% |

- Stores
  - North
    1. Oslo
    2. Bergen
  - South
- Warehouses

```python
print("figures < targets")
```

> Checked against [the report](https://example.com/report_(q3)).
"""


@dataclass
class World:
    driver: Any
    llm: ScriptedLLM
    config: Path


@pytest.fixture
def world(tmp_path):
    profile, home = tmp_path / "profile", tmp_path / "home"
    with ScriptedLLM() as llm:
        llm.models = MODELS
        config = write_config(
            home,
            [{"id": "toy", "name": "Toy", "kind": "stdio", "cwd": str(ROOT), "trusted": True,
              "command": [sys.executable, "-m", "tests.support.toy_server", "stdio"]}],
        )  # fmt: skip
        stored = json.loads(config.read_text())
        stored["llm"] = {"base_url": llm.base_url, "model": "scripted/vision"}
        config.write_text(json.dumps(stored))
        install_host(profile, home)
        with chromium(profile) as driver:
            yield World(driver, llm, config)


def open_panel(driver) -> None:
    driver.get(extension_page("popups/popup.html"))
    wait_until(lambda: "Connected" in driver.find_element(By.ID, "servers").text, "the toy server to connect")
    driver.get(extension_page("panel/panel.html"))
    wait_until(lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "the panel")


def send(driver, text: str) -> None:
    # Long messages go in at once: typing thousands of characters key by key is slow and tests nothing more.
    driver.execute_script("document.getElementById('text').value = arguments[0];", text)
    driver.find_element(By.ID, "send").click()


def turns_done(driver) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, ".turn-usage"))


def test_the_picker_lists_tool_capable_models_with_context_and_price(world):
    driver = world.driver
    driver.get(extension_page("options/options.html"))
    rows = lambda: driver.find_elements(By.CSS_SELECTOR, "#models tbody tr")  # noqa: E731
    wait_until(lambda: len(rows()) == 2, "the tool-capable models")
    listed = {row.get_attribute("data-model"): row.text for row in rows()}
    assert set(listed) == {"scripted/small-4k", "scripted/vision"}, "the one that cannot use tools is hidden"
    assert "Scripted Small 4K" in listed["scripted/small-4k"] and "4K" in listed["scripted/small-4k"]
    assert "$2.00 / $10.00" in listed["scripted/small-4k"], "per million tokens, in and out"
    assert "33K" in listed["scripted/vision"] and "$1.00 / $4.00" in listed["scripted/vision"]
    assert "1 that cannot use tools are hidden" in driver.find_element(By.ID, "models-status").text
    assert driver.find_element(By.CSS_SELECTOR, "tr.chosen").get_attribute("data-model") == "scripted/vision"

    driver.find_element(By.ID, "model-search").send_keys("small")
    wait_until(lambda: len(rows()) == 1, "the search to narrow the list")
    driver.find_element(By.ID, "model-search").clear()
    driver.execute_script("document.getElementById('model-search').dispatchEvent(new Event('input'))")
    driver.find_element(By.ID, "all-models").click()
    wait_until(lambda: len(rows()) == 3, "every model")
    screenshot(driver, "options-model-picker")

    driver.find_element(By.CSS_SELECTOR, "tr[data-model='scripted/small-4k']").click()
    form = driver.find_element(By.ID, "llm")
    assert form.find_element(By.NAME, "model").get_attribute("value") == "scripted/small-4k"
    prompt = form.find_element(By.NAME, "system_prompt").get_attribute("value")
    assert "{servers}" in prompt and "Notion MCP Bridge" in prompt, "the default prompt is shown to edit"
    form.find_element(By.NAME, "summarize").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(lambda: "Saved." in driver.find_element(By.ID, "llm-status").text, "the save")
    stored = json.loads(world.config.read_text())["llm"]
    assert stored["model"] == "scripted/small-4k" and stored["summarize"] is True
    assert stored["system_prompt"] is None, "the default, unchanged, is not stored as the person's own"


def test_rich_answers_tool_images_usage_and_the_left_out_marker(world):
    driver, llm = world.driver, world.llm
    llm.plan = [
        {"tool_calls": [{"name": "toy__picture", "arguments": {}}]},
        {"pieces": [RICH_ANSWER[:40], RICH_ANSWER[40:200], RICH_ANSWER[200:]], "completion_tokens": 120},
    ]
    open_panel(driver)
    send(driver, "Show me the picture and the figures")
    wait_until(lambda: turns_done(driver) == 1, "the first answer")

    answer = driver.find_element(By.CSS_SELECTOR, ".msg.assistant")
    table = answer.find_element(By.TAG_NAME, "table")
    assert [th.text for th in table.find_elements(By.TAG_NAME, "th")] == ["Team", "Users", "Growth"]
    assert table.find_elements(By.CSS_SELECTOR, "td strong")[0].text == "120"
    nested = answer.find_elements(By.CSS_SELECTOR, "ul > li > ul > li > ol > li")
    assert [li.text for li in nested] == ["Oslo", "Bergen"]
    code = answer.find_element(By.CSS_SELECTOR, ".codeblock pre code")
    assert code.text == 'print("figures < targets")'
    assert answer.find_element(By.CSS_SELECTOR, ".codeblock button.copy").text == "Copy"
    link = answer.find_element(By.CSS_SELECTOR, "blockquote a")
    assert link.get_attribute("href") == "https://example.com/report_(q3)"
    assert link.get_attribute("rel") == "noopener noreferrer" and link.get_attribute("target") == "_blank"

    card = driver.find_element(By.CSS_SELECTOR, ".toolcard")
    card.find_element(By.TAG_NAME, "summary").click()
    image = card.find_element(By.CSS_SELECTOR, "figure.media img")
    assert image.get_attribute("src").startswith("data:image/png;base64,")
    wait_until(lambda: driver.execute_script("return arguments[0].naturalWidth", image) == 48, "the image")

    used = driver.find_element(By.CSS_SELECTOR, ".turn-usage").text
    prompt_tokens = llm.prompt_tokens[0] + llm.prompt_tokens[1]
    cost = prompt_tokens * 0.000001 + (7 + 120) * 0.000004
    assert used == f"{prompt_tokens:,} in · 127 out · ${cost:.4f}", used
    assert driver.find_element(By.ID, "usage").text == f"This chat: {used}"
    screenshot(driver, "panel-rich-answer")

    # A 4,096-token model and long messages: the earliest turns stop being sent, and the panel shows where.
    driver.get(extension_page("options/options.html"))
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, "tr[data-model='scripted/small-4k']"), "the picker"
    )
    driver.find_element(By.CSS_SELECTOR, "tr[data-model='scripted/small-4k']").click()
    driver.find_element(By.CSS_SELECTOR, "#llm button[type=submit]").click()
    wait_until(lambda: "Saved." in driver.find_element(By.ID, "llm-status").text, "the model to be saved")
    llm.context_limit = 4096
    open_panel(driver)
    driver.find_element(By.ID, "conversations").click()
    conversation = driver.find_elements(By.CSS_SELECTOR, "#conversations option")[1]
    conversation.click()
    wait_until(
        lambda: turns_done(driver) == 0 and driver.find_elements(By.CSS_SELECTOR, ".msg.assistant table"),
        "the conversation again",
    )
    assert "This chat:" in driver.find_element(By.ID, "usage").text, "the total comes back with the history"
    for n in range(1, 5):
        llm.plan.append({"text": f"Noted {n}."})
        send(driver, words_of(n, 900))
        wait_until(lambda n=n: turns_done(driver) == n, f"answer {n}")
    marker = driver.find_element(By.CSS_SELECTOR, ".left-out")
    assert "no longer sent to the model (its context is 4,096 tokens)" in marker.text
    left_out = int(marker.text.split()[1])
    following = driver.execute_script("return arguments[0].nextElementSibling", marker)
    assert following.get_attribute("data-turn") == "true"
    starts = driver.find_elements(By.CSS_SELECTOR, ".msg.user[data-turn]")
    assert starts[left_out] == following
    assert max(llm.prompt_tokens) <= 4096
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", marker)
    screenshot(driver, "panel-left-out-marker")

    # Regenerate the last answer, then edit the last message.
    llm.plan.append({"text": "Noted again."})
    driver.find_element(By.CSS_SELECTOR, ".turn-actions .regenerate").click()
    wait_until(lambda: "Noted again." in driver.find_element(By.ID, "log").text, "the new answer")
    assert "Noted 4." not in driver.find_element(By.ID, "log").text
    llm.plan.append({"text": "Edited and answered."})
    driver.find_element(By.CSS_SELECTOR, ".turn-actions .edit").click()
    assert driver.find_element(By.ID, "send").text == "Resend"
    send(driver, "Forget that; just say hello.")
    wait_until(lambda: "Edited and answered." in driver.find_element(By.ID, "log").text, "the edited turn")
    users = [u.text for u in driver.find_elements(By.CSS_SELECTOR, ".msg.user[data-turn]")]
    assert users[-1] == "Forget that; just say hello." and not any(u.startswith("Turn 4:") for u in users)
    assert llm.requests[-1]["messages"][-1] == {"role": "user", "content": "Forget that; just say hello."}
