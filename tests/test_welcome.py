"""The first run, in a real Chromium: installing the extension opens the welcome page; without the host it shows
the command that installs it, and once `notion-bridge install` has run it says "Host connected" by itself and
connects Notion through the consent window."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from selenium.webdriver.common.by import By

from dev_notion.testing import DevNotionProcess
from devkit.browser import chromium, extension_page, screenshot, wait_until
from devkit.host_process import write_config
from host import HOST_NAME, __version__


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("NOTION_BRIDGE_TOKEN_STORE", "file")  # the browser's hosts inherit it
    profile, home = tmp_path / "profile", tmp_path / "home"
    with DevNotionProcess(auth=True, workspace_name="Acme Corp") as notion:
        write_config(
            home,
            [{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url, "enabled": False}],
        )
        with chromium(profile) as driver:
            yield driver, profile, home


def shown(driver, element_id: str) -> bool:
    return bool(driver.find_element(By.ID, element_id).is_displayed())


def text(driver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


def test_installing_the_extension_opens_the_welcome_page(world):
    driver, _, _ = world
    assert getattr(driver, "welcome_opened", False), "the welcome page did not open on install"


def test_welcome_shows_the_command_then_says_host_connected_and_connects_notion(world):
    driver, profile, home = world
    driver.get(extension_page("welcome/welcome.html"))
    wait_until(lambda: shown(driver, "missing"), "the page to say the host is missing", 20)
    assert text(driver, "install-command") == "notion-bridge install"
    assert (
        text(driver, "package-command") == f"pipx install ./notion_mcp_bridge-{__version__}-py3-none-any.whl"
    )
    assert text(driver, "terminal") == "In a terminal,"
    assert "not installed" in text(driver, "host-state")
    assert not shown(driver, "next")
    driver.find_element(By.ID, "copy-install").click()
    wait_until(
        lambda: "notion-bridge install" in driver.find_element(By.ID, "copied").get_attribute("textContent"),
        "the copy",
    )
    screenshot(driver, "welcome-host-missing")

    installed = subprocess.run(
        [sys.executable, "-m", "notion_bridge.cli", "install", "--browser", "chromium", "--user-data-dir", str(profile), "--home", str(home)],
        capture_output=True, text=True, env={**os.environ, "NOTION_BRIDGE_HOME": str(home)},
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert (profile / "NativeMessagingHosts" / f"{HOST_NAME}.json").exists()
    # No click: the page checks again by itself.
    wait_until(lambda: text(driver, "host-state").startswith("Host connected"), "Host connected", 30)
    assert text(driver, "host-state") == f"Host connected (version {__version__})"
    assert not shown(driver, "missing") and shown(driver, "next")
    wait_until(lambda: "not connected yet" in text(driver, "notion-state"), "the Notion step")
    assert text(driver, "shortcut") == "Alt+Shift+K"
    screenshot(driver, "welcome-host-connected")

    page = driver.current_window_handle
    driver.find_element(By.ID, "connect-notion").click()
    wait_until(lambda: len(driver.window_handles) > 1, "the consent window to open")
    driver.switch_to.window(next(h for h in driver.window_handles if h != page))
    wait_until(lambda: driver.find_elements(By.ID, "allow"), "the consent page")
    driver.find_element(By.ID, "allow").click()
    driver.switch_to.window(page)
    wait_until(lambda: "Notion is connected" in text(driver, "notion-state"), "Notion to connect", 30)
    assert not shown(driver, "connect-notion")
    screenshot(driver, "welcome-notion-connected")
