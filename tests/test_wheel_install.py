"""The package as a stranger gets it: a wheel built from the tree, installed into a fresh venv in a folder far
from the checkout, with nothing of the checkout on the path. From that installation alone: --version,
extension-path, install into a Chromium profile, doctor with no failure, the extension loaded from the installed
package showing the Notion and SQLite cards through the installed host, and uninstall leaving nothing it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from devkit.browser import card_text, chromium, extension_page, screenshot, wait_until
from host import EXTENSION_ID, HOST_NAME, __version__
from tests.support.processes import ROOT

pytestmark = pytest.mark.timeout(900)


def tracked_tree(target: Path) -> Path:
    """The files git knows (tracked, or new and not ignored), copied: what a clean checkout would build."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel-build")
    source = tracked_tree(work / "source")
    started = time.monotonic()
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(source)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = (work / "dist").glob("*.whl")
    print(
        f"\nwheel {found.name}: {found.stat().st_size:,} bytes, built in {time.monotonic() - started:.1f} s"
    )
    return found


def test_the_wheel_carries_the_host_the_installer_the_template_and_the_extension(wheel):
    assert wheel.name == f"notion_mcp_bridge-{__version__}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    expected = {
        p.relative_to(ROOT / "extension").as_posix()
        for p in (ROOT / "extension").rglob("*")
        if p.is_file() and p.relative_to(ROOT / "extension").parts[0] != "tests"
    }
    shipped = {
        n.removeprefix("notion_bridge/extension/") for n in names if n.startswith("notion_bridge/extension/")
    }
    assert shipped == expected
    for needed in ("host/__main__.py", "installer/doctor/__init__.py", "installer/manifest_templates/native-messaging-host.json",
                   "notion_bridge/cli.py", "notion_bridge/extension/icons/icon-128.png"):  # fmt: skip
        assert needed in names, needed
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any("/tests/" in n or n.startswith("tests/") for n in names)
    metadata = (
        zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    )
    assert f"Version: {__version__}" in metadata and "License-Expression: MIT" in metadata


def test_installed_from_the_wheel_far_from_the_checkout_it_works_end_to_end(wheel, tmp_path, monkeypatch):
    venv, profile, home, elsewhere = (tmp_path / n for n in ("venv", "profile", "bridge-home", "elsewhere"))
    elsewhere.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    started = time.monotonic()
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stdout + pip.stderr
    print(f"\ninstalled with its dependencies in {time.monotonic() - started:.1f} s")

    # The browser's kind of environment: short PATH, no NOTION_BRIDGE_HOME, nothing of the checkout importable.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "user-home"), "NOTION_BRIDGE_TOKEN_STORE": "file"}

    def bridge(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "notion-bridge"), *args], capture_output=True, text=True, cwd=elsewhere, env=env,
            timeout=120,
        )  # fmt: skip

    version = bridge("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"notion-bridge {__version__}"

    located = bridge("extension-path")
    assert located.returncode == 0, located.stderr
    extension = Path(located.stdout.strip())
    assert extension.is_relative_to(venv) and not extension.is_relative_to(ROOT)
    assert json.loads((extension / "manifest.json").read_text())["version"] == __version__
    assert (extension / "welcome" / "welcome.html").is_file() and not (extension / "tests").exists()

    before = snapshot(profile, home)
    scope = ("--browser", "chromium", "--user-data-dir", str(profile), "--home", str(home))
    installed = bridge("install", *scope)
    assert installed.returncode == 0, installed.stderr
    assert str(extension) in installed.stdout and EXTENSION_ID in installed.stdout
    assert "Load unpacked" in installed.stdout
    written = snapshot(profile, home) - before
    manifest = profile / "NativeMessagingHosts" / f"{HOST_NAME}.json"
    assert manifest in written
    launcher = Path(json.loads(manifest.read_text())["path"])
    assert str(venv / "bin" / "python") in launcher.read_text(), "the launcher must run the installed Python"

    doctor = bridge("doctor", *scope)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "[FAIL]" not in doctor.stdout and f"hello from host {__version__}" in doctor.stdout
    assert "logs:" in doctor.stdout

    monkeypatch.setenv("NOTION_BRIDGE_TOKEN_STORE", "file")  # for the host the browser starts
    with chromium(profile, extension=extension) as driver:
        driver.get(extension_page("popups/popup.html"))
        wait_until(
            lambda: "Connected" in card_text(driver, "sqlite"),
            "the SQLite card, through the installed host",
            60,
        )
        wait_until(lambda: "Notion" in card_text(driver, "notion"), "the Notion card")
        screenshot(driver, "wheel-install-popup")
        hosts = running_hosts(venv)
        assert hosts, "the host the browser started is not the installed one"

    removed = bridge("uninstall", *scope)
    assert removed.returncode == 0, removed.stderr
    # A folder install made stays only when the host has since kept its own files there (the sample database).
    left = sorted(
        str(path)
        for path in written
        if path.exists() and (path.is_file() or not any(q not in written for q in path.rglob("*")))
    )
    assert left == [], f"uninstall left behind: {left}"
    assert not (profile / "NativeMessagingHosts").exists()
    assert not launcher.exists() and not launcher.parent.exists()


def snapshot(*folders: Path) -> set[Path]:
    return {path for folder in folders if folder.exists() for path in folder.rglob("*")}


def running_hosts(venv: Path) -> list[int]:
    """Host processes running the installed venv's Python (Linux: reads /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            len(command) > 2
            and command[0].startswith(str(venv).encode())
            and command[1:3] == [b"-m", b"host"]
        ):
            found.append(int(proc.name))
    return found
