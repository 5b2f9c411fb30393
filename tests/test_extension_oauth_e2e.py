"""Signing in to the Notion-compatible server from the popup, in a real Chromium: the consent window opens through
chrome.identity.launchWebAuthFlow, and the card follows what the person does there."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from selenium.webdriver.common.by import By

from dev_notion.testing import DevNotionProcess
from host.client import write_config
from host.token_store import EncryptedFileBackend
from tests.support.browser import chromium, extension_page, screenshot
from tests.test_extension_e2e import card_text, wait_until


@pytest.fixture
def setup(tmp_path):
    profile, home = tmp_path / "profile", tmp_path / "home"
    with DevNotionProcess(auth=True, workspace_name="Acme Corp") as notion:
        write_config(
            home,
            [{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url, "enabled": False}],
        )
        env = {**os.environ, "NOTION_BRIDGE_HOME": str(home), "NOTION_BRIDGE_TOKEN_STORE": "file"}
        subprocess.run(
            [sys.executable, "-m", "host.cli", "install", "--browser", "chromium", "--user-data-dir", str(profile), "--home", str(home)],
            check=True, capture_output=True, env=env,
        )  # fmt: skip
        with chromium(profile) as driver:
            yield driver, notion, home


def press_in_consent_window(driver, button: str) -> None:
    popup = driver.current_window_handle
    wait_until(lambda: len(driver.window_handles) > 1, "the consent window to open")
    consent = next(h for h in driver.window_handles if h != popup)
    driver.switch_to.window(consent)
    wait_until(lambda: driver.find_elements(By.ID, button), "the consent page")
    screenshot(driver, f"consent-{button}")
    driver.find_element(By.ID, button).click()
    driver.switch_to.window(popup)


def stored_tokens(home) -> bool:
    backend = EncryptedFileBackend(home / "data")
    return (home / "data" / "tokens.enc").exists() and bool(backend._load())


def test_connect_allow_then_disconnect(setup):
    driver, notion, home = setup
    driver.get(extension_page("popups/popup.html"))
    wait_until(lambda: "Disconnected" in card_text(driver, "notion"), "the Notion card")
    driver.find_element(By.CSS_SELECTOR, '[data-server="notion"] .connect').click()
    press_in_consent_window(driver, "allow")
    wait_until(lambda: "Connected" in card_text(driver, "notion"), "the card to turn Connected")
    text = card_text(driver, "notion")
    assert "Notion · Acme Corp" in text and "8 tools" in text
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


def test_deny_ends_in_needs_auth_with_words(setup):
    driver, _, _ = setup
    driver.get(extension_page("popups/popup.html"))
    wait_until(lambda: "Disconnected" in card_text(driver, "notion"), "the Notion card")
    driver.find_element(By.CSS_SELECTOR, '[data-server="notion"] .connect').click()
    press_in_consent_window(driver, "deny")
    wait_until(lambda: "Needs auth" in card_text(driver, "notion"), "the card to say Needs auth")
    assert "access was denied" in card_text(driver, "notion")
    screenshot(driver, "popup-needs-auth")
