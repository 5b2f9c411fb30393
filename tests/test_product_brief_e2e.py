"""The product brief's five test cases, end to end through the real extension in Chromium: the Notion-compatible
server (strict about redirect URIs, as Notion's is), the host, and a scripted model where a model is involved.

1. Connect a Notion workspace: authorize, tokens stored, the workspace's name and icon appear.
2. "List my Notion databases": the model calls the listing tool and the databases are shown.
3. A database and a filter given in the form, then Ask: the request goes to the chat, the model runs the query, rows.
4. SQLite and Notion both connected: one question, tools of both called, one combined answer.
5. Parent, title and Markdown in the form, then Run: the page exists in the workspace (checked by fetch).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By

from devkit.browser import card_text, screenshot, wait_until
from host import EXTENSION_ID
from host.oauth.browser_step import redirect_uri
from host.token_store import EncryptedFileBackend, TokenStore
from tests.support.extension_world import World, choose, open_form, open_panel, open_popup, sign_in, world

NOTION = {"auth": True, "strict_redirects": True, "workspace_name": "Acme Corp", "workspace_icon": "🏢"}


def test_1_connect_a_workspace_authorize_tokens_stored_name_and_icon_shown(tmp_path):
    with world(tmp_path, [NOTION]) as w:
        driver = w.driver
        open_popup(w)
        before = card_text(driver, "notion")
        assert "Acme" not in before and "Needs auth" not in before
        sign_in(w)
        card = driver.find_element(By.CSS_SELECTOR, '[data-server="notion"]')
        assert card.find_element(By.CSS_SELECTOR, ".ws-icon").text == "🏢"
        assert card.find_element(By.CSS_SELECTOR, ".title").text == "Notion · Acme Corp"
        screenshot(driver, "brief-1-connected")
        stored = TokenStore(EncryptedFileBackend(w.home / "data")).load(_profile(w), "notion")
        assert stored is not None and stored.access_token and stored.refresh_token
        assert stored.workspace_name == "Acme Corp" and stored.workspace_icon == "🏢", "kept with the sign-in"
        assert stored.scope == "default", "the scope the server advertises"
        # The redirect URI: what chrome.identity receives sign-ins at, what the host registered, byte for byte.
        chrome_says = driver.execute_script("return chrome.identity.getRedirectURL('oauth/notion')")
        assert chrome_says == redirect_uri(EXTENSION_ID, "notion")
        checks = w.notion.admin("redirect-checks")
        assert list(checks["registered"].values()) == [[chrome_says]] and checks["refusals"] == []


def _profile(w: World) -> str:
    backend = EncryptedFileBackend(w.home / "data")
    (key,) = [k for k in backend._load() if k.endswith("/notion")]
    return key.split("/", 1)[0]


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory) -> Iterator[World]:
    with world(tmp_path_factory.mktemp("brief"), [NOTION], sqlite=True) as w:
        sign_in(w)
        wait_until(lambda: "Connected" in card_text(w.driver, "sqlite"), "SQLite to connect")
        yield w


def fresh_panel(w: World) -> None:
    """A panel for a tab of its own, so each case starts its own conversation."""
    w.next_tab += 1
    open_panel(w, tab=w.next_tab)
    w.llm.plan, w.llm.routes = [], {}
    w.llm.requests.clear()


def approve_everything(w: World, until: str) -> None:
    """Press Approve on each call that waits, until the answer holding `until` is shown."""
    driver = w.driver

    def done() -> bool:
        for button in driver.find_elements(By.CSS_SELECTOR, ".toolcard button.connect"):
            if button.is_enabled():
                button.click()
        return until in driver.find_element(By.ID, "log").text

    wait_until(done, f"the answer {until!r}", 60)


def ask(w: World, text: str) -> None:
    w.driver.find_element(By.ID, "text").send_keys(text)
    w.driver.find_element(By.ID, "send").click()


def tasks_source(w: World) -> str:
    found = w.notion.call("notion-search", query="Tasks")["results"]
    database = next(r for r in found if r["type"] == "database" and r["title"] == "Tasks")
    return re.search(
        r"collection://[0-9a-f-]{36}", w.notion.call("notion-fetch", id=database["url"])["text"]
    ).group(0)


def test_2_list_my_notion_databases(signed_in):
    w = signed_in
    fresh_panel(w)
    listing = {"query": "", "sort": "last_edited", "page_size": 50}
    w.llm.plan = [
        {"tool_calls": [{"name": "notion__notion-search", "arguments": listing}]},
        {"pieces": ["Your databases: ", "Tasks, Roadmap, Customers, Projects and Reading List."]},
    ]
    ask(w, "List my Notion databases")
    approve_everything(w, "Tasks, Roadmap, Customers, Projects and Reading List.")
    card = w.driver.find_element(By.CSS_SELECTOR, ".toolcard")
    assert "Notion · Acme Corp · notion-search" in card.text
    card.find_element(By.TAG_NAME, "summary").click()
    table = card.find_element(By.CSS_SELECTOR, "table.rows").text
    for title in ("Tasks", "Roadmap", "Customers", "Projects", "Reading List"):
        assert title in table
    assert "database" in table
    offered = {t["function"]["name"] for t in w.llm.requests[0]["tools"]}
    assert {"notion__notion-search", "notion__notion-query-data-sources", "sqlite__read_query"} <= offered
    screenshot(w.driver, "brief-2-databases")


def test_3_a_database_and_a_filter_in_the_form_go_to_the_chat_and_the_model_runs_the_query(signed_in):
    w = signed_in
    fresh_panel(w)
    source = tasks_source(w)
    arguments = {"data": {"data_source_urls": [source], "query": f'SELECT * FROM "{source}" WHERE "Status" = ? LIMIT 25',
                          "params": ["In Progress"]}}  # fmt: skip
    w.llm.plan = [
        {"tool_calls": [{"name": "notion__notion-query-data-sources", "arguments": arguments}]},
        {"text": "Those are the tasks in progress."},
    ]
    open_form(w, "Query a database")
    driver = w.driver
    choose(driver, "#form-area select[name=database]", "Tasks")
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#form-area .nf-add-condition"), "the builder")
    driver.find_element(By.CSS_SELECTOR, "#form-area .nf-add-condition").click()
    condition = driver.find_element(By.CSS_SELECTOR, "#form-area .nf-condition")
    choose(driver, "select[name=property]", "Status", condition)
    choose(driver, "select[name=value]", "In Progress", condition)
    driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=query] .nf-ask").click()
    approve_everything(w, "Those are the tasks in progress.")
    sent = next(m for m in w.llm.requests[0]["messages"] if m["role"] == "user")["content"]
    assert (
        'Query the Notion database "Tasks"' in sent and json.dumps(arguments, separators=(",", ":")) in sent
    ), sent
    card = driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1]
    assert "notion-query-data-sources" in card.text and "Done" in card.text
    card.find_element(By.TAG_NAME, "summary").click()
    rows = card.find_element(By.CSS_SELECTOR, "table.rows").text
    expected = w.notion.call("notion-query-data-sources", **arguments)["results"]
    assert expected and all(r["Name"] in rows for r in expected)
    screenshot(driver, "brief-3-query-from-the-form")


def test_4_sqlite_and_notion_answer_one_question_together(signed_in):
    w = signed_in
    fresh_panel(w)
    w.llm.plan = [
        {"tool_calls": [
            {"name": "sqlite__read_query", "arguments": {"query": "SELECT COUNT(*) AS n FROM users"}},
            {"name": "notion__notion-search", "arguments": {"query": "", "sort": "last_edited", "page_size": 50}},
        ]},
        {"pieces": ["SQLite has 120 users, ", "and Notion has 5 databases."]},
    ]  # fmt: skip
    ask(w, "How many users in SQLite and databases in Notion?")
    approve_everything(w, "SQLite has 120 users, and Notion has 5 databases.")
    cards = [c.text for c in w.driver.find_elements(By.CSS_SELECTOR, ".toolcard")]
    assert any("sqlite" in c.lower() and "read_query" in c and "Done" in c for c in cards)
    assert any("Notion · Acme Corp · notion-search" in c and "Done" in c for c in cards)
    fed_back = [m["content"] for m in w.llm.requests[1]["messages"] if m["role"] == "tool"]
    assert any("120" in m for m in fed_back) and any('"type": "database"' in m for m in fed_back)
    screenshot(w.driver, "brief-4-both-servers")


def test_5_parent_title_and_markdown_in_the_form_make_a_page(signed_in):
    w = signed_in
    fresh_panel(w)
    driver = w.driver
    open_form(w, "Create a page")
    form = driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=create]")
    form.find_element(By.CSS_SELECTOR, "input[name=find]").send_keys("Acme Corp Home\n")
    choose(driver, "select[name=found]", "Acme Corp Home", form)
    wait_until(lambda: "Under the page Acme Corp Home" in form.text, "the parent")
    form.find_element(By.CSS_SELECTOR, "input[name=title]").send_keys("Meeting notes")
    form.find_element(By.CSS_SELECTOR, "textarea[name=markdown]").send_keys(
        "## Agenda\n- Budget\n- **Hiring**"
    )
    form.find_element(By.CSS_SELECTOR, ".nf-run").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#form-area .nf-created a"), "the page")
    url = driver.find_element(By.CSS_SELECTOR, "#form-area .nf-created a").get_attribute("href")
    page = w.notion.call("notion-fetch", id=url)
    assert page["title"] == "Meeting notes" and page["path"] == "Acme Corp Home"
    assert "## Agenda\n- Budget\n- **Hiring**" in page["text"]
    home = w.notion.call("notion-search", query="Acme Corp Home")["results"][0]
    assert (
        url.removeprefix("https://app.notion.com/p/") in w.notion.call("notion-fetch", id=home["url"])["text"]
    )
    screenshot(driver, "brief-5-page-created")
