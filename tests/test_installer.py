"""The installer: manifests and a launcher for every browser, exactly undone by uninstall, checked by doctor."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from host import EXTENSION_ID, HOST_NAME
from installer import browsers as b
from installer.doctor import redact, report, run_doctor
from installer.install import Options, install, launcher_path, plan, uninstall
from installer.registry import MemoryRegistry


@pytest.fixture
def linux_home(tmp_path, monkeypatch, host_home):
    home = tmp_path / "home"
    (home / ".config" / "google-chrome").mkdir(parents=True)
    (home / ".config" / "chromium").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("PATH", "/nonexistent")  # no real browser binaries: detection by profile folders only
    monkeypatch.setenv("NOTION_BRIDGE_TOKEN_STORE", "file")
    return b.Environment(platform="linux", home=home, xdg_config_home=home / ".config")


def manifest_of(env: b.Environment, key: str) -> Path:
    return b.manifest_dir(b.BY_KEY[key], env, system=False) / f"{HOST_NAME}.json"


def test_install_writes_a_manifest_per_browser_found_and_a_launcher(linux_home):
    lines = install(linux_home, Options())
    for key in ("chrome", "chromium"):
        manifest = json.loads(manifest_of(linux_home, key).read_text())
        assert manifest["name"] == HOST_NAME and manifest["type"] == "stdio"
        assert manifest["allowed_origins"] == [f"chrome-extension://{EXTENSION_ID}/"]
        assert manifest["path"] == str(launcher_path("linux"))
    assert not manifest_of(linux_home, "brave").exists(), "browsers not found are left alone"
    launcher = launcher_path("linux")
    assert launcher.stat().st_mode & stat.S_IXUSR
    assert f'exec "{sys.executable}" -m host "$@"' in launcher.read_text()
    assert any("wrote Chromium manifest" in line for line in lines)
    assert install(linux_home, Options()) == lines, "install is idempotent"


def test_doctor_is_all_green_after_install_and_uninstall_leaves_nothing(linux_home):
    foreign = manifest_of(linux_home, "chrome").parent / "com.other.app.json"
    foreign.parent.mkdir(parents=True, exist_ok=True)
    foreign.write_text("{}")
    install(linux_home, Options(extension_ids=["abcdefghijklmnopabcdefghijklmnop"]))
    checks = run_doctor(linux_home, Options())
    failed = [c for c in checks if c.status == "fail"]
    assert failed == [], report(checks, as_json=False, home=linux_home.home)
    assert any(c.name == "host answers hello" and "hello from host" in c.detail for c in checks)
    uninstall()
    assert not manifest_of(linux_home, "chrome").exists() and not manifest_of(linux_home, "chromium").exists()
    assert not launcher_path("linux").exists()
    assert foreign.read_text() == "{}", "uninstall touches only what install wrote"


def test_extra_extension_ids_are_allowed_in_manifest_and_host(linux_home, host_home):
    install(linux_home, Options(browsers=["chromium"], extension_ids=["abcdefghijklmnopabcdefghijklmnop"]))
    origins = json.loads(manifest_of(linux_home, "chromium").read_text())["allowed_origins"]
    assert "chrome-extension://abcdefghijklmnopabcdefghijklmnop/" in origins
    stored = json.loads((host_home / "config" / "config.json").read_text())
    assert stored["allowed_extension_ids"] == ["abcdefghijklmnopabcdefghijklmnop"]


def test_user_data_dir_puts_the_manifest_inside_that_profile(linux_home, tmp_path):
    profile = tmp_path / "profile"
    install(linux_home, Options(browsers=["chromium"], user_data_dir=profile))
    assert (profile / "NativeMessagingHosts" / f"{HOST_NAME}.json").exists()


def break_and_check(env, mutate) -> list:
    install(env, Options(browsers=["chromium"]))
    mutate(manifest_of(env, "chromium"))
    return [c for c in run_doctor(env, Options(browsers=["chromium"])) if c.status == "fail"]


def test_doctor_names_a_missing_manifest(linux_home):
    failed = break_and_check(linux_home, lambda m: m.unlink())
    assert [c.detail for c in failed] == [f"no manifest at {manifest_of(linux_home, 'chromium')}"]
    assert "notion-bridge install" in failed[0].fix


def test_doctor_names_a_wrong_path(linux_home):
    def wrong(m: Path) -> None:
        data = json.loads(m.read_text())
        data["path"] = "/nowhere/launcher"
        m.write_text(json.dumps(data))

    failed = break_and_check(linux_home, wrong)
    assert [c.detail for c in failed] == ["/nowhere/launcher does not exist"]


def test_doctor_names_a_launcher_that_is_not_executable(linux_home):
    failed = break_and_check(linux_home, lambda m: os.chmod(launcher_path("linux"), 0o644))
    assert "is not executable" in failed[0].detail and "chmod +x" in failed[0].fix


def test_doctor_names_a_wrong_origin(linux_home):
    def foreign(m: Path) -> None:
        data = json.loads(m.read_text())
        data["allowed_origins"] = ["chrome-extension://abcdefghijklmnopabcdefghijklmnop/"]
        m.write_text(json.dumps(data))

    failed = break_and_check(linux_home, foreign)
    assert len(failed) == 1 and "allowed_origins lacks" in failed[0].detail


def test_doctor_names_a_host_that_crashes_at_start(linux_home):
    def crash(_m: Path) -> None:
        launcher_path("linux").write_text(
            "#!/bin/sh\necho 'ModuleNotFoundError: No module named host' >&2\nexit 3\n"
        )

    failed = break_and_check(linux_home, crash)
    assert len(failed) == 1 and failed[0].name == "host answers hello"
    assert "exit 3" in failed[0].detail and "No module named host" in failed[0].detail


def test_doctor_json_is_safe_to_paste(linux_home):
    text = redact(
        f'{{"path": "{linux_home.home}/x", "token": "ntn_at_abcdefghijklmnopqrstuvwxyz"}}', linux_home.home
    )
    assert str(linux_home.home) not in text and "ntn_at_" not in text and "~/x" in text


def test_macos_paths_follow_each_browsers_documented_folder():
    env = b.Environment(platform="darwin", home=Path("/Users/ada"))
    support = "/Users/ada/Library/Application Support"
    assert b.manifest_dir(b.BY_KEY["chrome"], env, system=False) == Path(
        f"{support}/Google/Chrome/NativeMessagingHosts"
    )
    assert b.manifest_dir(b.BY_KEY["chromium"], env, system=False) == Path(
        f"{support}/Chromium/NativeMessagingHosts"
    )
    assert b.manifest_dir(b.BY_KEY["edge"], env, system=False) == Path(
        f"{support}/Microsoft Edge/NativeMessagingHosts"
    )
    assert b.manifest_dir(b.BY_KEY["brave"], env, system=False) == Path(
        f"{support}/BraveSoftware/Brave-Browser/NativeMessagingHosts"
    )
    assert b.manifest_dir(b.BY_KEY["chrome"], env, system=True) == Path(
        "/Library/Google/Chrome/NativeMessagingHosts"
    )


def test_linux_system_paths():
    env = b.Environment(platform="linux", home=Path("/home/ada"))
    assert b.manifest_dir(b.BY_KEY["chrome"], env, system=True) == Path(
        "/etc/opt/chrome/native-messaging-hosts"
    )
    assert b.manifest_dir(b.BY_KEY["chromium"], env, system=True) == Path(
        "/etc/chromium/native-messaging-hosts"
    )


def test_windows_registers_each_browsers_key_and_uninstall_removes_them(tmp_path, host_home):
    env = b.Environment(platform="win32", home=tmp_path / "winhome")
    registry = MemoryRegistry()
    install(env, Options(browsers=["chrome", "chromium", "edge", "brave"]), registry)
    keys = {
        rf"HKEY_CURRENT_USER\Software\Google\Chrome\NativeMessagingHosts\{HOST_NAME}",
        rf"HKEY_CURRENT_USER\Software\Chromium\NativeMessagingHosts\{HOST_NAME}",
        rf"HKEY_CURRENT_USER\Software\Microsoft\Edge\NativeMessagingHosts\{HOST_NAME}",
    }
    assert {k.lower() for k in keys} == set(registry.values)
    for key in keys:
        manifest = Path(registry.get_default(key) or "")
        raw = manifest.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), "UTF-8 without BOM"
        assert json.loads(raw)["path"].endswith("notion-bridge-host.cmd")
    assert launcher_path("win32").read_text().startswith("@echo off")
    uninstall(registry)
    assert registry.values == {}


def test_windows_system_install_uses_hklm():
    key = b.registry_key(b.BY_KEY["edge"], HOST_NAME, system=True)
    assert key == rf"HKEY_LOCAL_MACHINE\Software\Microsoft\Edge\NativeMessagingHosts\{HOST_NAME}"


def test_a_snap_browser_is_explained_not_installed(linux_home, monkeypatch, tmp_path):
    snap_bin = tmp_path / "snap" / "bin"
    snap_bin.mkdir(parents=True)
    (snap_bin / "chromium").write_text("#!/bin/sh\n")
    (snap_bin / "chromium").chmod(0o755)
    monkeypatch.setenv("PATH", str(snap_bin))
    monkeypatch.setattr(b.os.path, "realpath", lambda p: "/snap/bin/chromium")
    result = plan(linux_home, Options(browsers=["chromium"]))
    assert result.targets == [] and "Snap" in result.notes[0]
