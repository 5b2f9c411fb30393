"""`notion-bridge pack-extension`: the zip the Chrome Web Store takes — no key, icons in, tests out, the same
bytes every time — and, loaded under the different ID a store gives it, it reaches the host once
`install --extension-id` lets that ID in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

from selenium.webdriver.common.by import By

from devkit.browser import chromium, wait_until
from host import EXTENSION_ID, __version__
from tests.support.processes import ROOT


def pack(out) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "notion_bridge.cli", "pack-extension", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_the_zip_is_what_the_store_takes(tmp_path):
    done = pack(tmp_path / "store.zip")
    assert done.returncode == 0, done.stderr
    assert "--extension-id" in done.stdout
    with zipfile.ZipFile(tmp_path / "store.zip") as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert "key" not in manifest
    source = json.loads((ROOT / "extension" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == {k: v for k, v in source.items() if k != "key"}
    assert manifest["version"] == __version__
    assert set(manifest["icons"].values()) <= set(names) and "icons/icon-128.png" in names
    assert not any(name.startswith("tests/") for name in names)
    shipped = {
        p.relative_to(ROOT / "extension").as_posix()
        for p in (ROOT / "extension").rglob("*")
        if p.is_file() and not p.relative_to(ROOT / "extension").as_posix().startswith("tests/")
    }
    assert set(names) == shipped
    assert names == sorted(names)

    again = pack(tmp_path / "again.zip")
    assert again.returncode == 0
    assert (tmp_path / "store.zip").read_bytes() == (tmp_path / "again.zip").read_bytes(), "not reproducible"


def test_the_packed_extension_under_another_id_reaches_the_host_once_that_id_is_allowed(tmp_path):
    assert pack(tmp_path / "store.zip").returncode == 0
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(tmp_path / "store.zip") as archive:
        archive.extractall(unpacked)
    profile, home = tmp_path / "profile", tmp_path / "home"
    with chromium(profile, extension=unpacked) as driver:
        # Without a key the ID comes from the folder, as a store's ID differs from the one in our key.
        def worker_id() -> str | None:
            for target in driver.execute_cdp_cmd("Target.getTargets", {})["targetInfos"]:
                if target["type"] == "service_worker" and target["url"].startswith("chrome-extension://"):
                    return str(target["url"].split("/")[2])
            return None

        wait_until(worker_id, "the extension's service worker")
        other_id = worker_id()
        assert other_id and other_id != EXTENSION_ID
        installed = subprocess.run(
            [sys.executable, "-m", "notion_bridge.cli", "install", "--browser", "chromium",
             "--user-data-dir", str(profile), "--home", str(home), "--extension-id", other_id],
            capture_output=True, text=True, env={**os.environ, "NOTION_BRIDGE_HOME": str(home)},
        )  # fmt: skip
        assert installed.returncode == 0, installed.stderr
        driver.get(f"chrome-extension://{other_id}/popups/popup.html")

        def connected() -> bool:
            retry = driver.find_element(By.ID, "retry")
            if retry.is_displayed():  # the background gave up before the host was installed: ask again
                retry.click()
            return bool(driver.find_element(By.ID, "host").text == f"Host {__version__} connected")

        wait_until(connected, "the store build to reach the host", 30)
