"""The installation, as the browsers see it: the install record, each browser's manifest (and on Windows
the registry key naming it), the launcher it points at, a Flatpak browser's permission to leave its sandbox,
and then the host the launcher starts."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from host import EXTENSION_ID, HOST_NAME
from installer import browsers as b
from installer import launcher as launchers
from installer import manifest as manifests
from installer.acl import FolderAcl
from installer.doctor import host_check, machine_wide
from installer.doctor.report import Check, Status
from installer.errors import InstallError
from installer.install import Options, Plan, base_dir, plan, record_path
from installer.record import Entry, Record
from installer.registry import Registry


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
        checks.append(machine_wide.check_program_data(base, acl))
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
            checks.append(machine_wide.check_who_can_change(env, launcher, folders))
        checks += check_launcher(env, launcher, site.label, flatpak_id=site.flatpak_id)
    return checks


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
    checks.append(host_check.check_hello(command, f"{label}: host", cwd=path.parent, extra_env=extra_env))
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
