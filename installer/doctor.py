"""``notion-bridge doctor``: check every link from the browser to the host, and say how to fix each break.

Each check is ok, warn (works, but the person should know) or fail (the bridge will not work); every warn and
fail names the cause and the fix. The host is started the way the browser starts it: through the manifest's
launcher, from the launcher's folder, with the caller's origin as its argument, without the shell's
NOTION_BRIDGE_HOME and (on Linux and macOS) with a minimal PATH. Doctor itself only reads (the host it starts
keeps its log as usual), and needs no network: an unreachable server is a warning.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Literal

from host import EXTENSION_ID, HOST_NAME, PROTOCOL_VERSION, __version__
from installer import browsers as b
from installer import launcher as launchers
from installer import manifest as manifests
from installer import trust
from installer.acl import FolderAcl
from installer.errors import InstallError
from installer.install import Options, Plan, base_dir, is_link, plan, record_path, using_home
from installer.log_check import check_logs
from installer.record import Entry, Record
from installer.registry import Registry

Status = Literal["ok", "warn", "fail"]
HELLO_TIMEOUT_S = 2.0
EXIT_TIMEOUT_S = 3.0
SERVERS_TIMEOUT_S = 3.0
# macOS starts GUI apps with PATH=/usr/bin:/bin:/usr/sbin:/sbin; Linux desktop sessions add /usr/local/bin.
MINIMAL_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class Site:
    """One place a browser finds our manifest; ``required`` when it was installed or asked for by name."""

    label: str
    browsers: tuple[str, ...]
    manifest: Path
    required: bool
    registry_key: str | None = None
    flatpak_id: str | None = None
    profile: Path | None = None


def run_doctor(
    env: b.Environment,
    options: Options,
    registry: Registry | None = None,
    acl: FolderAcl | None = None,
) -> list[Check]:
    with using_home(options.home, strict=False):
        config_check, config = check_config()
        allowed = set(config.allowed_extension_ids) if config is not None else set()
        checks = check_installation(env, options, registry, allowed, acl)
        checks.append(check_keychain())
        checks.append(config_check)
        checks += check_servers(config, env.platform)
        checks.append(check_logs())
    return checks


# --- the installation ---------------------------------------------------------------------------------------


def _install_command(options: Options, site: Site | None = None) -> str:
    words = ["notion-bridge", "install"]
    for key in site.browsers if site else options.browsers:
        words += ["--browser", key]
    profile = site.profile if site else options.user_data_dir
    if profile is not None:
        words += ["--user-data-dir", str(profile)]
    if options.system:
        words.append("--system")
    if options.home is not None:
        words += ["--home", str(options.home)]
    return "run `" + " ".join(words) + "`"


def _label(entry: Entry) -> str:
    names = ", ".join(b.BY_KEY[key].name if key in b.BY_KEY else key for key in entry.browsers)
    if entry.profile:
        return f"{names} (profile {entry.profile})"
    return f"{names} (Flatpak)" if entry.flatpak_id else names


def _sites(options: Options, planned: Plan, record: Record) -> dict[Path, Site]:
    explicit = bool(options.browsers) or options.user_data_dir is not None
    sites = {
        t.manifest: Site(t.label, t.browsers, t.manifest, explicit, t.registry_key, t.flatpak_id, t.profile)
        for t in planned.targets
    }
    for entry in record.entries:
        if entry.kind != "manifest":
            continue
        if options.user_data_dir is not None and entry.profile != str(options.user_data_dir):
            continue
        if options.browsers and not set(entry.browsers) & set(options.browsers):
            continue
        path = Path(entry.path)
        if path in sites:
            sites[path].required = True
        else:
            sites[path] = Site(
                _label(entry),
                tuple(entry.browsers),
                path,
                True,
                entry.registry_key,
                entry.flatpak_id,
                Path(entry.profile) if entry.profile else None,
            )
    return sites


def check_installation(
    env: b.Environment,
    options: Options,
    registry: Registry | None,
    allowed_ids: set[str],
    acl: FolderAcl | None = None,
) -> list[Check]:
    checks: list[Check] = []
    base = base_dir(env, system=options.system)
    if options.system and env.platform == "win32" and acl is not None and base.exists():
        checks.append(check_program_data(base, acl))
    try:
        record = Record.load(record_path(base))
    except InstallError as exc:
        checks.append(Check("install record", "fail", str(exc), "move the file aside and install again"))
        record = Record()
    try:
        planned = plan(env, options, base=base)
    except InstallError as exc:
        return [*checks, Check("options", "fail", str(exc), "change the options as the message says")]
    checks += [Check("browser", "warn", problem, "see the message") for problem in planned.problems]
    sites = _sites(options, planned, record)
    if not sites:
        checks.append(
            Check(
                "installation",
                "fail",
                "the bridge is not registered with any browser",
                _install_command(options),
            )
        )
        return checks
    hellos: dict[Path, None] = {}
    for site in sites.values():
        found, launcher = check_site(env, site, options, registry, allowed_ids)
        checks += found
        if launcher is None or launcher in hellos:
            continue
        hellos[launcher] = None
        if options.system and env.platform != "win32" and site.flatpak_id is None:
            folders = [str(s.manifest.parent) for s in sites.values() if s.registry_key is None]
            checks.append(check_who_can_change(env, launcher, folders))
        checks += check_launcher(env, launcher, site.label, flatpak_id=site.flatpak_id)
    return checks


WHO_CAN_CHANGE = "machine-wide: who can change it"


def check_who_can_change(env: b.Environment, launcher: Path, manifest_dirs: list[str]) -> Check:
    """The check ``install --system`` refuses on (Linux, macOS): only root can change what it runs."""
    try:
        spec = launchers.parse(launcher.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        spec = None
    runtime = env.runtime
    unknown = ""
    if runtime is None and spec is not None:
        if spec.interpreter == sys.executable:
            runtime = trust.Runtime.current()
        elif trust.problems(env.files, [trust.Dependency(spec.interpreter, trust.INTERPRETER, code=True)]):
            runtime = trust.Runtime(spec.interpreter, ())  # named below; not run to ask where its code is
        else:
            runtime = trust.Runtime.of(spec.interpreter, cwd=str(launcher.parent), env=_browser_env({}))
            if runtime is None:
                runtime = trust.Runtime(spec.interpreter, ())
                unknown = f"; {spec.interpreter} did not say where its code is, so that was not checked"
    found = trust.problems(env.files, trust.dependencies(runtime, str(launcher), manifest_dirs))
    if found:
        return Check(WHO_CAN_CHANGE, "fail", "; ".join(trust.summary(found)), trust.fixes(found))
    what = "the launcher's folder and the manifest folders"
    if runtime is not None:
        what = f"{what}, {runtime.interpreter}" + (" and the code it loads" if runtime.code else "")
    return Check(WHO_CAN_CHANGE, "warn" if unknown else "ok", f"only root can change {what}{unknown}")


def check_program_data(base: Path, acl: FolderAcl) -> Check:
    """Windows: the machine-wide folder is an administrators-only one, as install makes it."""
    name = WHO_CAN_CHANGE
    fix = (
        f'from an administrator prompt, look at what is in {base} and remove it (rd /s /q "{base}"), then run '
        "`notion-bridge install --system` again"
    )
    if is_link(base):
        return Check(name, "fail", f"{base} is a link or junction to another folder", fix)
    try:
        who = acl.writers(base)
    except OSError as exc:
        return Check(
            name, "warn", f"cannot read the permissions of {base} ({exc})", "run doctor as administrator"
        )
    if who:
        return Check(
            name, "fail", f"{' and '.join(who)} can change {base}, and with it what every browser runs", fix
        )
    return Check(name, "ok", f"only Administrators and SYSTEM can change {base}")


def check_site(
    env: b.Environment, site: Site, options: Options, registry: Registry | None, allowed_ids: set[str]
) -> tuple[list[Check], Path | None]:
    """The registry key (Windows) and the manifest: present, valid, and pointing at a usable launcher."""
    label = site.label
    fix = _install_command(options, site)
    missing: Status = "fail" if site.required else "warn"
    manifest = site.manifest
    checks: list[Check] = []
    if site.registry_key is not None:
        value = registry.get_default(site.registry_key) if registry is not None else None
        if value is None:
            detail = f"no registry key {site.registry_key}"
            if not site.required:
                detail = f"{label} is installed, but the bridge is not registered with it ({detail})"
            return [Check(f"{label}: registry", missing, detail, fix)], None
        checks.append(Check(f"{label}: registry", "ok", f"{site.registry_key} = {value}"))
        # The browser reads whichever file the key names, so that is the one to check.
        manifest = Path(value)
    if not manifest.exists():
        detail = f"no manifest at {manifest}"
        if not site.required:
            detail = f"{label} is installed, but the bridge is not registered with it ({detail})"
        return [*checks, Check(f"{label}: manifest", missing, detail, fix)], None
    found, launcher = check_manifest(manifest, label, env.platform, allowed_ids, fix)
    return checks + found, launcher


def check_manifest(
    path: Path, label: str, platform: str, allowed_ids: set[str], fix: str = "run `notion-bridge install`"
) -> tuple[list[Check], Path | None]:
    """The manifest's own checks; returns the launcher when the manifest names a usable one."""
    name = f"{label}: manifest"
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return [Check(name, "fail", f"{path} is not valid JSON ({exc})", fix)], None
    except OSError as exc:
        return [Check(name, "fail", f"{path} cannot be read ({exc.strerror})", fix)], None
    if not isinstance(data, dict):
        return [Check(name, "fail", f"{path} is not a JSON object", fix)], None
    checks: list[Check] = []
    problems = []
    if data.get("name") != HOST_NAME:
        problems.append(f"its name is {data.get('name')!r}, not {HOST_NAME!r}")
    if path.name != manifests.FILE_NAME:
        problems.append(f"the file is named {path.name}, not {manifests.FILE_NAME}")
    if data.get("type") != "stdio":
        problems.append(f"its type is {data.get('type')!r}, not 'stdio'")
    if problems:
        checks.append(Check(name, "fail", f"{path}: " + "; ".join(problems), fix))
    else:
        checks.append(Check(name, "ok", str(path)))
    checks.append(_check_origins(data.get("allowed_origins"), label, allowed_ids, fix))
    launcher_check, launcher = _check_path(data.get("path"), path, label, platform, fix)
    checks.append(launcher_check)
    return checks, launcher


def _check_origins(origins: Any, label: str, allowed_ids: set[str], fix: str) -> Check:
    name = f"{label}: origin"
    expected = manifests.origin(EXTENSION_ID)
    if not isinstance(origins, list) or expected not in origins:
        return Check(
            name,
            "fail",
            f"allowed_origins lacks {expected}, so the browser refuses the extension (it has {origins!r})",
            fix + " (and --extension-id ID for any other build of the extension)",
        )
    malformed = [o for o in origins if not isinstance(o, str) or manifests.extension_id_of(o) is None]
    if malformed:
        return Check(
            name,
            "fail",
            f"allowed_origins has entries that are not exact extension origins: {malformed!r}",
            fix,
        )
    refused = [
        o
        for o in origins
        if (ext_id := manifests.extension_id_of(o)) != EXTENSION_ID and ext_id not in allowed_ids
    ]
    if refused:
        return Check(
            name,
            "warn",
            f"the manifest lets {', '.join(refused)} start the host, but the host's configuration does not "
            "allow it, so the host will refuse it",
            "run `notion-bridge install --extension-id ID` for each extension ID that should work",
        )
    return Check(name, "ok", ", ".join(origins))


def _check_path(value: Any, manifest: Path, label: str, platform: str, fix: str) -> tuple[Check, Path | None]:
    name = f"{label}: launcher"
    if not isinstance(value, str) or not value:
        return Check(name, "fail", f"{manifest} names no launcher path", fix), None
    path = Path(value)
    if not path.is_absolute():
        if platform != "win32":
            return Check(name, "fail", f"the launcher path {value} is not absolute", fix), None
        # Windows alone allows a path relative to the manifest's folder.
        path = manifest.parent / path
    if not path.exists():
        return Check(name, "fail", f"{path} does not exist", fix), None
    if not launchers.is_executable(path, platform):
        return Check(
            name, "fail", f"{path} is not executable", f"run `chmod +x {path}`, or {fix.removeprefix('run ')}"
        ), None
    return Check(name, "ok", str(path)), path


def check_launcher(
    env: b.Environment, path: Path, label: str, *, flatpak_id: str | None = None
) -> list[Check]:
    """What the launcher runs, then the host itself: started as the browser would, it must say hello."""
    checks: list[Check] = []
    try:
        spec = launchers.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        spec = None
    command = [str(path)]
    extra_env: dict[str, str] = {}
    if spec is None:
        checks.append(
            Check(
                f"{label}: launcher",
                "warn",
                f"{path} is not a launcher `notion-bridge install` wrote (edited by hand?)",
                "run `notion-bridge install` again to put the usual one back",
            )
        )
    elif not Path(spec.interpreter).exists():
        checks.append(
            Check(
                f"{label}: launcher",
                "fail",
                f"the launcher runs {spec.interpreter}, which does not exist: the Python environment it was "
                "installed from has moved or gone",
                "run `notion-bridge install` again from the environment you use now",
            )
        )
        return checks
    elif spec.flatpak:
        # flatpak-spawn exists only inside the sandbox: run the host-side command it would run.
        command = [spec.interpreter, "-m", "host"]
        if spec.home:
            extra_env["NOTION_BRIDGE_HOME"] = spec.home
        if flatpak_id is not None:
            checks.append(check_flatpak_permission(env, flatpak_id, label))
    checks.append(check_hello(command, f"{label}: host", cwd=path.parent, extra_env=extra_env))
    return checks


def check_flatpak_permission(env: b.Environment, flatpak_id: str, label: str) -> Check:
    name = f"{label}: sandbox"
    places = [
        env.home / ".local" / "share" / "flatpak" / "overrides",
        env.system_path("/var/lib/flatpak/overrides"),
    ]
    for folder in places:
        for file in (folder / flatpak_id, folder / "global"):
            try:
                text = file.read_text(encoding="utf-8")
            except OSError:
                continue
            if re.search(r"^org\.freedesktop\.Flatpak=(talk|own)\s*$", text, re.MULTILINE):
                return Check(
                    name,
                    "ok",
                    f"{flatpak_id} may use flatpak-spawn --host ({file}), which also lets anything in its sandbox "
                    "run any command on this computer as you",
                )
    return Check(
        name,
        "warn",
        f"no override lets {flatpak_id} talk to org.freedesktop.Flatpak, so flatpak-spawn --host will be refused "
        "unless the app itself asks for it",
        f"run `flatpak override --user --talk-name=org.freedesktop.Flatpak {flatpak_id}`, then restart the "
        "browser; know that this lets anything running in the browser's sandbox run any command on this "
        "computer as you, so the sandbox no longer protects you from the browser (native messaging from a "
        "Flatpak browser needs it)",
    )


def _browser_env(extra: dict[str, str]) -> dict[str, str]:
    child = {k: v for k, v in os.environ.items() if k != "NOTION_BRIDGE_HOME"}
    if sys.platform != "win32":
        child["PATH"] = MINIMAL_PATH
    child.update(extra)
    return child


def _read_first_frame(stream: IO[bytes]) -> dict[str, Any]:
    from host import framing

    header = stream.read(4)
    if len(header) < 4:
        raise EOFError
    (length,) = struct.unpack("=I", header)
    if length > framing.MAX_OUTGOING:
        # Most likely text printed to stdout ahead of the first frame, which corrupts the stream.
        raise ValueError(f"stdout starts with {header!r}, which is not a frame header")
    body = stream.read(length)
    if len(body) < length:
        raise EOFError
    return framing.decode_body(body)


def check_hello(
    command: list[str], name: str, *, cwd: Path, extra_env: dict[str, str] | None = None
) -> Check:
    """Start the host as the browser does and wait for its hello over real framing."""
    origin = manifests.origin(EXTENSION_ID)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            [*command, origin],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=_browser_env(extra_env or {}),
        )
    except OSError as exc:
        return Check(
            name,
            "fail",
            f"{command[0]} could not be started ({exc.strerror})",
            "run `notion-bridge install` again",
        )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout, proc.stderr
    answer: dict[str, Any] = {}
    stderr: list[bytes] = []

    def read_stdout() -> None:
        try:
            answer["frame"] = _read_first_frame(out)
        except Exception as exc:
            answer["error"] = exc

    def read_stderr() -> None:
        # Keep only the tail: enough to name the error, never enough to fill memory.
        for line in err:
            stderr.append(line)
            del stderr[:-20]

    readers = [threading.Thread(target=f, daemon=True) for f in (read_stdout, read_stderr)]
    for reader in readers:
        reader.start()
    readers[0].join(HELLO_TIMEOUT_S)
    elapsed = time.monotonic() - started
    # What arrived in time; the EOF that follows closing stdin or killing the host is not the host's answer.
    arrived = dict(answer)
    with contextlib.suppress(OSError):
        proc.stdin.close()  # EOF on stdin is how the browser says goodbye
    try:
        proc.wait(EXIT_TIMEOUT_S)
        lingered = False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        lingered = True
    readers[1].join(0.5)
    last_error = next(
        (line.decode(errors="replace").strip() for line in reversed(stderr) if line.strip()), ""
    )
    frame = arrived.get("frame")
    if frame is not None:
        return _judge_first_frame(frame, name, elapsed, lingered)
    if "error" in arrived:
        error = arrived["error"]
        if isinstance(error, EOFError):
            detail = f"the host exited before saying hello (exit code {proc.returncode})"
            return Check(
                name,
                "fail",
                detail + (f": {last_error}" if last_error else ""),
                "run the launcher by hand to see the whole error; if Python cannot import host, "
                "reinstall the package and run `notion-bridge install` again",
            )
        return Check(
            name,
            "fail",
            f"the host's output is not native-messaging frames: {error}",
            "something prints to stdout before the host starts (a shell profile, a sitecustomize); remove it",
        )
    return Check(
        name,
        "fail",
        f"no hello within {HELLO_TIMEOUT_S:g} s"
        + (f"; last error output: {last_error}" if last_error else ""),
        "the host is stuck or very slow to start; look at its log (notion-bridge host's logs folder)",
    )


def _judge_first_frame(frame: dict[str, Any], name: str, elapsed: float, lingered: bool) -> Check:
    if frame.get("type") == "error":
        error = frame.get("error") or {}
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        if code == "forbidden_origin":
            return Check(
                name,
                "fail",
                f"the host refused the extension's origin: {message}",
                "the launcher runs a host that does not know this extension's ID; reinstall the package "
                "and run `notion-bridge install` again",
            )
        return Check(
            name, "fail", f"the host answered with an error: {code}: {message}", "see the host's log"
        )
    if frame.get("type") != "hello":
        return Check(
            name,
            "fail",
            f"the host's first frame was {frame.get('type')!r}, not a hello",
            "the launcher starts something other than this version's host; run `notion-bridge install` again",
        )
    if frame.get("protocol") != PROTOCOL_VERSION:
        return Check(
            name,
            "fail",
            f"the host speaks protocol {frame.get('protocol')}, the extension protocol {PROTOCOL_VERSION}",
            "update the package and the extension together, then run `notion-bridge install` again",
        )
    detail = (
        f"hello from host {frame.get('host_version')} (protocol {frame.get('protocol')}) in {elapsed:.2f} s"
    )
    if lingered:
        return Check(
            name,
            "warn",
            detail + f", but it did not exit within {EXIT_TIMEOUT_S:g} s of its stdin closing",
            "see the host's log; a host that outlives the browser's port holds its servers open",
        )
    return Check(name, "ok", detail)


# --- the machine: keychain, configuration, servers --------------------------------------------------------------


def check_keychain() -> Check:
    fallback = "tokens would fall back to an encrypted file protected only by file permissions"
    fix = {
        "linux": "install and unlock a Secret Service keychain (GNOME Keyring or KWallet), or accept the file",
        "darwin": "unlock the login keychain, or accept the file",
    }.get(sys.platform, "check Windows Credential Manager, or accept the file")
    try:
        import keyring

        backend = keyring.get_keyring()
    except Exception as exc:
        return Check(
            "keychain", "warn", f"keyring could not load a backend ({type(exc).__name__}); {fallback}", fix
        )
    kind = type(backend)
    name = f"{kind.__module__}.{kind.__name__}"
    inner = getattr(backend, "backends", None)
    unusable = "fail" in kind.__module__ or "null" in kind.__module__.lower() or inner == []
    if unusable:
        return Check("keychain", "warn", f"no usable keychain (keyring backend {name}); {fallback}", fix)
    detail = f"keyring backend {name}"
    if inner:
        detail += " (" + ", ".join(type(x).__name__ for x in inner) + ")"
    if os.environ.get("NOTION_BRIDGE_TOKEN_STORE") == "file":
        detail += "; NOTION_BRIDGE_TOKEN_STORE=file in this shell forces the encrypted file here"
    return Check("keychain", "ok", detail)


def check_config() -> tuple[Check, Any]:
    """Read the configuration without touching it (the host would move a broken file aside; doctor does not)."""
    from host import config as config_store
    from host import paths

    path = paths.config_file()
    if not path.exists():
        return Check("config", "ok", f"no configuration yet ({path}); the defaults are in use"), (
            config_store.default_config()
        )
    try:
        config = config_store.Config.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return Check(
            "config", "fail", f"{path} cannot be read ({exc.strerror})", "check its permissions"
        ), None
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        first = errors()[0] if callable(errors) and errors() else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        why = f"{where}: {first['msg']}" if first else str(exc).splitlines()[0]
        return Check(
            "config",
            "fail",
            f"{path} is not a valid configuration ({why})",
            "fix it by hand, or delete it to start again from the defaults (the host would move it aside)",
        ), None
    return Check("config", "ok", f"{path}: {len(config.servers)} server(s) configured"), config


def check_servers(config: Any, platform: str) -> list[Check]:
    if config is None:
        return []
    results: dict[str, Check] = {}
    threads = []
    for server in config.servers:
        if server.kind == "stdio":
            results[server.id] = _check_stdio(server, platform)
            continue
        results[server.id] = Check(
            f"server {server.id}", "warn", f"{server.url} gave no answer within {SERVERS_TIMEOUT_S:g} s",
            "check the network or the URL",
        )  # fmt: skip
        thread = threading.Thread(target=_check_remote, args=(server, results), daemon=True)
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + SERVERS_TIMEOUT_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    checks = [results[server.id] for server in config.servers]
    for server, check in zip(config.servers, checks, strict=True):
        if not server.enabled:
            check.detail += " (this server is switched off)"
            if check.status == "fail":
                check.status = "warn"
    return checks


def _check_stdio(server: Any, platform: str) -> Check:
    name = f"server {server.id}"
    if server.builtin == "sqlite":
        return Check(name, "ok", f"built-in SQLite server on {server.db_path}")
    program = server.command[0]
    fix = "fix the command in the options page: give the program's absolute path"
    if os.path.isabs(program):
        if os.path.isfile(program) and os.access(program, os.X_OK):
            return Check(name, "ok", f"command {program} found")
        return Check(name, "fail", f"command {program} does not exist or is not executable", fix)
    search_path = server.env.get("PATH") or os.environ.get("PATH")
    found = shutil.which(program, path=search_path)
    if found is None:
        return Check(name, "fail", f"command {program} is not on PATH", "install it, or " + fix)
    if platform != "win32" and "PATH" not in server.env:
        minimal = MINIMAL_PATH + (":/usr/local/bin" if platform == "linux" else "")
        if shutil.which(program, path=minimal) is None:
            return Check(
                name,
                "warn",
                f"command {program} is {found} in this shell's PATH, but the browser may start the host with "
                "a shorter PATH that lacks it",
                f"use the absolute path {found} in the server's command (options page)",
            )
    return Check(name, "ok", f"command {program} found at {found}")


def _check_remote(server: Any, results: dict[str, Check]) -> None:
    import httpx2 as httpx  # the host's HTTP client, trusting the OS's roots as the host does

    name = f"server {server.id}"
    try:
        response = httpx.post(
            server.url,
            json={"jsonrpc": "2.0", "id": 0, "method": "ping"},
            headers={"Accept": "application/json, text/event-stream"},
            timeout=SERVERS_TIMEOUT_S - 0.5,
        )
    except httpx.HTTPError as exc:
        results[server.id] = Check(
            name,
            "warn",
            f"{server.url} is unreachable ({type(exc).__name__})",
            "check the network or the URL",
        )
        return
    status = response.status_code
    response.close()
    if status == 401:
        results[server.id] = Check(
            name,
            "ok",
            f"{server.url} answers; it needs sign-in (401): press Connect in the extension's popup",
        )
    elif status < 500:
        results[server.id] = Check(name, "ok", f"{server.url} answers (HTTP {status})")
    else:
        results[server.id] = Check(
            name, "warn", f"{server.url} answered HTTP {status}", "the server has trouble; try again later"
        )


# --- the report ---------------------------------------------------------------------------------------------------

_SECRETS = [
    # Key/value pairs whose value is a credential, in JSON, query strings, headers and command lines.
    re.compile(
        r"(?i)(\b(?:access_?token|refresh_?token|id_?token|token|secret|client_secret|password|passwd|api_?key|"
        r"apikey|authorization|code|key)[\"']?\s*[:=]\s*[\"']?)(?:bearer\s+)?[^\s\"'&,;]+"
    ),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
]
_TOKEN_SHAPED = re.compile(
    r"\b(?:ntn_|secret_|sk-|ghp_|xox[abp]-)[A-Za-z0-9_\-]{8,}|\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-.]+|"
    r"\b(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{40,}\b"
)


def redact(text: str, home: Path) -> str:
    """Home folder to ``~``, credentials and anything token-shaped to ``[redacted]``."""
    for form in sorted({str(home), home.as_posix(), os.path.realpath(home)}, key=len, reverse=True):
        if form and form not in ("/", "."):
            text = text.replace(form, "~")
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
    return _TOKEN_SHAPED.sub("[redacted]", text)


def _redact_tree(node: Any, home: Path) -> Any:
    if isinstance(node, str):
        return redact(node, home)
    if isinstance(node, list):
        return [_redact_tree(item, home) for item in node]
    if isinstance(node, dict):
        return {key: _redact_tree(value, home) for key, value in node.items()}
    return node


def report(checks: list[Check], *, as_json: bool, home: Path, platform: str = sys.platform) -> str:
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    if as_json:
        # Redacted value by value, so a Windows home (backslashes, escaped in JSON text) is caught too.
        data = {
            "ok": failed == 0,
            "host_version": __version__,
            "protocol": PROTOCOL_VERSION,
            "platform": platform,
            "python": sys.executable,
            "extension_id": EXTENSION_ID,
            "checks": [asdict(c) for c in checks],
        }
        return json.dumps(_redact_tree(data, home), indent=2, ensure_ascii=False)
    marks = {"ok": "[ok]  ", "warn": "[warn]", "fail": "[FAIL]"}
    lines = []
    for check in checks:
        lines.append(f"{marks[check.status]} {check.name}: {check.detail}")
        if check.fix and check.status != "ok":
            lines.append(f"       fix: {check.fix}")
    summary = "all checks passed" if not (failed or warned) else f"{failed} failed, {warned} warning(s)"
    lines.append(summary)
    return "\n".join(lines)
