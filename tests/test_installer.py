"""The installer on Linux, for real: install, doctor, uninstall in a temporary home, and doctor's red cases."""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from devkit.host_process import write_config
from host import EXTENSION_ID, HOST_NAME, __version__
from installer import browsers as b
from installer import doctor, trust
from installer import launcher as launchers
from installer.doctor import Check, host_check, report, run_doctor
from installer.errors import InstallError
from installer.install import Options, install, launcher_path
from installer.uninstall import uninstall

OTHER_ID = "abcdefghijklmnopabcdefghijklmnop"


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_home: Path) -> b.Environment:
    """A home with Chrome and Chromium profiles, no browser binaries, and an empty server list."""
    home = tmp_path / "home"
    (home / ".config" / "google-chrome").mkdir(parents=True)
    (home / ".config" / "chromium").mkdir(parents=True)
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    write_config(host_home, [])
    return b.Environment(
        platform="linux",
        home=home,
        xdg_config_home=home / ".config",
        root=tmp_path / "root",
        path=str(tmp_path / "bin"),
    )


def manifest_of(env: b.Environment, key: str) -> Path:
    folder = b.manifest_dir(b.BY_KEY[key], env, system=False)
    assert folder is not None
    return folder / f"{HOST_NAME}.json"


def launcher_of(host_home: Path) -> Path:
    return launcher_path(host_home / "data", "linux")


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == "fail"]


def test_install_writes_a_manifest_per_browser_found_and_one_launcher(machine, host_home):
    lines = install(machine, Options(home=host_home))
    launcher = launcher_of(host_home)
    for key in ("chrome", "chromium"):
        manifest = json.loads(manifest_of(machine, key).read_text(encoding="utf-8"))
        assert manifest == {
            "name": HOST_NAME,
            "description": manifest["description"],
            "path": str(launcher),
            "type": "stdio",
            "allowed_origins": [f"chrome-extension://{EXTENSION_ID}/"],
        }
    assert not manifest_of(machine, "brave").parent.exists(), "browsers not found are left alone"
    assert launcher.stat().st_mode & stat.S_IXUSR
    text = launcher.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert f"NOTION_BRIDGE_HOME={host_home}\nexport NOTION_BRIDGE_HOME\n" in text
    assert text.rstrip().endswith(f'exec {sys.executable} -m host "$@"')
    assert f"wrote Chromium manifest {manifest_of(machine, 'chromium')}" in lines
    assert f"wrote launcher {launcher}" in lines

    before = snapshot(machine.home), snapshot(host_home / "data")
    again = install(machine, Options(home=host_home))
    assert (snapshot(machine.home), snapshot(host_home / "data")) == before, "install is idempotent"
    assert [line.split()[0] for line in again if line.startswith(("wrote", "unchanged"))] == ["unchanged"] * 3


def test_a_home_set_only_in_the_shell_is_refused_not_baked_in(machine, host_home):
    with pytest.raises(InstallError, match="--home"):
        install(machine, Options())
    assert not launcher_of(host_home).exists()


def test_without_home_the_launcher_passes_nothing_extra(machine, monkeypatch, tmp_path):
    monkeypatch.delenv("NOTION_BRIDGE_HOME")
    monkeypatch.setattr("platformdirs.user_data_dir", lambda *a, **k: str(tmp_path / "default-data"))
    install(machine, Options(browsers=["chromium"]))
    text = (tmp_path / "default-data" / "native-host" / "notion-bridge-host").read_text()
    assert "NOTION_BRIDGE_HOME" not in text
    assert launchers.parse(text) == launchers.LaunchSpec(sys.executable, None, False)


def test_install_doctor_uninstall_leaves_the_machine_as_it_was(machine, host_home):
    foreign = manifest_of(machine, "chrome").parent / "com.other.app.json"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("{}")
    before = snapshot(machine.home)

    install(machine, Options(home=host_home))
    install(machine, Options(browsers=["brave"], home=host_home))  # a browser not found: its folders are made
    assert manifest_of(machine, "brave").exists()

    checks = run_doctor(machine, Options(home=host_home))
    assert failures(checks) == [], report(checks, as_json=False, home=machine.home)
    hellos = [c for c in checks if c.name.endswith(": host")]
    assert (
        len(hellos) == 1
        and hellos[0].status == "ok"
        and f"hello from host {__version__} (protocol 1)" in hellos[0].detail
    )
    for label in ("Google Chrome", "Chromium", "Brave"):
        assert {c.name for c in checks if c.status == "ok"} >= {f"{label}: manifest", f"{label}: origin"}

    lines = uninstall(machine, Options(home=host_home))
    assert f"removed {manifest_of(machine, 'brave')}" in lines
    assert snapshot(machine.home) == before, "only what install wrote is gone, and the folders it made"
    assert foreign.read_text() == "{}"
    assert not (host_home / "data" / "native-host").exists()
    assert not (host_home / "data" / "install-record.json").exists()
    assert uninstall(machine, Options(home=host_home))[0].startswith("nothing to remove")


def test_uninstall_leaves_a_file_that_changed_since_install(machine, host_home):
    install(machine, Options(browsers=["chromium"], home=host_home))
    manifest = manifest_of(machine, "chromium")
    manifest.write_text('{"name": "edited by hand"}')
    lines = uninstall(machine, Options(home=host_home))
    assert f"left {manifest}: it changed since install wrote it" in lines
    assert manifest.read_text() == '{"name": "edited by hand"}'
    assert not launcher_of(host_home).exists()


def test_uninstall_takes_the_same_options_as_install(machine, host_home, tmp_path):
    profile = tmp_path / "profile"
    install(machine, Options(home=host_home))
    install(machine, Options(browsers=["chromium"], user_data_dir=profile, home=host_home))
    in_profile = profile / "NativeMessagingHosts" / f"{HOST_NAME}.json"
    assert in_profile.exists()

    uninstall(machine, Options(user_data_dir=profile, home=host_home))
    assert not in_profile.exists() and not profile.exists(), "the profile folder install made goes too"
    assert manifest_of(machine, "chromium").exists()

    uninstall(machine, Options(browsers=["chromium"], home=host_home))
    assert not manifest_of(machine, "chromium").exists()
    assert manifest_of(machine, "chrome").exists() and launcher_of(host_home).exists(), "Chrome still uses it"

    uninstall(machine, Options(home=host_home))
    assert not manifest_of(machine, "chrome").exists() and not launcher_of(host_home).exists()


def test_extra_extension_ids_are_allowed_by_manifest_and_host(machine, host_home):
    install(machine, Options(browsers=["chromium"], extension_ids=[OTHER_ID], home=host_home))
    origins = json.loads(manifest_of(machine, "chromium").read_text())["allowed_origins"]
    assert origins == [f"chrome-extension://{EXTENSION_ID}/", f"chrome-extension://{OTHER_ID}/"]
    stored = json.loads((host_home / "config" / "config.json").read_text())
    assert stored["allowed_extension_ids"] == [OTHER_ID]
    checks = run_doctor(machine, Options(browsers=["chromium"], home=host_home))
    assert next(c for c in checks if c.name == "Chromium: origin").status == "ok"

    with pytest.raises(InstallError, match="not an extension ID"):
        install(machine, Options(extension_ids=["not-an-id"], home=host_home))


def test_user_data_dir_puts_the_manifest_inside_that_profile(machine, host_home, tmp_path):
    profile = tmp_path / "profile"
    install(machine, Options(browsers=["chromium"], user_data_dir=profile, home=host_home))
    assert (profile / "NativeMessagingHosts" / f"{HOST_NAME}.json").exists()
    assert not manifest_of(machine, "chromium").exists(), "only that profile"
    checks = run_doctor(machine, Options(user_data_dir=profile, home=host_home))
    assert failures(checks) == [] and [c.name for c in checks][:4] == [
        f"Chromium (profile {profile}): manifest",
        f"Chromium (profile {profile}): origin",
        f"Chromium (profile {profile}): launcher",
        f"Chromium (profile {profile}): host",
    ]


# --- doctor's red cases ---------------------------------------------------------------------------------------


def broken(env: b.Environment, home: Path, mutate) -> list[Check]:
    install(env, Options(browsers=["chromium"], home=home))
    mutate(manifest_of(env, "chromium"))
    return failures(run_doctor(env, Options(browsers=["chromium"], home=home)))


def edit(manifest: Path, **changes) -> None:
    data = json.loads(manifest.read_text())
    data.update(changes)
    manifest.write_text(json.dumps(data))


def stand_in(host_home: Path, body: str) -> None:
    """Replace the launcher with a script: a host that misbehaves in one particular way."""
    launcher_of(host_home).write_text(f"#!/bin/sh\n{body}\n")


def python_stand_in(host_home: Path, code: str) -> None:
    script = host_home / "stand_in.py"
    script.write_text(code)
    stand_in(host_home, f"exec {sys.executable} {script}")


def test_doctor_names_a_missing_manifest(machine, host_home):
    [failed] = broken(machine, host_home, lambda m: m.unlink())
    assert failed.name == "Chromium: manifest"
    assert failed.detail == f"no manifest at {manifest_of(machine, 'chromium')}"
    assert failed.fix == f"run `notion-bridge install --browser chromium --home {host_home}`"


def test_doctor_names_a_wrong_path(machine, host_home):
    [failed] = broken(machine, host_home, lambda m: edit(m, path="/nowhere/launcher"))
    assert (failed.name, failed.detail) == ("Chromium: launcher", "/nowhere/launcher does not exist")
    [failed] = broken(machine, host_home, lambda m: edit(m, path="relative/launcher"))
    assert failed.detail == "the launcher path relative/launcher is not absolute"


def test_doctor_names_a_launcher_that_is_not_executable(machine, host_home):
    [failed] = broken(machine, host_home, lambda m: os.chmod(launcher_of(host_home), 0o644))
    assert failed.name == "Chromium: launcher" and failed.detail.endswith("is not executable")
    assert failed.fix.startswith(f"run `chmod +x {launcher_of(host_home)}`")
    assert f"wrote launcher {launcher_of(host_home)}" in install(
        machine, Options(browsers=["chromium"], home=host_home)
    )
    assert failures(run_doctor(machine, Options(browsers=["chromium"], home=host_home))) == [], (
        "install repairs it"
    )


def test_doctor_names_a_wrong_origin(machine, host_home):
    [failed] = broken(
        machine, host_home, lambda m: edit(m, allowed_origins=[f"chrome-extension://{OTHER_ID}/"])
    )
    assert failed.name == "Chromium: origin"
    assert failed.detail.startswith(f"allowed_origins lacks chrome-extension://{EXTENSION_ID}/")
    [failed] = broken(
        machine, host_home, lambda m: edit(m, allowed_origins=[f"chrome-extension://{EXTENSION_ID}/", "*"])
    )
    assert "not exact extension origins" in failed.detail


def test_doctor_warns_about_an_origin_the_host_would_refuse(machine, host_home):
    install(machine, Options(browsers=["chromium"], home=host_home))
    edit(
        manifest_of(machine, "chromium"),
        allowed_origins=[f"chrome-extension://{x}/" for x in (EXTENSION_ID, OTHER_ID)],
    )
    check = next(
        c for c in run_doctor(machine, Options(browsers=["chromium"], home=host_home)) if "origin" in c.name
    )
    assert check.status == "warn" and "--extension-id" in check.fix


def test_doctor_names_an_invalid_or_misnamed_manifest(machine, host_home):
    [failed] = broken(machine, host_home, lambda m: m.write_text("{not json"))
    assert failed.name == "Chromium: manifest" and "is not valid JSON" in failed.detail
    [failed] = broken(machine, host_home, lambda m: edit(m, name="com.other.host"))
    assert "its name is 'com.other.host'" in failed.detail


def test_doctor_names_a_host_crashing_at_start(machine, host_home):
    crash = "echo 'ModuleNotFoundError: No module named host' >&2\nexit 3"
    [failed] = broken(machine, host_home, lambda m: stand_in(host_home, crash))
    assert failed.name == "Chromium: host"
    assert (
        failed.detail
        == "the host exited before saying hello (exit code 3): ModuleNotFoundError: No module named host"
    )
    assert "reinstall the package" in failed.fix


def test_doctor_names_a_launcher_whose_python_is_gone(machine, host_home):
    def vanished(_m: Path) -> None:
        launcher_of(host_home).write_text(
            launchers.render("linux", interpreter="/gone/venv/bin/python", home=host_home)
        )

    [failed] = broken(machine, host_home, vanished)
    assert failed.name == "Chromium: launcher"
    assert failed.detail.startswith("the launcher runs /gone/venv/bin/python, which does not exist")


def test_doctor_names_a_host_that_refuses_the_origin(machine, host_home):
    frame = json.dumps({"type": "error", "error": {"code": "forbidden_origin", "message": "not you"}})
    code = f"import struct, sys\nb = {frame!r}.encode()\nsys.stdout.buffer.write(struct.pack('=I', len(b)) + b)\n"
    [failed] = broken(machine, host_home, lambda m: python_stand_in(host_home, code + "sys.exit(1)\n"))
    assert (
        failed.name == "Chromium: host"
        and failed.detail == "the host refused the extension's origin: not you"
    )


def test_doctor_names_output_that_is_not_frames(machine, host_home):
    [failed] = broken(machine, host_home, lambda m: stand_in(host_home, "echo 'Welcome back!'\nsleep 1"))
    assert "not native-messaging frames" in failed.detail and "prints to stdout" in failed.fix


def test_doctor_names_a_host_that_never_says_hello(machine, host_home, monkeypatch):
    monkeypatch.setattr(host_check, "HELLO_TIMEOUT_S", 0.5)
    monkeypatch.setattr(host_check, "EXIT_TIMEOUT_S", 0.5)
    [failed] = broken(machine, host_home, lambda m: stand_in(host_home, "exec sleep 30"))
    assert failed.detail == "no hello within 0.5 s"


def test_doctor_fails_when_nothing_is_installed(machine, host_home):
    checks = run_doctor(machine, Options(home=host_home))
    missing = [c for c in checks if c.name.endswith(": manifest")]
    assert {c.status for c in missing} == {"warn"}, "browsers found but never installed for are warnings"
    assert "not registered" in missing[0].detail
    lonely = b.Environment(
        platform="linux", home=machine.home / "empty", root=machine.root, path=machine.path
    )
    [failed] = failures(run_doctor(lonely, Options(home=host_home)))
    assert failed.name == "installation" and failed.fix == f"run `notion-bridge install --home {host_home}`"


# --- the rest of the machine --------------------------------------------------------------------------------------


def test_doctor_checks_servers_offline_without_crashing(machine, host_home, tmp_path, monkeypatch):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class NeedsAuth(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer resource_metadata="x"')
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NeedsAuth)
    Thread(target=server.serve_forever, daemon=True).start()
    local_only = tmp_path / "local-bin"
    local_only.mkdir()
    (local_only / "my-mcp").write_text("#!/bin/sh\n")
    (local_only / "my-mcp").chmod(0o755)
    monkeypatch.setenv("PATH", f"{local_only}:{os.environ['PATH']}")
    write_config(
        host_home,
        [
            {
                "id": "auth",
                "name": "Auth",
                "kind": "remote",
                "url": f"http://127.0.0.1:{server.server_port}/mcp",
            },
            {"id": "down", "name": "Down", "kind": "remote", "url": "http://127.0.0.1:9/mcp"},
            {"id": "abs", "name": "Abs", "kind": "stdio", "command": [sys.executable, "-V"]},
            {"id": "shell", "name": "Shell", "kind": "stdio", "command": ["my-mcp"]},
            {"id": "gone", "name": "Gone", "kind": "stdio", "command": ["no-such-mcp-server"]},
            {
                "id": "off",
                "name": "Off",
                "kind": "stdio",
                "command": ["no-such-mcp-server"],
                "enabled": False,
            },
        ],
    )
    try:
        checks = {c.name: c for c in run_doctor(machine, Options(home=host_home))}
    finally:
        server.shutdown()
    assert checks["config"].status == "ok" and "6 server(s)" in checks["config"].detail
    assert checks["server auth"].status == "ok" and "needs sign-in (401)" in checks["server auth"].detail
    assert checks["server down"].status == "warn" and "unreachable" in checks["server down"].detail
    assert checks["server abs"].status == "ok"
    assert checks["server shell"].status == "warn" and "absolute path" in checks["server shell"].fix
    assert checks["server gone"].status == "fail" and "not on PATH" in checks["server gone"].detail
    assert checks["server off"].status == "warn" and "switched off" in checks["server off"].detail


def test_doctor_names_a_broken_config_without_moving_it(machine, host_home):
    config = host_home / "config" / "config.json"
    config.write_text('{"version": 1, "servers": [{"id": "x"}]}')
    check = next(c for c in run_doctor(machine, Options(home=host_home)) if c.name == "config")
    assert check.status == "fail" and "servers.0" in check.detail
    assert config.exists(), "doctor only reads"


def test_doctor_says_when_there_is_no_keychain(monkeypatch):
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    check = doctor.check_keychain()
    assert check.status == "warn" and "encrypted file protected only by file permissions" in check.detail

    class Real:
        pass

    Real.__module__ = "keyring.backends.SecretService"
    monkeypatch.setattr(keyring, "get_keyring", lambda: Real())
    assert doctor.check_keychain().status == "ok"


def test_doctor_json_is_safe_to_paste(machine, host_home):
    secret = "sk-test-" + "x1" * 20
    # A launcher under the home folder, so paths in the output start with it.
    home_install = machine.home / "bridge"
    install(machine, Options(browsers=["chromium"], home=home_install))
    write_config(
        home_install,
        [{"id": "leaky", "name": "L", "kind": "remote", "url": f"http://127.0.0.1:9/?api_key={secret}"}],
    )
    text = report(
        run_doctor(machine, Options(browsers=["chromium"], home=home_install)),
        as_json=True,
        home=machine.home,
    )
    data = json.loads(text)
    assert str(machine.home) not in text and secret not in text
    assert any(c["detail"].startswith("~/.config/chromium/") for c in data["checks"])
    assert data["extension_id"] == EXTENSION_ID, "the extension ID is not a secret"
    assert doctor.redact(
        "Authorization: Bearer abc.def-ghi and refresh_token=r1 eyJhbGciOi.eyJzdWIi.sig", Path("/h")
    ) == ("Authorization: [redacted] and refresh_token=[redacted] [redacted]")
    assert doctor.redact(r"C:\Users\ada\x", Path(r"C:\Users\ada")) == r"~\x"


def test_the_cli_wires_install_doctor_and_uninstall(machine, host_home, capsys):
    from notion_bridge.cli import main

    common = ["--browser", "chromium", "--home", str(host_home)]
    assert main(["install", *common]) == 0
    out = capsys.readouterr().out
    assert "wrote Chromium manifest" in out and EXTENSION_ID in out
    assert main(["doctor", "--json", *common]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    manifest_of(machine, "chromium").unlink()
    assert main(["doctor", *common]) == 1
    assert "[FAIL] Chromium: manifest: no manifest at" in capsys.readouterr().out
    assert main(["uninstall", *common]) == 0
    assert "removed" in capsys.readouterr().out
    assert main(["install", "--browser", "chromium"]) == 1, "NOTION_BRIDGE_HOME without --home is refused"
    assert "error: NOTION_BRIDGE_HOME is set" in capsys.readouterr().err


# --- machine-wide: who can change what every user's browser runs, on real folders ---------------------------------


def stand_in_runtime(tmp_path: Path) -> tuple[trust.Runtime, Path]:
    """A Python and its site-packages in real folders with exact modes, whatever the umask: what a machine-wide
    launcher would run, as far as owners and modes go."""
    venv = tmp_path / "venv"
    python = venv / "bin" / "python3"
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "host").mkdir(parents=True)
    python.parent.mkdir()
    python.write_text("#!/bin/sh\n")
    (site / "host" / "__init__.py").write_text("")
    for folder in (venv, python.parent, venv / "lib", site.parent, site, site / "host"):
        folder.chmod(0o755)
    python.chmod(0o755)
    (site / "host" / "__init__.py").chmod(0o644)
    return trust.Runtime(str(python), (str(site),)), venv


def group_of(path: Path) -> str:
    return trust.PosixFiles().group_name(path.stat().st_gid)


def test_machine_wide_install_refuses_a_group_writable_folder(machine, host_home, tmp_path):
    runtime, venv = stand_in_runtime(tmp_path)
    env = replace(machine, runtime=runtime)
    options = Options(browsers=["chromium"], system=True, home=host_home)
    lib = venv / "lib"
    lib.chmod(0o775)
    with pytest.raises(InstallError) as refused:
        install(env, options)
    message = str(refused.value)
    site = venv / "lib" / "python3.11" / "site-packages"
    assert (
        f"  {lib} (on the way to a folder of code the host runs, {site}): can be changed by group {group_of(lib)}\n"
        in message
    )
    assert "sudo python3 -m venv /opt/notion-mcp-bridge" in message
    assert not machine.root.exists(), "refused before anything was written"

    lib.chmod(0o755)
    install(env, options)
    launcher_dir = launcher_path(machine.root / "usr" / "local" / "lib" / "notion-mcp-bridge", "linux").parent
    assert (launcher_dir.stat().st_mode & 0o777) == 0o755
    checks = {c.name: c for c in run_doctor(env, options)}
    assert checks["machine-wide: who can change it"].status == "ok"
    assert checks["Chromium: host"].status == "ok"

    launcher_dir.chmod(0o777)
    check = next(c for c in run_doctor(env, options) if c.name == "machine-wide: who can change it")
    assert check.status == "fail"
    assert check.detail == (
        f"{launcher_dir} (the launcher's folder): can be changed by group {group_of(launcher_dir)} and every user"
    )
    assert "chmod go-w" in check.fix
    with pytest.raises(InstallError, match="the launcher's folder"):
        install(env, options)
    launcher_dir.chmod(0o755)
    uninstall(env, options)
    assert list(machine.root.rglob("*")) == []


def test_machine_wide_install_refuses_a_file_others_can_write_in_the_code(machine, host_home, tmp_path):
    runtime, venv = stand_in_runtime(tmp_path)
    module = venv / "lib" / "python3.11" / "site-packages" / "host" / "__init__.py"
    module.chmod(0o646)
    with pytest.raises(
        InstallError, match=f"{module} \\(in a folder of code the host runs\\): can be changed by every user"
    ):
        install(
            replace(machine, runtime=runtime), Options(browsers=["chromium"], system=True, home=host_home)
        )


def test_another_interpreter_says_where_its_code_is(tmp_path):
    assert trust.Runtime.of(sys.executable, cwd=str(tmp_path)) == trust.Runtime.current()
    # Browsers start hosts in the launcher's folder, and `python -m host` looks there first.
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "__init__.py").write_text("")
    asked = trust.Runtime.of(sys.executable, cwd=str(tmp_path))
    assert asked is not None and asked.code[-1] == str(tmp_path / "host")
    assert trust.Runtime.of(str(tmp_path / "no-python"), cwd=str(tmp_path)) is None
