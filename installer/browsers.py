"""Where each Chromium-family browser looks for native-messaging host manifests, on each OS.

Linux and macOS read a manifest file from a folder per browser (per user, or machine-wide). Windows reads the
manifest's path from a registry key's (Default) value. Brave, Vivaldi and Opera read Google Chrome's key on
Windows; Edge reads its own (and falls back to Chromium's and Chrome's), so registering Chrome's key serves them.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Platform = Literal["linux", "darwin", "win32"]


@dataclass(frozen=True)
class Browser:
    key: str
    name: str
    linux_user: str
    """Under $XDG_CONFIG_HOME (~/.config)."""
    linux_system: str
    mac_user: str
    """Under ~/Library/Application Support."""
    mac_system: str
    windows_key: str
    """Under HKCU/HKLM\\Software."""
    linux_binaries: tuple[str, ...]
    flatpak_id: str | None = None


BROWSERS: tuple[Browser, ...] = (
    Browser(
        "chrome", "Google Chrome",
        "google-chrome/NativeMessagingHosts", "/etc/opt/chrome/native-messaging-hosts",
        "Google/Chrome/NativeMessagingHosts", "/Library/Google/Chrome/NativeMessagingHosts",
        r"Google\Chrome\NativeMessagingHosts", ("google-chrome", "google-chrome-stable"), "com.google.Chrome",
    ),
    Browser(
        "chromium", "Chromium",
        "chromium/NativeMessagingHosts", "/etc/chromium/native-messaging-hosts",
        "Chromium/NativeMessagingHosts", "/Library/Application Support/Chromium/NativeMessagingHosts",
        r"Chromium\NativeMessagingHosts", ("chromium", "chromium-browser"), "org.chromium.Chromium",
    ),
    Browser(
        "brave", "Brave",
        "BraveSoftware/Brave-Browser/NativeMessagingHosts", "/etc/opt/chrome/native-messaging-hosts",
        "BraveSoftware/Brave-Browser/NativeMessagingHosts", "/Library/Google/Chrome/NativeMessagingHosts",
        r"Google\Chrome\NativeMessagingHosts", ("brave-browser", "brave"), "com.brave.Browser",
    ),
    Browser(
        "edge", "Microsoft Edge",
        "microsoft-edge/NativeMessagingHosts", "/etc/opt/edge/native-messaging-hosts",
        "Microsoft Edge/NativeMessagingHosts", "/Library/Microsoft/Edge/NativeMessagingHosts",
        r"Microsoft\Edge\NativeMessagingHosts", ("microsoft-edge", "microsoft-edge-stable"), "com.microsoft.Edge",
    ),
    Browser(
        "vivaldi", "Vivaldi",
        "vivaldi/NativeMessagingHosts", "/etc/opt/vivaldi/native-messaging-hosts",
        "Vivaldi/NativeMessagingHosts", "/Library/Application Support/Vivaldi/NativeMessagingHosts",
        r"Google\Chrome\NativeMessagingHosts", ("vivaldi", "vivaldi-stable"), "com.vivaldi.Vivaldi",
    ),
    Browser(
        "opera", "Opera",
        "opera/NativeMessagingHosts", "/etc/opt/chrome/native-messaging-hosts",
        "com.operasoftware.Opera/NativeMessagingHosts", "/Library/Google/Chrome/NativeMessagingHosts",
        r"Google\Chrome\NativeMessagingHosts", ("opera",), "com.opera.Opera",
    ),
)  # fmt: skip

BY_KEY = {browser.key: browser for browser in BROWSERS}


@dataclass(frozen=True)
class Environment:
    """The parts of the machine the installer reads, injectable so tests can be macOS or Windows on Linux."""

    platform: Platform
    home: Path
    xdg_config_home: Path | None = None

    @classmethod
    def current(cls) -> Environment:
        import sys

        platform: Platform = (
            "win32" if sys.platform == "win32" else "darwin" if sys.platform == "darwin" else "linux"
        )
        xdg = os.environ.get("XDG_CONFIG_HOME")
        return cls(platform=platform, home=Path.home(), xdg_config_home=Path(xdg) if xdg else None)

    @property
    def config_home(self) -> Path:
        return self.xdg_config_home or self.home / ".config"


def manifest_dir(browser: Browser, env: Environment, *, system: bool) -> Path:
    """The folder the browser reads manifests from (on Windows: where we keep the file the registry points at)."""
    if env.platform == "linux":
        return Path(browser.linux_system) if system else env.config_home / browser.linux_user
    if env.platform == "darwin":
        return (
            Path(browser.mac_system)
            if system
            else env.home / "Library" / "Application Support" / browser.mac_user
        )
    return env.home / "AppData" / "Local" / "notion-mcp-bridge" / "NativeMessagingHosts" / browser.key


def registry_key(browser: Browser, host_name: str, *, system: bool) -> str:
    root = "HKEY_LOCAL_MACHINE" if system else "HKEY_CURRENT_USER"
    return f"{root}\\Software\\{browser.windows_key}\\{host_name}"


def profile_root(browser: Browser, env: Environment) -> Path:
    """The browser's user-data folder, whose presence says the browser has been used here."""
    return manifest_dir(browser, env, system=False).parent


def detected(browser: Browser, env: Environment) -> bool:
    if env.platform == "linux" and any(shutil.which(b) for b in browser.linux_binaries):
        return True
    return profile_root(browser, env).exists()


def is_snap(browser: Browser) -> bool:
    """Snap-packaged browsers are confined and cannot start native hosts at all."""
    for binary in browser.linux_binaries:
        path = shutil.which(binary)
        if path and ("/snap/" in os.path.realpath(path) or path.startswith("/snap/")):
            return True
    return False


def is_flatpak(browser: Browser, env: Environment) -> bool:
    if browser.flatpak_id is None:
        return False
    return (env.home / ".var" / "app" / browser.flatpak_id).exists()


def flatpak_manifest_dir(browser: Browser, env: Environment) -> Path:
    assert browser.flatpak_id
    return env.home / ".var" / "app" / browser.flatpak_id / "config" / browser.linux_user
