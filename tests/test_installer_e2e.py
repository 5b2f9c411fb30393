"""End to end: `notion-bridge install` into a Chromium profile, then the real extension reaches the real host."""

from __future__ import annotations

import subprocess
import sys
import time

from host import HOST_NAME
from host.commands.browser import chromium, extension_page, screenshot


def test_installed_host_says_hello_to_the_extension_in_chromium(tmp_path):
    profile, home = tmp_path / "profile", tmp_path / "home"
    installed = subprocess.run(
        [sys.executable, "-m", "host.cli", "install", "--browser", "chromium",
         "--user-data-dir", str(profile), "--home", str(home)],
        capture_output=True, text=True, timeout=60, env={"NOTION_BRIDGE_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert (profile / "NativeMessagingHosts" / f"{HOST_NAME}.json").exists()

    with chromium(profile) as driver:
        driver.get(extension_page("popups/popup.html"))
        hello = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"chrome.runtime.sendNativeMessage('{HOST_NAME}', {{type: 'ping', id: 'e2e'}})"
            ".then(done, (e) => done('failed: ' + e.message));"
        )
        assert hello == {"type": "hello", "protocol": 1, "host_version": "0.1.0"}
        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline
            and "Host 0.1.0 connected" not in driver.find_element("id", "host").text
        ):
            time.sleep(0.2)
        assert driver.find_element("id", "host").text == "Host 0.1.0 connected"
        while time.monotonic() < deadline and "3 tools" not in driver.find_element("id", "servers").text:
            time.sleep(0.2)
        screenshot(driver, "installer-e2e-popup")
        assert "SQLite (sample)" in driver.find_element("id", "servers").text
        assert "3 tools" in driver.find_element("id", "servers").text
