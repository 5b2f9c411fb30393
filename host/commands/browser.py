"""A real Chromium with the real extension, driven by Selenium, on a throw-away profile.

Used by the demo's browser walk and by the browser tests. Headless unless ``headed`` (the demo asks for a
window when a display exists).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from host import EXTENSION_ID

EXTENSION_DIR = Path(__file__).resolve().parents[2] / "extension"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
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
def chromium(profile: Path, *, headed: bool = False) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = _require("chromium")
    for flag in () if headed else HEADLESS_FLAGS:
        options.add_argument(flag)
    for flag in (
        "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
        f"--disable-extensions-except={EXTENSION_DIR}", f"--load-extension={EXTENSION_DIR}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(_require("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def extension_page(path: str) -> str:
    return f"chrome-extension://{EXTENSION_ID}/{path}"


def screenshot(driver: webdriver.Chrome, name: str, folder: Path = ARTIFACTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    driver.save_screenshot(str(target))
    return target
