"""The chat panel in Chromium: a side panel per tab, bound to that tab and to a conversation of its own.

Selenium cannot switch into a side panel, so the tests show the panel's page as a tab at the address the side panel
uses (``panel/panel.html?tab=<id>``); one test opens the real side panel and checks it loads, bound to its tab.
They ask on a page and approve a write that reaches the Notion-compatible server; run two tabs' chats at once;
let a hostile page frame the panel while a write waits, which Chrome refuses; and open and close the chat through
the message the toolbar popup sends.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import threading
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from dev_notion.testing import DevNotionProcess
from devkit.browser import EXTENSION_DIR, chromium, extension_page, install_host, screenshot, wait_until
from devkit.host_process import write_config
from tests.support.processes import free_port
from tests.support.scripted_llm import ScriptedLLM

ARTICLE = """<!doctype html><html><head><title>Espresso basics</title></head><body><article>
<h1>Espresso basics</h1><p>Grind fine, dose 18 grams, and pull for 28 seconds.</p></article></body></html>"""

TEA = """<!doctype html><html><head><title>Green tea</title></head><body><article>
<h1>Green tea</h1><p>Steep at 80 degrees for two minutes.</p></article></body></html>"""

# A page that, once it knows the panel's address (as a page could by reading an injected iframe's src), frames it,
# makes it invisible over a decoy, and clicks everywhere it can.
HOSTILE = """<!doctype html><html><head><title>Win a prize</title></head><body><article>
<h1>Espresso basics</h1><p>Grind fine, dose 18 grams, and pull for 28 seconds.</p></article>
<button id="decoy" style="position:fixed;inset:0;width:100vw;height:100vh;font-size:40px">Claim your prize</button>
<script>
window.attack = (panelUrl) => new Promise((resolve) => {
  const frame = document.createElement("iframe");
  frame.id = "stolen";
  frame.src = panelUrl;
  frame.style.cssText = "position:fixed;inset:0;width:100vw;height:100vh;opacity:0;z-index:2147483647;border:0";
  frame.addEventListener("load", () => {
    const report = {loaded: true};
    try { report.peek = frame.contentDocument === null ? "no access" : frame.contentDocument.body.innerText; }
    catch (e) { report.peek = "no access: " + e.name; }
    for (const [x, y] of [[40, 40], [200, 300], [innerWidth / 2, innerHeight / 2], [innerWidth - 40, innerHeight - 40]]) {
      const target = document.elementFromPoint(x, y);
      for (const type of ["pointerdown", "mousedown", "pointerup", "mouseup", "click"]) {
        target.dispatchEvent(new MouseEvent(type, {bubbles: true, clientX: x, clientY: y}));
      }
    }
    frame.click();
    frame.contentWindow.postMessage({type: "request", verb: "chat.approve", fields: {approve: true}}, "*");
    resolve(report);
  });
  document.body.append(frame);
});
</script></body></html>"""


@dataclass
class World:
    driver: Any
    base: str
    llm: ScriptedLLM
    notion: DevNotionProcess


@pytest.fixture
def world(tmp_path):
    with make_world(tmp_path, with_model=True) as made:
        yield made


@pytest.fixture
def world_without_model(tmp_path):
    with make_world(tmp_path, with_model=False) as made:
        yield made


@contextlib.contextmanager
def make_world(tmp_path, *, with_model: bool):
    """Chromium with the extension, the Notion-compatible server and the sample SQLite database; the chat model
    is the scripted one, or (``with_model=False``) the default hosted endpoint with no key: no model at all."""
    site = tmp_path / "site"
    site.mkdir()
    for name, html in (("article.html", ARTICLE), ("tea.html", TEA), ("hostile.html", HOSTILE)):
        (site / name).write_text(html)
    port = free_port()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    web = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    # Selenium cannot make the toolbar or shortcut gesture that grants activeTab, so the test loads a copy of the
    # extension that may script 127.0.0.1 pages; reading the page is the product's own code path.
    extension = tmp_path / "extension"
    shutil.copytree(EXTENSION_DIR, extension)
    manifest = json.loads((extension / "manifest.json").read_text())
    manifest["host_permissions"] = ["http://127.0.0.1/*"]
    (extension / "manifest.json").write_text(json.dumps(manifest))
    profile, home = tmp_path / "profile", tmp_path / "home"
    with ScriptedLLM() as llm, DevNotionProcess(auth=False) as notion:
        sqlite = {"id": "sqlite", "name": "SQLite", "kind": "stdio", "builtin": "sqlite",
                  "db_path": str(home / "data" / "sample.db")}  # fmt: skip
        config = write_config(
            home, [{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url}, sqlite]
        )
        if with_model:
            stored = json.loads(config.read_text())
            stored["llm"] = {"base_url": llm.base_url, "model": "scripted"}
            config.write_text(json.dumps(stored))
        install_host(profile, home)
        with chromium(profile, extension=extension) as driver:
            yield World(driver, f"http://127.0.0.1:{port}", llm, notion)
    web.shutdown()


def tab_id(driver, url: str) -> int:
    """The id of the tab showing ``url``, asked from an extension page as the popup would."""
    return int(
        driver.execute_async_script(
            "const [url, done] = arguments; chrome.tabs.query({url}).then(([tab]) => done(tab.id));", url
        )
    )


@dataclass
class Panel:
    page: str  # window handle of the page the chat is for
    handle: str  # window handle of the panel
    tab: int  # the page's tab id, which the panel is bound to


def open_panel(driver, page_url: str) -> Panel:
    driver.switch_to.new_window("tab")
    driver.get(page_url)
    page = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(extension_page("popups/popup.html"))
    wait_until(
        lambda: driver.find_element(By.ID, "servers").text.count("Connected") == 2, "both servers to connect"
    )
    tab = tab_id(driver, page_url)
    driver.get(extension_page(f"panel/panel.html?tab={tab}"))
    wait_until(lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "the panel")
    return Panel(page, driver.current_window_handle, tab)


def ask(driver, panel: Panel, question: str, *, use_page: bool = False) -> None:
    driver.switch_to.window(panel.handle)
    if use_page and not driver.find_element(By.ID, "use-page").is_selected():
        driver.find_element(By.ID, "use-page").click()
    driver.find_element(By.ID, "text").send_keys(question)
    driver.find_element(By.ID, "send").click()


def log_text(driver) -> str:
    return str(driver.find_element(By.ID, "log").text)


def approval_buttons(driver) -> list:
    return list(driver.find_elements(By.CSS_SELECTOR, ".toolcard button.connect"))


def reading_list(notion: DevNotionProcess) -> str:
    """The Reading List database's id (a database with one data source takes a database_id parent)."""
    found = notion.call("notion-search", query="Reading List")["results"]
    return str(next(r["id"] for r in found if r["type"] == "database"))


def save_to_reading_list(database: str, title: str, content: str, call_id: str | None = None) -> dict:
    call = {"name": "notion__notion-create-pages", "arguments": {
        "parent": {"database_id": database}, "pages": [{"properties": {"Name": title}, "content": content}]}}  # fmt: skip
    return {**call, "id": call_id} if call_id else call


def test_ask_on_a_page_and_approve_a_write(world):
    driver, llm, notion = world.driver, world.llm, world.notion
    page_url = f"{world.base}/article.html"
    llm.plan = [
        {"pieces": ["Saving ", "it now."], "tool_calls": [
            save_to_reading_list(reading_list(notion), "Espresso basics", "Grind fine, dose 18 grams.")]},
        {"pieces": ["Saved it to ", "your **Reading List**."]},
    ]  # fmt: skip
    panel = open_panel(driver, page_url)
    ask(driver, panel, "Save this article to my Reading List", use_page=True)
    wait_until(lambda: approval_buttons(driver), "the approval buttons")
    card = driver.find_element(By.CSS_SELECTOR, ".toolcard").text
    assert "notion-create-pages" in card and "Needs your approval" in card and "Espresso basics" in card
    assert not notion.admin("pages", title="Espresso basics")["pages"], "nothing is written before approval"
    screenshot(driver, "panel-awaiting-approval")
    approval_buttons(driver)[0].click()
    wait_until(lambda: "Saved it to your Reading List." in log_text(driver), "the answer")
    assert driver.find_elements(By.CSS_SELECTOR, "#log strong")  # Markdown rendered as elements, safely
    assert len(notion.admin("pages", title="Espresso basics")["pages"]) == 1
    user_message = next(m for m in llm.requests[0]["messages"] if m["role"] == "user")["content"]
    assert "Grind fine, dose 18 grams" in user_message and page_url in user_message, (
        "the panel's tab went along as context"
    )
    wait_until(
        lambda: "Save this article" in driver.find_element(By.ID, "conversations").text, "the list to name it"
    )
    screenshot(driver, "panel-answered")


def test_save_page_to_notion_and_an_unreadable_page(world):
    driver, notion = world.driver, world.notion
    page_url = f"{world.base}/article.html"
    panel = open_panel(driver, page_url)
    driver.find_element(By.ID, "save-page").click()
    form = driver.find_element(By.ID, "save-form")
    wait_until(lambda: form.find_elements(By.CSS_SELECTOR, "input[name=find]"), "where to save it")
    form.find_element(By.CSS_SELECTOR, "input[name=find]").send_keys("Reading\n")

    def pick() -> bool:
        Select(form.find_element(By.CSS_SELECTOR, "select[name=found]")).select_by_visible_text(
            "▦ Reading List"
        )
        return True

    wait_until(pick, "the Reading List among what was found")
    wait_until(lambda: "In the data source Reading List" in form.text, "the data source to be chosen")
    driver.find_element(By.ID, "save-now").click()
    wait_until(lambda: "Done" in driver.find_element(By.CSS_SELECTOR, ".toolcard").text, "the save")
    saved = notion.admin("pages", title="Espresso basics")["pages"]
    assert (
        len(saved) == 1 and page_url in saved[0]["content"] and "pull for 28 seconds" in saved[0]["content"]
    )
    assert saved[0]["parent"]["type"] == "data_source", "a row of the Reading List"

    # The tab moves on to a page the extension may not read: "Use this page" says so and what to do.
    driver.switch_to.window(panel.page)
    driver.get("chrome://version")
    ask(driver, panel, "Summarise this page", use_page=True)
    wait_until(lambda: driver.find_element(By.ID, "problem").is_displayed(), "the reason")
    assert (
        "Press Alt+Shift+K on this page to let the chat read it."
        in driver.find_element(By.ID, "problem").text
    )
    assert driver.find_element(By.ID, "text").get_attribute("value") == "Summarise this page", (
        "kept, not sent"
    )
    assert world.llm.requests == []
    screenshot(driver, "panel-page-unreadable")


def test_a_page_that_frames_the_panel_gets_a_blocked_frame_and_approves_nothing(world):
    driver, llm, notion = world.driver, world.llm, world.notion
    page_url = f"{world.base}/hostile.html"
    llm.plan = [
        {"tool_calls": [save_to_reading_list(reading_list(notion), "Espresso basics", "Grind fine.")]},
        {"text": "Saved it."},
    ]
    panel = open_panel(driver, page_url)
    ask(driver, panel, "Save this article to my Reading List")
    wait_until(lambda: approval_buttons(driver), "the approval buttons")
    approve_at = approval_buttons(driver)[0].rect

    driver.switch_to.window(panel.page)
    stolen_url = extension_page(f"panel/panel.html?tab={panel.tab}")
    report = driver.execute_async_script(
        "const [url, done] = arguments; window.attack(url).then(done);", stolen_url
    )
    assert report["loaded"] and report["peek"].startswith("no access"), report
    # Real clicks, as the person's would be: where the real panel's Approve is, and on the decoy's middle.
    frame = driver.find_element(By.ID, "stolen")
    for x, y in ((approve_at["x"] + 5, approve_at["y"] + 5), (200, 300)):
        # Offsets count from the frame's centre; the frame covers the whole window.
        dx, dy = int(x - frame.rect["width"] / 2), int(y - frame.rect["height"] / 2)
        ActionChains(driver).move_to_element_with_offset(frame, dx, dy).click().perform()
    screenshot(driver, "panel-framed-by-a-page")
    driver.switch_to.frame(frame)
    for chat_part in ("#log", "#send", ".toolcard", "#use-page"):
        assert driver.find_elements(By.CSS_SELECTOR, chat_part) == [], f"the framed page has {chat_part}"
    where = driver.execute_script("return location.href")
    words = driver.execute_script("return document.body ? document.body.innerText : ''")
    assert where.startswith("chrome-error://") and "blocked" in words.lower(), (where, words[:200])
    driver.switch_to.default_content()

    assert not notion.admin("pages", title="Espresso basics")["pages"], "no approval went through"
    assert len(llm.requests) == 1, "the agent still waits"
    driver.switch_to.window(panel.handle)
    assert "Needs your approval" in driver.find_element(By.CSS_SELECTOR, ".toolcard").text
    approval_buttons(driver)[0].click()
    wait_until(lambda: "Saved it." in log_text(driver), "the answer")
    # The first answer to a call is the only one: had the page's clicks or message approved it at any
    # moment, this approval would have been refused (unknown_call, shown as the panel's problem).
    assert not driver.find_element(By.ID, "problem").is_displayed()
    assert len(notion.admin("pages", title="Espresso basics")["pages"]) == 1
    assert len(llm.requests) == 2


def test_two_tabs_each_chat_in_their_own_panel_at_once(world):
    """Both models number their call call_1; each panel shows its own conversation's text and cards only."""
    driver, llm, notion = world.driver, world.llm, world.notion
    database = reading_list(notion)
    llm.routes = {
        "alpha": [
            {"pieces": ["Alpha ", "is saving ", "espresso."], "delay": 0.05, "tool_calls": [
                save_to_reading_list(database, "Espresso basics", "Grind fine.", "call_1")]},
            {"pieces": ["Alpha saved ", "the espresso page."], "delay": 0.05},
        ],
        "bravo": [
            {"pieces": ["Bravo ", "is saving ", "tea."], "delay": 0.05, "tool_calls": [
                save_to_reading_list(database, "Green tea", "Steep at 80 degrees.", "call_1")]},
            {"pieces": ["Bravo saved ", "the tea page."], "delay": 0.05},
        ],
    }  # fmt: skip
    espresso = open_panel(driver, f"{world.base}/article.html")
    tea = open_panel(driver, f"{world.base}/tea.html")
    ask(driver, espresso, "alpha: save this page", use_page=True)
    ask(driver, tea, "bravo: save this page", use_page=True)
    for panel in (espresso, tea):
        driver.switch_to.window(panel.handle)
        wait_until(lambda: approval_buttons(driver), "the approval buttons")

    def shown(panel: Panel) -> tuple[str, list[str]]:
        driver.switch_to.window(panel.handle)
        cards = driver.find_elements(By.CSS_SELECTOR, ".toolcard")
        return log_text(driver), [c.text for c in cards]

    text, cards = shown(espresso)
    assert "Alpha is saving espresso." in text and "Bravo" not in text and "Green tea" not in text
    assert len(cards) == 1 and "Espresso basics" in cards[0]
    text, cards = shown(tea)
    assert "Bravo is saving tea." in text and "Alpha" not in text and "Espresso basics" not in text
    assert len(cards) == 1 and "Green tea" in cards[0]
    driver.switch_to.window(espresso.handle)
    first_card = driver.find_element(By.CSS_SELECTOR, ".toolcard").get_attribute("data-call")
    driver.switch_to.window(tea.handle)
    assert (
        first_card == driver.find_element(By.CSS_SELECTOR, ".toolcard").get_attribute("data-call") == "call_1"
    )
    screenshot(driver, "panel-two-tabs")

    approval_buttons(driver)[0].click()  # the tea panel's
    wait_until(lambda: "Bravo saved the tea page." in log_text(driver), "the tea answer")
    assert notion.admin("pages", title="Green tea")["pages"]
    assert not notion.admin("pages", title="Espresso basics")["pages"], "the espresso call still waits"
    text, cards = shown(espresso)
    assert "Needs your approval" in cards[0] and "Bravo" not in text
    approval_buttons(driver)[0].click()
    wait_until(lambda: "Alpha saved the espresso page." in log_text(driver), "the espresso answer")
    assert "Bravo" not in log_text(driver) and len(driver.find_elements(By.CSS_SELECTOR, ".toolcard")) == 1
    assert len(notion.admin("pages", title="Espresso basics")["pages"]) == 1
    text, cards = shown(tea)
    assert "Alpha" not in text and len(cards) == 1

    firsts = {next(m for m in r["messages"] if m["role"] == "user")["content"] for r in llm.requests}
    assert any(f.startswith("alpha") and f"{world.base}/article.html" in f for f in firsts)
    assert any(f.startswith("bravo") and f"{world.base}/tea.html" in f for f in firsts), (
        "each panel read its own tab"
    )


SIDE_PANELS = """
const done = arguments[arguments.length - 1];
chrome.runtime.getContexts({contextTypes: ["SIDE_PANEL"]}).then((found) => done(found.map((c) => c.documentUrl)));
"""

OPEN_AS_THE_POPUP_DOES = """
const [tabId, done] = arguments;
chrome.runtime.sendMessage({type: "chat.open", tabId}).then((outcome) =>
  chrome.sidePanel.getOptions({tabId}).then((options) => done({outcome, options})));
"""

# A button on an extension page that sends the popup's message, so a WebDriver click, which Chrome counts as the
# person's gesture, reaches sidePanel.open the way a click in the popup does.
GESTURE_BUTTON = """
const [tabId] = arguments;
const button = document.createElement("button");
button.id = "open-for-tab";
button.textContent = "Open chat";
button.style.cssText = "position:fixed;top:0;left:0;width:300px;height:80px;z-index:2147483647";
button.addEventListener("click", () =>
  chrome.runtime.sendMessage({type: "chat.open", tabId}).then((outcome) => (window.opened = outcome)));
document.body.prepend(button);
"""


def test_opening_the_chat_binds_the_tabs_side_panel_and_closing_takes_it_down(world):
    driver = world.driver
    page_url = f"{world.base}/article.html"
    driver.get(page_url)
    article = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(extension_page("options/options.html"))
    extension_tab = driver.current_window_handle
    tab = tab_id(driver, page_url)
    before = driver.execute_async_script(
        "const [tabId, done] = arguments; chrome.sidePanel.getOptions({tabId}).then(done);", tab
    )
    assert not before.get("path"), before

    # Without a gesture (a script, as here) Chrome refuses open(); the panel is set up all the same.
    plain = driver.execute_async_script(OPEN_AS_THE_POPUP_DOES, tab)
    print("open() without a gesture:", plain["outcome"])
    assert plain["options"] == {"tabId": tab, "path": f"panel/panel.html?tab={tab}", "enabled": True}
    assert plain["outcome"]["configured"] is True
    if not plain["outcome"]["opened"]:
        assert "gesture" in plain["outcome"]["error"], plain["outcome"]

    # With one, the side panel opens for that tab, on that tab's page.
    driver.execute_script(GESTURE_BUTTON, tab)
    driver.find_element(By.ID, "open-for-tab").click()
    wait_until(lambda: driver.execute_script("return window.opened"), "the open to be answered")
    print("open() on a click:", driver.execute_script("return window.opened"))
    assert driver.execute_script("return window.opened")["ok"] is True
    driver.switch_to.window(article)  # a tab's own panel shows when its tab is the active one
    driver.switch_to.window(extension_tab)
    panel_url = extension_page(f"panel/panel.html?tab={tab}")
    wait_until(lambda: panel_url in driver.execute_async_script(SIDE_PANELS), "the side panel to load")
    # The side panel is an extension view like the others: its document is the chat, bound to the tab, and ready.
    view = (
        "return chrome.extension.getViews().filter((v) => v.location.href === arguments[0])"
        ".map((v) => ({log: !!v.document.getElementById('log'), ready: v.document.body.dataset.ready}));"
    )
    wait_until(
        lambda: driver.execute_script(view, panel_url) == [{"log": True, "ready": "true"}], "the chat in it"
    )

    driver.execute_script(
        "chrome.runtime.connect({name: 'ui'}).postMessage({type: 'panel.close', tabId: arguments[0]});", tab
    )
    wait_until(lambda: panel_url not in driver.execute_async_script(SIDE_PANELS), "the side panel to close")
    after = driver.execute_async_script(
        "const [tabId, done] = arguments; chrome.sidePanel.getOptions({tabId}).then(done);", tab
    )
    assert after["enabled"] is False


def card_texts(driver) -> list[str]:
    """Each tool card's whole text, its collapsed result included."""
    return [c.get_attribute("textContent") for c in driver.find_elements(By.CSS_SELECTOR, ".toolcard")]


def slash(driver, command: str, cards: int) -> str:
    """Send a slash command and return its card's text once it is done."""
    driver.find_element(By.ID, "text").send_keys(command)
    driver.find_element(By.ID, "send").click()
    wait_until(lambda: len(card_texts(driver)) == cards and "Done" in card_texts(driver)[-1], command)
    return card_texts(driver)[-1]


def test_slash_commands_call_tools_without_a_model(world_without_model):
    world = world_without_model
    driver, notion = world.driver, world.notion
    open_panel(driver, f"{world.base}/article.html")
    # Before the first message: what is connected, with its tools, and the way to set up a model.
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, '#intro [data-server="notion"]'), "the intro")
    intro = driver.find_element(By.ID, "intro").text
    assert "SQLite" in intro and "Notion" in intro and "tools" in intro and "/sql" in intro, intro
    examples = [b.text for b in driver.find_elements(By.CSS_SELECTOR, "#intro button.example")]
    assert len(examples) == 3 and all(e.startswith("/") for e in examples), (
        "slash commands, as there is no model"
    )
    assert "No chat model is set up" in driver.find_element(By.ID, "no-model").text
    driver.find_element(By.CSS_SELECTOR, '#no-model button[data-fix="options"]').click()
    options_tabs = (
        "const done = arguments[0]; chrome.tabs.query({url: chrome.runtime.getURL('options/options.html')})"
        ".then((tabs) => done(tabs.map((t) => t.id)));"
    )
    wait_until(lambda: driver.execute_async_script(options_tabs), "the options page to open")
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1]; chrome.tabs.remove(arguments[0]).then(done);",
        driver.execute_async_script(options_tabs),
    )

    ask(driver, Panel("", driver.current_window_handle, 0), "What is in my workspace?")
    wait_until(lambda: driver.find_element(By.ID, "problem").is_displayed(), "the reason")
    assert driver.find_element(By.ID, "problem").text.startswith(
        "No chat model is set up: add one in the options page, or use /search, /sql or /tool."
    )
    assert driver.find_element(By.CSS_SELECTOR, '#problem button[data-fix="options"]').is_displayed()
    driver.find_element(By.ID, "text").clear()

    searched = slash(driver, "/search handbook", 1)
    assert "notion-search" in searched and "Engineering Handbook" in searched
    assert notion.admin("stats")["calls"].get("notion-search") == 1
    counted = slash(driver, "/sql SELECT COUNT(*) AS n FROM users", 2)
    # The card names the server as its status card does ("SQLite"), and shows the result as a table, open.
    assert "SQLite · read_query" in counted and "1 row" in counted
    last = driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1]
    assert [td.text for td in last.find_elements(By.CSS_SELECTOR, "table.rows td")] == ["120"]
    users = slash(driver, "/tool notion.notion-get-users {}", 3)
    assert "notion-get-users" in users and "Ada Lovelace" in users
    screenshot(driver, "panel-slash-commands")

    # A table with the right row count, without a click; the arguments are folded away.
    slash(driver, "/sql SELECT id, name FROM users ORDER BY id", 4)
    last = driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1]
    table = last.find_element(By.CSS_SELECTOR, ".result-table")
    assert table.get_attribute("data-rows") == "120" and table.is_displayed()
    assert last.find_element(By.CSS_SELECTOR, ".table-bar .count").text == "120 rows"
    assert len(last.find_elements(By.CSS_SELECTOR, "table.rows tbody tr")) == 120
    assert not last.find_element(By.CSS_SELECTOR, "details.args pre").is_displayed()
    # Sorting by a header click: id descending after two clicks.
    header = last.find_element(By.CSS_SELECTOR, "table.rows th button.sort")
    header.click()
    header.click()
    assert last.find_element(By.CSS_SELECTOR, "table.rows tbody td").text == "120"

    # A thousand rows scroll through a window of them: only the rows in view are in the page. The query asks
    # for one more than the server's limit of 1,000, so the result also says it was cut short.
    thousand = "/sql WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1001) SELECT i, i * i AS square FROM n"
    slash(driver, thousand, 5)
    last = driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1]
    big = last.find_element(By.CSS_SELECTOR, ".result-table")
    assert big.get_attribute("data-rows") == "1000" and big.get_attribute("data-virtual") == "true"
    assert last.find_element(By.CSS_SELECTOR, ".table-bar .count").text == "1,000 rows, truncated"
    drawn = len(last.find_elements(By.CSS_SELECTOR, "table.rows tbody tr:not(.spacer)"))
    assert 0 < drawn < 100, drawn
    driver.execute_script(
        "arguments[0].scrollTop = 26 * 700", last.find_element(By.CSS_SELECTOR, ".table-scroll")
    )
    wait_until(
        lambda: "701" in [td.text for td in last.find_elements(By.CSS_SELECTOR, "table.rows tbody td")],
        "row 701 in view",
    )
    assert len(last.find_elements(By.CSS_SELECTOR, "table.rows tbody tr:not(.spacer)")) < 100

    driver.find_element(By.ID, "text").send_keys("/summon everything")
    driver.find_element(By.ID, "send").click()
    wait_until(lambda: "unknown command" in driver.find_element(By.ID, "problem").text, "the refusal")
    assert driver.find_element(By.ID, "problem").text == "unknown command /summon; try /search, /sql or /tool"
    assert world.llm.requests == [], "no model was asked anything"


def test_stop_ends_the_turn_and_the_next_one_works(world):
    driver, llm = world.driver, world.llm
    llm.plan = [{"pieces": [f"word{i} " for i in range(300)], "delay": 0.1}, {"text": "Short answer."}]
    panel = open_panel(driver, f"{world.base}/article.html")
    ask(driver, panel, "Talk for a long while")
    stop = driver.find_element(By.ID, "stop")
    wait_until(lambda: stop.is_displayed() and "word3" in log_text(driver), "the answer to stream, and Stop")
    assert driver.find_element(By.ID, "send").get_attribute("disabled") is not None
    stop.click()
    wait_until(lambda: not stop.is_displayed(), "Stop to go")
    assert driver.find_element(By.ID, "send").get_attribute("disabled") is None, "Send is back"
    wait_until(lambda: llm.streams_abandoned == 1, "the model's stream to be dropped")
    assert llm.streams_finished == 0 and "word299" not in log_text(driver)
    screenshot(driver, "panel-stopped")

    ask(driver, panel, "And now briefly")
    wait_until(lambda: "Short answer." in log_text(driver), "the next answer")
    history = [(m["role"], m.get("content")) for m in llm.requests[1]["messages"]]
    assert history[-3:] == [
        ("user", "Talk for a long while"),
        ("assistant", "(stopped)"),
        ("user", "And now briefly"),
    ], "the stopped turn left a valid history, and the next turn carries it"
