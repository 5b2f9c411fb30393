"""End to end: `notion-bridge install` into a Chromium profile, the real extension gets the real host's hello,
doctor agrees, and after `notion-bridge uninstall` the browser no longer finds the host."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devkit.browser import EXTENSION_DIR, chromium, extension_page
from host import HOST_NAME, PROTOCOL_VERSION, __version__

PAGE = "popups/popup.html"
SEND = (
    "const done = arguments[arguments.length - 1];"
    f"chrome.runtime.sendNativeMessage('{HOST_NAME}', {{type: 'ping', id: 'e2e'}})"
    ".then(done, (e) => done('failed: ' + e.message));"
)


def bridge(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    # The browser's kind of environment: a short PATH, no NOTION_BRIDGE_HOME, a home of the test's own.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home.parent / "user-home")}
    return subprocess.run(
        [sys.executable, "-m", "notion_bridge.cli", *args, "--browser", "chromium", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_installed_host_says_hello_to_the_extension_in_chromium(tmp_path):
    assert (EXTENSION_DIR / PAGE).exists(), f"the e2e check opens extension/{PAGE}, which is missing"
    profile, home = tmp_path / "profile", tmp_path / "bridge-home"
    installed = bridge("install", "--user-data-dir", str(profile), home=home)
    assert installed.returncode == 0, installed.stderr
    assert (profile / "NativeMessagingHosts" / f"{HOST_NAME}.json").exists()

    with chromium(profile) as driver:
        driver.set_script_timeout(30)
        driver.get(extension_page(PAGE))
        hello = driver.execute_async_script(SEND)
        assert hello == {"type": "hello", "protocol": PROTOCOL_VERSION, "host_version": __version__}

        checked = bridge("doctor", "--json", "--user-data-dir", str(profile), home=home)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        report = json.loads(checked.stdout)
        assert report["ok"] is True
        assert any(c["name"].endswith(": host") and c["status"] == "ok" for c in report["checks"])

        removed = bridge("uninstall", "--user-data-dir", str(profile), home=home)
        assert removed.returncode == 0, removed.stderr
        assert not (profile / "NativeMessagingHosts").exists()
        after = driver.execute_async_script(SEND)
        assert isinstance(after, str) and after.startswith("failed: ") and "not found" in after
