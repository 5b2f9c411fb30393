"""Signing in to the Notion-compatible server from the popup, in a real Chromium: the consent window opens through
chrome.identity.launchWebAuthFlow, and the card follows what the person does there."""

from __future__ import annotations

import json
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from dev_notion.testing import DevNotionProcess
from devkit.browser import (
    ARTIFACTS,
    card_text,
    chromium,
    extension_page,
    install_host,
    screenshot,
    sign_in_from_popup,
    wait_until,
)
from devkit.host_process import write_config
from host.token_store import EncryptedFileBackend


@pytest.fixture
def setup(tmp_path):
    profile, home = tmp_path / "profile", tmp_path / "home"
    with DevNotionProcess(auth=True, workspace_name="Acme Corp") as notion:
        write_config(
            home,
            [{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url, "enabled": False}],
        )
        install_host(profile, home, token_store="file")
        with chromium(profile) as driver:
            yield driver, notion, home


def stored_tokens(home) -> bool:
    backend = EncryptedFileBackend(home / "data")
    return (home / "data" / "tokens.enc").exists() and bool(backend._load())


def test_connect_allow_then_disconnect(setup):
    driver, notion, home = setup
    driver.get(extension_page("popups/popup.html"))
    sign_in_from_popup(driver, "notion", "allow", shots=ARTIFACTS)
    wait_until(lambda: "Connected" in card_text(driver, "notion"), "the card to turn Connected")
    text = card_text(driver, "notion")
    assert "Notion · Acme Corp" in text and "14 tools" in text
    screenshot(driver, "popup-notion-connected")
    assert stored_tokens(home)

    driver.execute_script("window.confirm = () => true;")
    driver.find_element(By.CSS_SELECTOR, '[data-server="notion"] .disconnect').click()
    # Done when the workspace name is gone too: the host forgets the sign-in after it has revoked it.
    wait_until(
        lambda: "Disconnected" in card_text(driver, "notion") and "Acme" not in card_text(driver, "notion"),
        "the card to turn Disconnected and forget the workspace",
    )
    screenshot(driver, "popup-notion-disconnected")
    assert not stored_tokens(home), "disconnect must leave no token behind"
    assert notion.admin("stats")["oauth"]["revocations"] >= 1


def test_connect_pressed_while_the_host_is_already_connecting_opens_the_sign_in(tmp_path):
    """The host's own background attempt may not open windows; Connect pressed during it must still sign in."""
    profile, home = tmp_path / "profile", tmp_path / "home"
    with DevNotionProcess(auth=True, workspace_name="Acme Corp") as notion:
        notion.admin("discovery-delay", ms=3000)  # hold every attempt at its first metadata request
        write_config(home, [{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url}])
        install_host(profile, home, token_store="file")
        with chromium(profile) as driver:
            driver.get(extension_page("popups/popup.html"))
            wait_until(lambda: "Connecting" in card_text(driver, "notion"), "the background attempt")
            sign_in_from_popup(driver, "notion", "allow")
            wait_until(lambda: "Connected" in card_text(driver, "notion"), "the card to turn Connected", 60)
            assert "Needs auth" not in card_text(driver, "notion")
            assert notion.admin("stats")["oauth"]["authorizations"] == 1


def test_deny_ends_in_needs_auth_with_words(setup):
    driver, _, _ = setup
    driver.get(extension_page("popups/popup.html"))
    sign_in_from_popup(driver, "notion", "deny", shots=ARTIFACTS)
    wait_until(lambda: "Needs auth" in card_text(driver, "notion"), "the card to say Needs auth")
    assert "access was denied" in card_text(driver, "notion")
    screenshot(driver, "popup-needs-auth")


def test_search_fetch_and_database_query_through_generated_forms(setup):
    driver, _, _ = setup
    driver.get(extension_page("popups/popup.html"))
    sign_in_from_popup(driver, "notion", "allow", shots=ARTIFACTS)
    wait_until(lambda: "Connected" in card_text(driver, "notion"), "the card to turn Connected")

    driver.get(extension_page("popups/tools.html?server=notion&tool=notion-search"))
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, '[data-field="query"] input'), "the search form")
    driver.find_element(By.CSS_SELECTOR, '[data-field="query"] input').send_keys("Reading List")
    driver.find_element(By.ID, "run").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#result table.rows td"), "search results")
    headers = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#result table.rows th")]
    row = next(
        r.find_elements(By.TAG_NAME, "td")
        for r in driver.find_elements(By.CSS_SELECTOR, "#result table.rows tbody tr")
        if "database" in r.text
    )
    link = row[headers.index("url")].find_element(By.TAG_NAME, "a")
    assert link.get_attribute("target") == "_blank", "Notion's addresses open in Notion"
    database_url = link.get_attribute("href")

    driver.get(extension_page("popups/tools.html?server=notion&tool=notion-fetch"))
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, '[data-field="id"] input'), "the fetch form")
    driver.find_element(By.CSS_SELECTOR, '[data-field="id"] input').send_keys(database_url)
    driver.find_element(By.ID, "run").click()
    wait_until(
        lambda: "collection://" in driver.find_element(By.ID, "result").text, "the database's data source"
    )
    source = re.search(r"collection://[0-9a-f-]{36}", driver.find_element(By.ID, "result").text).group(0)

    driver.get(extension_page("popups/tools.html?server=notion&tool=notion-query-data-sources"))
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, '[data-field="data"] textarea'), "the query form"
    )
    sql = f'SELECT "Name", "Rating" FROM "{source}" WHERE "Rating" >= ? ORDER BY "Name"'
    data = {"data_source_urls": [source], "params": [5], "query": sql}
    driver.find_element(By.CSS_SELECTOR, '[data-field="data"] textarea').send_keys(json.dumps(data))
    driver.find_element(By.ID, "run").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#result table.rows td"), "the rows")
    headers = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#result table.rows th")]
    ratings = [
        row.find_elements(By.TAG_NAME, "td")[headers.index("Rating")].text
        for row in driver.find_elements(By.CSS_SELECTOR, "#result table.rows tbody tr")
    ]
    assert ratings and set(ratings) == {"5"}
    screenshot(driver, "tool-runner-notion-query")


def test_quick_forms_create_a_page_from_markdown_and_comment(setup):
    driver, notion, _ = setup
    driver.get(extension_page("popups/popup.html"))
    sign_in_from_popup(driver, "notion", "allow", shots=ARTIFACTS)
    wait_until(lambda: "Connected" in card_text(driver, "notion"), "the card to turn Connected")

    driver.get(extension_page("popups/tools.html?server=notion&quick=create"))
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, "#quick-area input[name=find]"), "the quick form"
    )
    assert not driver.find_element(By.ID, "form").is_displayed(), "the tool's own form steps aside"
    driver.find_element(By.CSS_SELECTOR, "#quick-area input[name=find]").send_keys("Reading\n")
    wait_until(
        lambda: any(
            o.text == "▦ Reading List"
            for o in Select(driver.find_element(By.CSS_SELECTOR, "#quick-area select[name=found]")).options
        ),
        "the databases found",
    )
    Select(driver.find_element(By.CSS_SELECTOR, "#quick-area select[name=found]")).select_by_visible_text(
        "▦ Reading List"
    )
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, '#quick-area [data-property="Author"] input'),
        "its properties",
    )
    driver.find_element(By.CSS_SELECTOR, "#quick-area input[name=title]").send_keys(
        "Made from the quick form"
    )
    driver.find_element(By.CSS_SELECTOR, '#quick-area [data-property="Author"] input').send_keys("A. Person")
    driver.find_element(By.CSS_SELECTOR, "#quick-area textarea[name=markdown]").send_keys(
        "# Heading\nSome **bold** text."
    )
    driver.find_element(By.CSS_SELECTOR, "#quick-area .nf-run").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#quick-area .nf-created a"), "the page")
    created = notion.admin("pages", title="Made from the quick form")["pages"]
    assert len(created) == 1 and "Some **bold** text." in created[0]["content"]
    assert created[0]["properties"]["Author"] == "A. Person"
    screenshot(driver, "quick-create-page")

    driver.get(extension_page("popups/tools.html?server=notion&quick=comment"))
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, "#quick-area input[name=find]"), "the comment form"
    )
    driver.find_element(By.CSS_SELECTOR, "#quick-area input[name=find]").send_keys(
        "Made from the quick form\n"
    )
    wait_until(
        lambda: (
            len(Select(driver.find_element(By.CSS_SELECTOR, "#quick-area select[name=found]")).options) > 0
        ),
        "the page found",
    )
    Select(driver.find_element(By.CSS_SELECTOR, "#quick-area select[name=found]")).select_by_visible_text(
        "Made from the quick form"
    )
    driver.find_element(By.CSS_SELECTOR, "#quick-area textarea[name=comment]").send_keys("Looks good")
    driver.find_element(By.CSS_SELECTOR, "#quick-area .nf-run").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#quick-area .nf-commented"), "the comment")
    comments = notion.call("notion-get-comments", page_id=created[0]["id"])
    assert "Looks good" in comments
