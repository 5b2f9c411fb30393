"""A real Chromium with the real extension, driven by Selenium, on a throw-away profile.

Used by the demo's browser walk and by the browser tests. Headless unless ``headed`` (the demo asks for a
window when a display exists).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from host import EXTENSION_ID
from notion_bridge.assets import extension_dir

# From a checkout, its extension/ folder; from an installed wheel, the copy inside the package.
EXTENSION_DIR = extension_dir()
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
HEADLESS_FLAGS = ("--headless=new",)


def _require(binary: str) -> str:
    found = shutil.which(binary) or (f"/usr/bin/{binary}" if Path(f"/usr/bin/{binary}").exists() else None)
    if found is None:
        # Fail, never skip: a missing browser means the browser tests did not run.
        raise RuntimeError(
            f"{binary} is required for the browser tests (apt install chromium chromium-driver)"
        )
    return found


@contextmanager
def chromium(
    profile: Path, *, headed: bool = False, extension: Path = EXTENSION_DIR
) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = _require("chromium")
    for flag in () if headed else HEADLESS_FLAGS:
        options.add_argument(flag)
    for flag in (
        "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
        f"--disable-extensions-except={extension}", f"--load-extension={extension}",
    ):  # fmt: skip
        options.add_argument(flag)
    fresh = not (profile / "Default").exists()
    driver = webdriver.Chrome(service=Service(_require("chromedriver")), options=options)
    try:
        if fresh and (extension / WELCOME).exists():
            driver.welcome_opened = dismiss_welcome(driver)  # type: ignore[attr-defined]
        yield driver
    finally:
        driver.quit()


WELCOME = "welcome/welcome.html"


def install_host(profile: Path, home: Path, *, token_store: str | None = None) -> None:
    """Register the host with a throw-away Chromium profile, as ``notion-bridge install`` does for a person.

    The host Chrome then starts keeps its state in ``home``; ``token_store`` ("file") picks the encrypted-file token
    store over the OS keychain, for tests that look inside it.
    """
    env = {**os.environ, "NOTION_BRIDGE_HOME": str(home)}
    if token_store is not None:
        env["NOTION_BRIDGE_TOKEN_STORE"] = token_store
    subprocess.run(
        [sys.executable, "-m", "notion_bridge.cli", "install", "--browser", "chromium",
         "--user-data-dir", str(profile), "--home", str(home)],
        check=True, capture_output=True, env=env,
    )  # fmt: skip


def dismiss_welcome(driver: webdriver.Chrome, timeout: float = 10) -> bool:
    """Close the welcome tab the extension opens when first installed, so tests start from a browser with only
    their own tab; whether it opened is returned (tests/test_welcome.py checks it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        targets = driver.execute_cdp_cmd("Target.getTargets", {})["targetInfos"]
        welcome = [t for t in targets if t["type"] == "page" and t["url"].endswith(f"/{WELCOME}")]
        if welcome:
            for target in welcome:
                driver.execute_cdp_cmd("Target.closeTarget", {"targetId": target["targetId"]})
            return True
        time.sleep(0.1)
    return False


def extension_page(path: str) -> str:
    return f"chrome-extension://{EXTENSION_ID}/{path}"


def screenshot(driver: webdriver.Chrome, name: str, folder: Path = ARTIFACTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    driver.save_screenshot(str(target))
    return target


def wait_until(check: Callable[[], Any], what: str, timeout: float = 30) -> None:
    """Poll ``check`` until it is truthy; pages re-render, so a passing exception just means "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def click(driver: webdriver.Chrome, selector: str, what: str) -> None:
    """Click what ``selector`` finds, once it is there. The popup redraws a card whenever the host's status
    changes, so an element found a moment ago may be gone by the click: it is found again until one takes."""

    def attempt() -> bool:
        driver.find_element(By.CSS_SELECTOR, selector).click()
        return True

    wait_until(attempt, what)


def card_text(driver: webdriver.Chrome, server_id: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f'[data-server="{server_id}"]').text)


def sign_in_from_popup(
    driver: webdriver.Chrome,
    server_id: str,
    button: str = "allow",
    shots: Path | None = None,
    shot_name: str | None = None,
) -> None:
    """Press Connect on a card, then Allow or Deny in the consent window that chrome.identity opens."""
    click(driver, f'[data-server="{server_id}"] .connect', "the card's Connect")
    popup = driver.current_window_handle
    wait_until(lambda: len(driver.window_handles) > 1, "the consent window to open")
    driver.switch_to.window(next(h for h in driver.window_handles if h != popup))
    wait_until(lambda: driver.find_elements(By.ID, button), "the consent page")
    if shots is not None:
        screenshot(driver, shot_name or f"consent-{button}", shots)
    driver.find_element(By.ID, button).click()
    driver.switch_to.window(popup)
