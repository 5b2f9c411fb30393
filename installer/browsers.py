"""Where each Chromium-family browser looks for native-messaging host manifests, on each OS.

Sources: Chrome's native-messaging guide (Chrome and Chromium, every OS), Microsoft's Edge guide (Edge, every OS,
and Edge's Windows lookup order: its own key, then Chromium's, then Chrome's). Brave, Vivaldi and Opera document
nothing of their own; they are Chromium builds that read ``<their user-data folder>/NativeMessagingHosts`` on
Linux and macOS and Google Chrome's registry key on Windows. No machine-wide folder is documented for them on
Linux or macOS, so ``--system`` says so instead of guessing one.

Everything that depends on the machine goes through :class:`Environment`, so tests can be macOS or Windows on
Linux, can point machine-wide folders at a temporary directory, and can give files other owners.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from installer import trust

Platform = Literal["linux", "darwin", "win32"]


@dataclass(frozen=True)
class Browser:
    key: str
    name: str
    linux_config: str
    """The user-data folder under $XDG_CONFIG_HOME (~/.config)."""
    linux_system: str | None
    """The machine-wide manifest folder, where one is documented."""
    mac_support: str
    """The user-data folder under ~/Library/Application Support."""
    mac_system: str | None
    mac_app: str
    windows_key: str
    """The registry key the browser reads, under HKCU or HKLM\\Software, before \\NativeMessagingHosts."""
    windows_user_data: tuple[Literal["LOCALAPPDATA", "APPDATA"], str]
    linux_binaries: tuple[str, ...]
    flatpak_id: str | None = None
    snap_name: str | None = None


BROWSERS: tuple[Browser, ...] = (
    Browser(
        "chrome", "Google Chrome",
        "google-chrome", "/etc/opt/chrome/native-messaging-hosts",
        "Google/Chrome", "/Library/Google/Chrome/NativeMessagingHosts", "Google Chrome.app",
        r"Google\Chrome", ("LOCALAPPDATA", r"Google\Chrome\User Data"),
        ("google-chrome", "google-chrome-stable"), "com.google.Chrome",
    ),
    Browser(
        "chromium", "Chromium",
        "chromium", "/etc/chromium/native-messaging-hosts",
        "Chromium", "/Library/Application Support/Chromium/NativeMessagingHosts", "Chromium.app",
        "Chromium", ("LOCALAPPDATA", r"Chromium\User Data"),
        ("chromium", "chromium-browser"), "org.chromium.Chromium", "chromium",
    ),
    Browser(
        "brave", "Brave",
        "BraveSoftware/Brave-Browser", None,
        "BraveSoftware/Brave-Browser", None, "Brave Browser.app",
        r"Google\Chrome", ("LOCALAPPDATA", r"BraveSoftware\Brave-Browser\User Data"),
        ("brave-browser", "brave"), "com.brave.Browser", "brave",
    ),
    Browser(
        "edge", "Microsoft Edge",
        "microsoft-edge", "/etc/opt/edge/native-messaging-hosts",
        "Microsoft Edge", "/Library/Microsoft/Edge/NativeMessagingHosts", "Microsoft Edge.app",
        r"Microsoft\Edge", ("LOCALAPPDATA", r"Microsoft\Edge\User Data"),
        ("microsoft-edge", "microsoft-edge-stable"), "com.microsoft.Edge",
    ),
    Browser(
        "vivaldi", "Vivaldi",
        "vivaldi", None,
        "Vivaldi", None, "Vivaldi.app",
        r"Google\Chrome", ("LOCALAPPDATA", r"Vivaldi\User Data"),
        ("vivaldi", "vivaldi-stable"), "com.vivaldi.Vivaldi", "vivaldi",
    ),
    Browser(
        "opera", "Opera",
        "opera", None,
        "com.operasoftware.Opera", None, "Opera.app",
        r"Google\Chrome", ("APPDATA", r"Opera Software\Opera Stable"),
        ("opera",), "com.opera.Opera", "opera",
    ),
)  # fmt: skip

BY_KEY = {browser.key: browser for browser in BROWSERS}


@dataclass(frozen=True)
class Environment:
    """The parts of the machine the installer reads, injectable so tests can be macOS or Windows on Linux."""

    platform: Platform
    home: Path
    xdg_config_home: Path | None = None
    local_appdata: Path | None = None
    appdata: Path | None = None
    program_data: Path | None = None
    root: Path = Path("/")
    """Prefix for machine-wide folders (/etc, /Library, /snap); tests point it at a temporary directory."""
    path: str | None = None
    """PATH for finding browser binaries; None means this process's PATH."""
    files: trust.Files = field(default_factory=trust.PosixFiles, compare=False)
    """Owners and modes, for checking who can change what a machine-wide install runs (Linux, macOS)."""
    runtime: trust.Runtime | None = field(default=None, compare=False)
    """The interpreter and code folders the launcher runs; None means this process's own."""

    @classmethod
    def current(cls) -> Environment:
        platform: Platform = (
            "win32" if sys.platform == "win32" else "darwin" if sys.platform == "darwin" else "linux"
        )

        def folder(name: str) -> Path | None:
            value = os.environ.get(name)
            return Path(value) if value else None

        return cls(
            platform=platform,
            home=Path.home(),
            xdg_config_home=folder("XDG_CONFIG_HOME"),
            local_appdata=folder("LOCALAPPDATA"),
            appdata=folder("APPDATA"),
            program_data=folder("ProgramData"),
        )

    @property
    def config_home(self) -> Path:
        return self.xdg_config_home or self.home / ".config"

    @property
    def mac_support(self) -> Path:
        return self.home / "Library" / "Application Support"

    def windows_folder(self, name: Literal["LOCALAPPDATA", "APPDATA"]) -> Path:
        if name == "LOCALAPPDATA":
            return self.local_appdata or self.home / "AppData" / "Local"
        return self.appdata or self.home / "AppData" / "Roaming"

    @property
    def program_data_dir(self) -> Path:
        return self.program_data or self.root / "ProgramData"

    def system_path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.path)


def _windows_relative(base: Path, relative: str) -> Path:
    return base.joinpath(*relative.split("\\"))


def user_data_dir(browser: Browser, env: Environment) -> Path:
    """The browser's default user-data folder (its profiles live inside)."""
    if env.platform == "linux":
        return env.config_home / browser.linux_config
    if env.platform == "darwin":
        return env.mac_support / browser.mac_support
    base, relative = browser.windows_user_data
    return _windows_relative(env.windows_folder(base), relative)


def manifest_dir(browser: Browser, env: Environment, *, system: bool) -> Path | None:
    """The folder the browser reads manifests from on Linux and macOS; None where there is no such folder.

    Windows has none (the registry names each manifest), and Brave, Vivaldi and Opera document no
    machine-wide folder.
    """
    if env.platform == "win32":
        return None
    if not system:
        return user_data_dir(browser, env) / "NativeMessagingHosts"
    folder = browser.linux_system if env.platform == "linux" else browser.mac_system
    return env.system_path(folder) if folder else None


def registry_key(browser: Browser, host_name: str, *, system: bool) -> str:
    root = "HKEY_LOCAL_MACHINE" if system else "HKEY_CURRENT_USER"
    return f"{root}\\Software\\{browser.windows_key}\\NativeMessagingHosts\\{host_name}"


def snap_installed(browser: Browser, env: Environment) -> bool:
    """A Snap-packaged browser: confined so that it cannot start native hosts at all."""
    if env.platform != "linux" or browser.snap_name is None:
        return False
    return (env.system_path("/snap") / browser.snap_name).exists() or (
        env.home / "snap" / browser.snap_name
    ).exists()


def flatpak_installed(browser: Browser, env: Environment) -> bool:
    if env.platform != "linux" or browser.flatpak_id is None:
        return False
    return flatpak_app_dir(browser, env).exists()


def flatpak_app_dir(browser: Browser, env: Environment) -> Path:
    """The Flatpak's own folder, which the sandbox sees at the same path."""
    assert browser.flatpak_id is not None
    return env.home / ".var" / "app" / browser.flatpak_id


def flatpak_manifest_dir(browser: Browser, env: Environment) -> Path:
    # Flatpak sets XDG_CONFIG_HOME to the app's own config folder, so the browser's user-data folder moves there.
    return flatpak_app_dir(browser, env) / "config" / browser.linux_config / "NativeMessagingHosts"


def natively_installed(browser: Browser, env: Environment) -> bool:
    """Whether a non-Snap, non-Flatpak build of the browser is here: its binary, app, or user-data folder."""
    profile = user_data_dir(browser, env).exists()
    if env.platform == "darwin":
        return profile or any(
            (base / browser.mac_app).exists()
            for base in (env.system_path("/Applications"), env.home / "Applications")
        )
    if env.platform == "win32":
        return profile
    if profile:
        return True
    if snap_installed(browser, env):
        # Ubuntu's chromium-browser .deb is only a wrapper that starts the Snap.
        return False
    for binary in browser.linux_binaries:
        found = env.which(binary)
        if found and not os.path.realpath(found).startswith("/snap/"):
            return True
    return False
