"""The installer's tables for every OS, checked against the browsers' documented locations, plus Windows (with
an in-memory registry), Snap, Flatpak and machine-wide installs exercised on this machine.

Documented: Chrome's native-messaging guide (Chrome and Chromium on every OS), Microsoft's Edge guide (Edge on
every OS, and Edge's Windows lookup: its own key, then Chromium's, then Chrome's). Brave, Vivaldi and Opera
publish nothing of their own: their per-user folders follow their user-data folders, and on Windows they read
Google Chrome's key.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from devkit.host_process import write_config
from host import EXTENSION_ID, HOST_NAME
from installer import acl, trust
from installer import browsers as b
from installer import launcher as launchers
from installer.acl import MemoryAcl
from installer.doctor import Check, host_check, run_doctor
from installer.errors import InstallError
from installer.install import Options, install, plan
from installer.registry import MemoryRegistry
from installer.uninstall import uninstall

OTHER_ID = "abcdefghijklmnopabcdefghijklmnop"
ADA_MAC = b.Environment(platform="darwin", home=Path("/Users/ada"))
ADA_LINUX = b.Environment(platform="linux", home=Path("/home/ada"))


def folder(env: b.Environment, key: str, *, system: bool = False) -> str | None:
    found = b.manifest_dir(b.BY_KEY[key], env, system=system)
    return None if found is None else str(found)


def test_macos_folders_are_the_documented_ones():
    support = "/Users/ada/Library/Application Support"
    assert {key: folder(ADA_MAC, key) for key in b.BY_KEY} == {
        "chrome": f"{support}/Google/Chrome/NativeMessagingHosts",
        "chromium": f"{support}/Chromium/NativeMessagingHosts",
        "brave": f"{support}/BraveSoftware/Brave-Browser/NativeMessagingHosts",
        "edge": f"{support}/Microsoft Edge/NativeMessagingHosts",
        "vivaldi": f"{support}/Vivaldi/NativeMessagingHosts",
        "opera": f"{support}/com.operasoftware.Opera/NativeMessagingHosts",
    }
    assert {key: folder(ADA_MAC, key, system=True) for key in b.BY_KEY} == {
        "chrome": "/Library/Google/Chrome/NativeMessagingHosts",
        "chromium": "/Library/Application Support/Chromium/NativeMessagingHosts",
        "brave": None,
        "edge": "/Library/Microsoft/Edge/NativeMessagingHosts",
        "vivaldi": None,
        "opera": None,
    }


def test_linux_folders_are_the_documented_ones():
    assert {key: folder(ADA_LINUX, key) for key in b.BY_KEY} == {
        "chrome": "/home/ada/.config/google-chrome/NativeMessagingHosts",
        "chromium": "/home/ada/.config/chromium/NativeMessagingHosts",
        "brave": "/home/ada/.config/BraveSoftware/Brave-Browser/NativeMessagingHosts",
        "edge": "/home/ada/.config/microsoft-edge/NativeMessagingHosts",
        "vivaldi": "/home/ada/.config/vivaldi/NativeMessagingHosts",
        "opera": "/home/ada/.config/opera/NativeMessagingHosts",
    }
    assert {key: folder(ADA_LINUX, key, system=True) for key in b.BY_KEY} == {
        "chrome": "/etc/opt/chrome/native-messaging-hosts",
        "chromium": "/etc/chromium/native-messaging-hosts",
        "brave": None,
        "edge": "/etc/opt/edge/native-messaging-hosts",
        "vivaldi": None,
        "opera": None,
    }
    moved = b.Environment(platform="linux", home=Path("/home/ada"), xdg_config_home=Path("/cfg"))
    assert folder(moved, "chromium") == "/cfg/chromium/NativeMessagingHosts", "XDG_CONFIG_HOME is honoured"


def test_windows_registry_keys_are_the_documented_ones():
    def key(browser: str, system: bool = False) -> str:
        return b.registry_key(b.BY_KEY[browser], HOST_NAME, system=system)

    chrome = rf"HKEY_CURRENT_USER\Software\Google\Chrome\NativeMessagingHosts\{HOST_NAME}"
    assert {name: key(name) for name in b.BY_KEY} == {
        "chrome": chrome,
        "chromium": rf"HKEY_CURRENT_USER\Software\Chromium\NativeMessagingHosts\{HOST_NAME}",
        "brave": chrome,
        "edge": rf"HKEY_CURRENT_USER\Software\Microsoft\Edge\NativeMessagingHosts\{HOST_NAME}",
        "vivaldi": chrome,
        "opera": chrome,
    }
    assert (
        key("edge", system=True)
        == rf"HKEY_LOCAL_MACHINE\Software\Microsoft\Edge\NativeMessagingHosts\{HOST_NAME}"
    )
    assert (
        b.manifest_dir(
            b.BY_KEY["chrome"], b.Environment(platform="win32", home=Path("C:/Users/ada")), system=False
        )
        is None
    )


# --- Windows, through the in-memory registry ---------------------------------------------------------------------


@pytest.fixture
def windows(tmp_path: Path, host_home: Path) -> b.Environment:
    local = tmp_path / "AppData" / "Local"
    for user_data in (
        r"Google\Chrome\User Data",
        r"BraveSoftware\Brave-Browser\User Data",
        r"Microsoft\Edge\User Data",
    ):
        local.joinpath(*user_data.split("\\")).mkdir(parents=True)
    write_config(host_home, [])
    return b.Environment(
        platform="win32",
        home=tmp_path,
        local_appdata=local,
        appdata=tmp_path / "AppData" / "Roaming",
        program_data=tmp_path / "ProgramData",
    )


def key_of(browser: str, *, system: bool = False) -> str:
    return b.registry_key(b.BY_KEY[browser], HOST_NAME, system=system)


def test_windows_install_sets_each_key_to_a_manifest_without_bom(windows, host_home):
    registry = MemoryRegistry()
    registry.set_default(r"HKEY_CURRENT_USER\Software\Google\Chrome\Other", "someone else's")
    before = dict(registry.keys)
    lines = install(windows, Options(home=host_home), registry)

    ours = {k: v for k, v in registry.keys.items() if k not in before and v is not None}
    assert set(ours) == {key_of("chrome").lower(), key_of("edge").lower()}, "Brave shares Chrome's key"
    assert f"set registry {key_of('chrome')} = {registry.get_default(key_of('chrome'))}" in lines
    assert any(line.startswith("wrote Google Chrome, Brave manifest") for line in lines)
    launcher = host_home / "data" / "native-host" / "notion-bridge-host.cmd"
    for value in ours.values():
        assert value is not None
        raw = Path(value).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), "UTF-8 without a BOM"
        manifest = json.loads(raw.decode("utf-8"))
        assert manifest["path"] == str(launcher) and manifest["name"] == HOST_NAME
        assert manifest["allowed_origins"] == [f"chrome-extension://{EXTENSION_ID}/"]
    text = launcher.read_bytes().decode("utf-8")  # as written: CRLF line ends for cmd.exe
    assert text == (
        "@echo off\r\nrem Notion MCP Bridge: the browser starts this for the extension. Written by "
        f'`notion-bridge install`.\r\nset "NOTION_BRIDGE_HOME={host_home}"\r\n"{sys.executable}" -m host %*\r\n'
    )
    again = install(windows, Options(home=host_home), registry)
    assert f"unchanged Google Chrome, Brave manifest {ours[key_of('chrome').lower()]}" in again
    assert f"unchanged registry {key_of('chrome')}" in again

    uninstall(windows, Options(home=host_home), registry)
    assert registry.keys == before, "our keys and the empty parents we made are gone; others' are not"
    assert not launcher.exists() and not (host_home / "data" / "native-host").exists()


def test_windows_doctor_follows_the_registry_to_the_manifest(windows, host_home, monkeypatch):
    registry = MemoryRegistry()
    install(windows, Options(browsers=["edge"], home=host_home), registry)
    started: list[list[str]] = []

    def fake_hello(command: list[str], name: str, **_kwargs) -> Check:
        started.append(command)  # a .cmd cannot run here; that it would be started is what matters
        return Check(name, "ok", "hello")

    monkeypatch.setattr(host_check, "check_hello", fake_hello)
    checks = run_doctor(windows, Options(browsers=["edge"], home=host_home), registry)
    assert [c for c in checks if c.status == "fail"] == []
    assert started == [[str(host_home / "data" / "native-host" / "notion-bridge-host.cmd")]]

    registry.delete(key_of("edge"))
    failed = [
        c
        for c in run_doctor(windows, Options(browsers=["edge"], home=host_home), registry)
        if c.status == "fail"
    ]
    assert [(c.name, c.detail) for c in failed] == [
        ("Microsoft Edge: registry", f"no registry key {key_of('edge')}")
    ]


def test_windows_uninstall_of_one_browser_keeps_a_shared_key(windows, host_home):
    registry = MemoryRegistry()
    install(windows, Options(home=host_home), registry)
    lines = uninstall(windows, Options(browsers=["brave"], home=host_home), registry)
    assert any(line.startswith("kept") and line.endswith("still used by Google Chrome") for line in lines)
    assert registry.get_default(key_of("chrome")) is not None
    uninstall(windows, Options(browsers=["chrome"], home=host_home), registry)
    assert registry.get_default(key_of("chrome")) is None and registry.get_default(key_of("edge")) is not None


def test_windows_uninstall_leaves_a_key_someone_else_took_over(windows, host_home):
    registry = MemoryRegistry()
    install(windows, Options(browsers=["chromium"], home=host_home), registry)
    registry.set_default(key_of("chromium"), r"C:\elsewhere\manifest.json")
    lines = uninstall(windows, Options(home=host_home), registry)
    assert (
        rf"left registry {key_of('chromium')}: it now points at C:\elsewhere\manifest.json, not at what install set"
        in lines
    )
    assert registry.get_default(key_of("chromium")) == r"C:\elsewhere\manifest.json"


def test_windows_machine_wide_uses_hklm_and_program_data(windows, host_home):
    registry = MemoryRegistry()
    install(windows, Options(browsers=["chrome"], system=True, home=host_home), registry, MemoryAcl())
    value = registry.get_default(key_of("chrome", system=True))
    assert value is not None and Path(value).is_relative_to(windows.program_data_dir / "notion-mcp-bridge")
    assert (windows.program_data_dir / "notion-mcp-bridge" / "install-record.json").exists()
    uninstall(windows, Options(system=True, home=host_home), registry)
    assert registry.keys == {}


def test_windows_refuses_a_profile_folder(windows, host_home, tmp_path):
    with pytest.raises(InstallError, match="only through the registry"):
        install(windows, Options(user_data_dir=tmp_path / "p", home=host_home), MemoryRegistry())


# --- Linux packaging: Snap, Flatpak, machine-wide --------------------------------------------------------------------


@pytest.fixture
def linux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_home: Path) -> b.Environment:
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("HOME", str(home))
    write_config(host_home, [])
    return b.Environment(platform="linux", home=home, root=tmp_path / "root", path=str(tmp_path / "bin"))


def test_a_snap_browser_is_explained_not_installed(linux, tmp_path, host_home):
    (linux.root / "snap" / "chromium").mkdir(parents=True)
    wrapper = tmp_path / "bin" / "chromium-browser"  # Ubuntu's .deb that only starts the Snap
    wrapper.write_text('#!/bin/sh\nexec /snap/bin/chromium "$@"\n')
    wrapper.chmod(0o755)
    for options in (Options(), Options(browsers=["chromium"])):
        result = plan(linux, options, base=tmp_path / "base")
        assert result.targets == []
        assert result.problems[0].startswith("Chromium from Snap cannot start native hosts")
    checks = run_doctor(linux, Options(browsers=["chromium"]))
    assert any(c.status == "warn" and "Snap" in c.detail for c in checks)
    with pytest.raises(InstallError, match=r"^nothing was installed: Chromium from Snap cannot"):
        install(linux, Options(browsers=["chromium"], home=host_home))


def test_a_flatpak_browser_gets_a_launcher_inside_its_sandbox(linux, host_home):
    app = linux.home / ".var" / "app" / "com.brave.Browser"
    app.mkdir(parents=True)
    lines = install(linux, Options(home=host_home), None)
    manifest = (
        app / "config" / "BraveSoftware" / "Brave-Browser" / "NativeMessagingHosts" / f"{HOST_NAME}.json"
    )
    launcher = app / "data" / "notion-mcp-bridge" / "notion-bridge-host"
    assert json.loads(manifest.read_text())["path"] == str(launcher)
    assert launchers.parse(launcher.read_text()) == launchers.LaunchSpec(sys.executable, str(host_home), True)
    assert "flatpak-spawn --host --watch-bus" in launcher.read_text()
    [note] = [x for x in lines if "flatpak override" in x]
    assert "flatpak override --user --talk-name=org.freedesktop.Flatpak com.brave.Browser" in note
    assert "may then run any command on this computer as you, outside the sandbox" in note, (
        "the note says plainly what the permission grants"
    )
    assert "the sandbox no longer protects you from the browser" in note
    assert "flatpak override --user --no-talk-name=org.freedesktop.Flatpak com.brave.Browser" in note

    checks = {c.name: c for c in run_doctor(linux, Options(home=host_home))}
    assert checks["Brave (Flatpak): sandbox"].status == "warn"
    assert "run any command on this computer as you" in checks["Brave (Flatpak): sandbox"].fix
    assert checks["Brave (Flatpak): host"].status == "ok", "the host side of flatpak-spawn says hello"
    overrides = linux.home / ".local" / "share" / "flatpak" / "overrides"
    overrides.mkdir(parents=True)
    (overrides / "com.brave.Browser").write_text("[Session Bus Policy]\norg.freedesktop.Flatpak=talk\n")
    checks = {c.name: c for c in run_doctor(linux, Options(home=host_home))}
    assert checks["Brave (Flatpak): sandbox"].status == "ok"

    uninstall(linux, Options(home=host_home))
    assert list(app.rglob("*")) == [], "the Flatpak's folder is as it was"


def all_roots(env: b.Environment) -> b.Environment:
    """The machine as far as writing goes, but with every path the launcher depends on owned by root and
    writable by nobody else, whatever this checkout and Python look like (tests below check the check)."""
    return replace(env, files=trust.MemoryFiles())


def test_machine_wide_on_linux_writes_under_etc_and_says_what_it_cannot(linux, host_home):
    lines = install(all_roots(linux), Options(browsers=["chromium", "brave"], system=True, home=host_home))
    manifest = linux.root / "etc" / "chromium" / "native-messaging-hosts" / f"{HOST_NAME}.json"
    launcher = (
        linux.root / "usr" / "local" / "lib" / "notion-mcp-bridge" / "native-host" / "notion-bridge-host"
    )
    assert json.loads(manifest.read_text())["path"] == str(launcher)
    assert (manifest.stat().st_mode & 0o777, launcher.stat().st_mode & 0o777) == (0o644, 0o755)
    assert (
        "note: Brave documents no machine-wide manifest folder on Linux; install it per user (leave out --system)"
        in lines
    )
    assert not (host_home / "data" / "install-record.json").exists(), (
        "the machine-wide record is kept with it"
    )
    uninstall(linux, Options(system=True, home=host_home))
    assert list(linux.root.rglob("*")) == []


def test_machine_wide_without_permission_says_how(linux, host_home, monkeypatch):
    def denied(path: Path, *_args, **_kwargs) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("host.atomic.write_atomic", denied)
    with pytest.raises(InstallError, match=r"run it as root \(sudo notion-bridge install --system\)"):
        install(all_roots(linux), Options(browsers=["chrome"], system=True, home=host_home))


def test_options_that_cannot_go_together_are_refused(linux, host_home, tmp_path):
    for options, message in [
        (Options(user_data_dir=tmp_path, system=True), "cannot be combined with --system"),
        (Options(user_data_dir=tmp_path, browsers=["chrome", "brave"]), "at most one --browser"),
        (Options(browsers=["firefox"]), "unknown browser 'firefox'"),
    ]:
        with pytest.raises(InstallError, match=message):
            install(linux, Options(**{**options.__dict__, "home": host_home}))


# --- machine-wide: who can change what every user's browser runs (faked owners and modes) ------------------------

ADA, BOB, ADMIN, STAFF = 501, 502, 80, 50
VENV = "/opt/notion-mcp-bridge"
MAC_LAUNCHER = "/Library/Application Support/notion-mcp-bridge/native-host/notion-bridge-host"
CHROME_MAC = "/Library/Google/Chrome/NativeMessagingHosts"


def mac(**kwargs) -> trust.MemoryFiles:
    """A Mac where root owns the system folders, ada (an admin) owns Homebrew, and a root-owned virtualenv
    uses Apple's Python."""
    files = trust.MemoryFiles(
        users={0: "root", ADA: "ada", BOB: "bob"},
        groups={0: "wheel", ADMIN: "admin", STAFF: "staff"},
        **kwargs,
    )
    files.dir("/Library/Google/Chrome/NativeMessagingHosts").dir("/Library/Application Support", gid=ADMIN)
    files.file("/usr/bin/python3", 0o755)
    files.dir(f"{VENV}/bin").link(f"{VENV}/bin/python", "python3").link(
        f"{VENV}/bin/python3", "/usr/bin/python3"
    )
    files.file(f"{VENV}/lib/python3.9/site-packages/host/__init__.py")
    files.file(f"{VENV}/lib/python3.9/site-packages/distutils-precedence.pth")
    files.file("/usr/lib/python3.9/os.py")
    files.dir("/opt/homebrew", uid=ADA, gid=ADMIN).dir("/opt/homebrew/bin", uid=ADA, gid=ADMIN)
    files.link("/opt/homebrew/bin/python3", "../Cellar/python@3.12/3.12.4/bin/python3.12", uid=ADA)
    files.file("/opt/homebrew/Cellar/python@3.12/3.12.4/bin/python3.12", 0o755, uid=ADA, gid=ADMIN)
    files.dir("/tmp", 0o1777)
    return files


def venv_runtime(interpreter: str = f"{VENV}/bin/python") -> trust.Runtime:
    return trust.Runtime(interpreter, ("/usr/lib/python3.9", f"{VENV}/lib/python3.9/site-packages"))


def check(files: trust.Files, runtime: trust.Runtime, launcher: str = MAC_LAUNCHER) -> dict[str, str]:
    found = trust.problems(files, trust.dependencies(runtime, launcher, [CHROME_MAC]))
    return {p.path: p.reason for p in found}


def test_a_root_owned_virtualenv_passes_through_its_links():
    assert check(mac(), venv_runtime()) == {}


def test_homebrew_python_is_refused_because_its_owner_could_change_it():
    files = mac()
    files.link(f"{VENV}/bin/python3", "/opt/homebrew/bin/python3")
    found = check(files, venv_runtime())
    assert found["/opt/homebrew"] == "can be changed by ada (its owner)"
    assert (
        found["/opt/homebrew/Cellar/python@3.12/3.12.4/bin/python3.12"] == "can be changed by ada (its owner)"
    )
    assert f"{VENV}/bin" not in found, "the link's own folder is root's"


def test_a_folder_the_admin_group_can_write_is_refused():
    files = mac()
    framework = "/Library/Frameworks/Python.framework/Versions/3.12"
    files.dir(framework, 0o775, gid=ADMIN).file(f"{framework}/bin/python3.12", 0o775, gid=ADMIN)
    found = check(files, venv_runtime(f"{framework}/bin/python3.12"))
    assert found == {
        framework: "can be changed by group admin",
        f"{framework}/bin/python3.12": "can be changed by group admin",
    }


def test_debians_group_writable_dist_packages_is_refused():
    files = mac(installer_uid=0)
    files.file("/usr/bin/python3.11", 0o755).dir("/usr/local/lib/python3.11/dist-packages", 0o2775, gid=STAFF)
    files.file("/usr/local/lib/python3.11/dist-packages/requests/__init__.py", gid=STAFF)
    runtime = trust.Runtime("/usr/bin/python3.11", ("/usr/local/lib/python3.11/dist-packages",))
    found = trust.problems(files, trust.dependencies(runtime, "/usr/local/lib/nmb/native-host/x", []))
    assert [(p.path, p.reason, p.code) for p in found] == [
        ("/usr/local/lib/python3.11/dist-packages", "can be changed by group staff", True)
    ], "named once: what is inside a folder others can change is not listed one by one"


def test_one_writable_file_deep_in_site_packages_is_named():
    files = mac()
    pth = f"{VENV}/lib/python3.9/site-packages/evil.pth"
    files.file(pth, 0o666)
    files.dir(f"{VENV}/lib/python3.9/site-packages/plugin", uid=BOB).file(
        f"{VENV}/lib/python3.9/site-packages/plugin/x.py", uid=BOB
    )
    assert check(files, venv_runtime()) == {
        pth: "can be changed by group wheel and every user",
        f"{VENV}/lib/python3.9/site-packages/plugin": "can be changed by bob (its owner)",
    }


def test_a_sticky_folder_protects_only_what_root_owns_in_it():
    files = mac()
    files.dir("/tmp/venv/bin").file("/tmp/venv/bin/python", 0o755)
    assert check(files, trust.Runtime("/tmp/venv/bin/python", ())) == {}, (
        "root's folder in /tmp: nobody can swap it"
    )

    files.dir("/tmp/venv", uid=BOB)
    found = check(files, trust.Runtime("/tmp/venv/bin/python", ()))
    assert found == {
        "/tmp": "can be changed by group wheel and every user",
        "/tmp/venv": "can be changed by bob (its owner)",
    }

    found = check(
        files, trust.Runtime(f"{VENV}/bin/python", ()), launcher="/tmp/not-yet/native-host/launcher"
    )
    assert found == {"/tmp": "can be changed by group wheel and every user"}, (
        "anyone can create a missing folder first"
    )


def test_the_installing_user_is_trusted_but_nobody_else():
    files = mac(installer_uid=ADA)
    files.link(f"{VENV}/bin/python3", "/opt/homebrew/bin/python3")
    assert check(files, venv_runtime()) == {}
    files.dir("/opt/homebrew/bin", uid=BOB)
    assert check(files, venv_runtime()) == {"/opt/homebrew/bin": "can be changed by bob (its owner)"}


def test_a_link_loop_ends():
    files = mac()
    files.link("/opt/loop/a", "b").link("/opt/loop/b", "a")
    assert check(files, trust.Runtime("/opt/loop/a", ())) == {}


def test_install_system_on_macos_refuses_before_writing_anything(tmp_path, host_home):
    files = mac()
    files.link(f"{VENV}/bin/python3", "/opt/homebrew/bin/python3")
    env = b.Environment(
        platform="darwin", home=tmp_path / "home", root=tmp_path / "root", files=files, runtime=venv_runtime()
    )
    options = Options(browsers=["chrome"], system=True, home=host_home, extension_ids=[OTHER_ID])
    with pytest.raises(InstallError) as refused:
        install(env, options)
    message = str(refused.value)
    assert (
        "/opt/homebrew (on the way to the Python interpreter the launcher runs, /opt/notion-mcp-bridge/bin/python): "
        "can be changed by ada (its owner)\n"
    ) in message
    assert (
        "sudo python3 -m venv /opt/notion-mcp-bridge && sudo /opt/notion-mcp-bridge/bin/pip install"
        in message
    )
    assert not (tmp_path / "root").exists() and not (host_home / "config").exists(), "nothing was written"


# --- Windows: the machine-wide folder under %ProgramData% ---------------------------------------------------------

USER_SID = "S-1-5-21-1004336348-1177238915-682003330-1001"


def program_data_base(env: b.Environment) -> Path:
    return env.program_data_dir / "notion-mcp-bridge"


def test_windows_machine_wide_folder_is_made_for_administrators_only(windows, host_home):
    registry, folders = MemoryRegistry(), MemoryAcl()
    lines = install(windows, Options(browsers=["chrome"], system=True, home=host_home), registry, folders)
    base = program_data_base(windows)
    assert folders.calls == [
        ("icacls", str(base), "/setowner", "*S-1-5-32-544"),
        (
            "icacls", str(base), "/inheritance:r", "/grant:r",
            "*S-1-5-32-544:(OI)(CI)F", "*S-1-5-18:(OI)(CI)F", "*S-1-5-32-545:(OI)(CI)RX",
        ),
    ]  # fmt: skip
    assert f"made {base}: only Administrators and SYSTEM can change it, Users can read and run it" in lines
    assert folders.writers(base) == []
    checks = {c.name: c for c in run_doctor(windows, Options(system=True, home=host_home), registry, folders)}
    assert checks["machine-wide: who can change it"].status == "ok"

    install(windows, Options(browsers=["chrome"], system=True, home=host_home), registry, folders)
    assert len(folders.calls) == 2, "an admin-only folder is kept as it is"
    folders.folders[str(base)] = acl.inherited_program_data(acl.ADMINISTRATORS)
    checks = {c.name: c for c in run_doctor(windows, Options(system=True, home=host_home), registry, folders)}
    assert checks["machine-wide: who can change it"].status == "fail"
    assert checks["machine-wide: who can change it"].detail.startswith("Users can change")
    uninstall(windows, Options(system=True, home=host_home), registry)
    assert not base.exists()


@pytest.mark.parametrize(
    ("owner_and_rules", "who"),
    [
        (acl.inherited_program_data(acl.ADMINISTRATORS), "Users"),
        (
            acl.inherited_program_data(USER_SID),
            f"{USER_SID} (its owner, who can change its permissions) and Users",
        ),
    ],
)
def test_windows_refuses_a_program_data_folder_others_can_change(windows, host_home, owner_and_rules, who):
    base = program_data_base(windows)
    base.mkdir(parents=True)
    (base / "planted.cmd").write_text("@echo off\r\n")
    registry, folders = MemoryRegistry(), MemoryAcl(folders={str(base): owner_and_rules})
    with pytest.raises(InstallError) as refused:
        install(windows, Options(browsers=["chrome"], system=True, home=host_home), registry, folders)
    assert str(refused.value).startswith(f"{base} already exists and {who} can change it")
    assert f'remove it (rd /s /q "{base}"' in str(refused.value)
    assert folders.calls == [] and registry.keys == {}
    assert sorted(p.name for p in base.iterdir()) == ["planted.cmd"], "refused, not fixed: nothing written"


def test_windows_refuses_a_program_data_folder_that_is_a_link(windows, host_home, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    windows.program_data_dir.mkdir()
    program_data_base(windows).symlink_to(elsewhere)
    with pytest.raises(InstallError, match="is a link or junction to another folder"):
        install(
            windows, Options(browsers=["chrome"], system=True, home=host_home), MemoryRegistry(), MemoryAcl()
        )
    assert list(elsewhere.iterdir()) == []


def test_windows_without_admin_rights_leaves_no_folder_behind(windows, host_home):
    class Refusing(MemoryAcl):
        def restrict(self, folder: Path) -> None:
            raise OSError("icacls /setowner failed: Access is denied.")

    with pytest.raises(InstallError, match="run it from an administrator prompt"):
        install(
            windows, Options(browsers=["chrome"], system=True, home=host_home), MemoryRegistry(), Refusing()
        )
    assert not program_data_base(windows).exists()


def test_windows_refuses_what_slipped_in_before_the_acl_was_set(windows, host_home):
    class Raced(MemoryAcl):
        def restrict(self, folder: Path) -> None:
            (folder / "native-host").mkdir()  # a user's, made while the folder still had the inherited ACL
            super().restrict(folder)

    with pytest.raises(InstallError, match="it already holds native-host"):
        install(windows, Options(browsers=["chrome"], system=True, home=host_home), MemoryRegistry(), Raced())


def test_windows_acl_writers_reads_rights_as_windows_does():
    full, read_execute = 0x1F01FF, 0x1200A9
    admin_only = [
        acl.Rule(acl.ADMINISTRATORS, full),
        acl.Rule(acl.SYSTEM, full),
        acl.Rule(acl.USERS, read_execute),
    ]
    assert acl.writers(acl.ADMINISTRATORS, admin_only) == []
    assert acl.writers(acl.SYSTEM, [*admin_only, acl.Rule("S-1-3-0", 0x10000000)]) == [], (
        "CREATOR OWNER: an admin"
    )
    assert acl.writers(acl.ADMINISTRATORS, [acl.Rule("S-1-1-0", 0x40000000)]) == ["Everyone"], "generic write"
    assert acl.writers(acl.ADMINISTRATORS, [acl.Rule("S-1-5-11", 0x40000)]) == ["Authenticated Users"], (
        "WRITE_DAC"
    )
    assert acl.writers(acl.ADMINISTRATORS, [acl.Rule(acl.USERS, full, allow=False)]) == []


# --- the launcher and the template ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "interpreter", "home", "flatpak"),
    [
        ("linux", "/opt/py 3/bin/python", Path("/home/o'brien/bridge home"), False),
        ("linux", "/usr/bin/python3", None, False),
        ("linux", "/usr/bin/python3", Path("/h/x y"), True),
        ("win32", r"C:\Program Files\Py%3\python.exe", Path(r"C:\Users\ada\100% bridge"), False),
    ],
)
def test_launchers_read_back_what_they_were_written_with(platform, interpreter, home, flatpak):
    text = launchers.render(platform, interpreter=interpreter, home=home, flatpak=flatpak)
    spec = launchers.parse(text)
    assert spec == launchers.LaunchSpec(interpreter, str(home) if home else None, flatpak)
    assert launchers.parse("#!/bin/sh\nexec python -m host\n") is None


def test_the_template_renders_any_path_into_valid_json(tmp_path):
    from installer import manifest

    template = json.loads(manifest.TEMPLATE.read_text(encoding="utf-8"))
    assert template["name"] == "${HOST_NAME}" and template["type"] == "stdio"
    odd = Path('C:\\odd "quoted" \\path\\ünï/launcher')
    rendered = json.loads(manifest.render(odd, ["abcdefghijklmnopabcdefghijklmnop"]))
    assert rendered["path"] == str(odd)
    assert rendered["allowed_origins"][1] == "chrome-extension://abcdefghijklmnopabcdefghijklmnop/"
