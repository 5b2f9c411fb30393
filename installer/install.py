"""``notion-bridge install``: write the launcher and one manifest per browser (and on Windows the registry keys).

Per user by default; ``--system`` for machine-wide where the browser documents a machine-wide location;
``--user-data-dir DIR`` for one profile folder (a browser started with ``--user-data-dir``). Running it again
rewrites only what changed and says so. Everything written is recorded (record.py) for uninstall.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from host import HOST_NAME
from installer import browsers as b
from installer import launcher as launchers
from installer import manifest, trust
from installer.acl import FolderAcl
from installer.errors import InstallError
from installer.record import Entry, Record, sha256
from installer.registry import Registry, parent_keys

Scope = Literal["user", "system"]
_OS_NAMES = {"linux": "Linux", "darwin": "macOS", "win32": "Windows"}


@dataclass
class Options:
    browsers: list[str] = field(default_factory=list)
    user_data_dir: Path | None = None
    system: bool = False
    extension_ids: list[str] = field(default_factory=list)
    home: Path | None = None
    """Baked into the launcher as NOTION_BRIDGE_HOME; for uninstall and doctor, where to find the record."""


@dataclass(frozen=True)
class Target:
    """One manifest to write: which browsers read it, where, and what leads the browser to it."""

    browsers: tuple[str, ...]
    label: str
    manifest: Path
    launcher: Path
    registry_key: str | None = None
    profile: Path | None = None
    flatpak_id: str | None = None


@dataclass
class Plan:
    targets: list[Target] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Browsers found that this installation cannot serve, and why (doctor shows them as warnings)."""
    notes: list[str] = field(default_factory=list)
    """Advice for the person; install prints these along with the problems."""


@contextlib.contextmanager
def using_home(home: Path | None, *, strict: bool) -> Iterator[None]:
    """Resolve host.paths against ``home`` for the duration: the record, launcher and config live there.

    ``strict`` (install): a NOTION_BRIDGE_HOME set in this shell but not passed as --home is refused, because
    the browser would start the host without it and the host would use other folders than the ones written.
    """
    current = os.environ.get("NOTION_BRIDGE_HOME")
    if home is None:
        if strict and current:
            raise InstallError(
                f"NOTION_BRIDGE_HOME is set to {current} in this shell, but the browser will not pass it to "
                f"the host. Run `notion-bridge install --home {current}` to make the host use that folder, or "
                "unset NOTION_BRIDGE_HOME to use the usual per-user folders."
            )
        yield
        return
    os.environ["NOTION_BRIDGE_HOME"] = str(home)
    try:
        yield
    finally:
        if current is None:
            os.environ.pop("NOTION_BRIDGE_HOME", None)
        else:
            os.environ["NOTION_BRIDGE_HOME"] = current


def base_dir(env: b.Environment, *, system: bool) -> Path:
    """Where our own files live: the launcher, Windows manifests, and the install record."""
    if not system:
        from host import paths

        return paths.data_dir()
    if env.platform == "linux":
        return env.system_path("/usr/local/lib/notion-mcp-bridge")
    if env.platform == "darwin":
        return env.system_path("/Library/Application Support/notion-mcp-bridge")
    return env.program_data_dir / "notion-mcp-bridge"


def record_path(base: Path) -> Path:
    from installer.record import FILE_NAME

    return base / FILE_NAME


def launcher_path(base: Path, platform: str) -> Path:
    return base / "native-host" / launchers.file_name(platform)


def flatpak_launcher_path(browser: b.Browser, env: b.Environment) -> Path:
    # Inside the Flatpak's own folder, because the sandbox cannot see the rest of the home folder.
    return b.flatpak_app_dir(browser, env) / "data" / "notion-mcp-bridge" / launchers.file_name("linux")


def _check_options(env: b.Environment, options: Options) -> None:
    unknown = [key for key in options.browsers if key not in b.BY_KEY]
    if unknown:
        raise InstallError(f"unknown browser {unknown[0]!r}; choose from {', '.join(sorted(b.BY_KEY))}")
    if options.user_data_dir is not None:
        if options.system:
            raise InstallError(
                "--user-data-dir names one profile folder; it cannot be combined with --system"
            )
        if len(options.browsers) > 1:
            raise InstallError("--user-data-dir names one profile folder; give at most one --browser with it")
        if env.platform == "win32":
            raise InstallError(
                "on Windows, browsers find native hosts only through the registry, never in a profile "
                "folder; leave out --user-data-dir"
            )


def plan(env: b.Environment, options: Options, *, base: Path) -> Plan:
    """Which manifests to write for these options on this machine, and what to tell the person."""
    _check_options(env, options)
    result = Plan()
    launcher = launcher_path(base, env.platform)
    if options.user_data_dir is not None:
        browser = b.BY_KEY[options.browsers[0] if options.browsers else "chromium"]
        profile = options.user_data_dir
        result.targets.append(
            Target(
                (browser.key,),
                f"{browser.name} (profile {profile})",
                profile / "NativeMessagingHosts" / manifest.FILE_NAME,
                launcher,
                profile=profile,
            )
        )
        return result
    explicit = bool(options.browsers)
    chosen = [b.BY_KEY[key] for key in options.browsers] if explicit else list(b.BROWSERS)
    if env.platform == "win32":
        _plan_windows(env, options, chosen, explicit, base, result)
    else:
        _plan_posix(env, options, chosen, explicit, launcher, result)
    if not result.targets and not result.problems:
        result.notes.append(
            "no Chromium-family browser was found; name one with --browser (e.g. --browser chrome)"
        )
    return result


def _plan_windows(
    env: b.Environment, options: Options, chosen: list[b.Browser], explicit: bool, base: Path, result: Plan
) -> None:
    groups: dict[str, list[b.Browser]] = {}
    for browser in chosen:
        if explicit or b.natively_installed(browser, env):
            groups.setdefault(b.registry_key(browser, HOST_NAME, system=options.system), []).append(browser)
    for key, members in groups.items():
        folder = members[0].windows_key.replace("\\", "-")
        result.targets.append(
            Target(
                tuple(m.key for m in members),
                ", ".join(m.name for m in members),
                base / "native-host" / folder / manifest.FILE_NAME,
                launcher_path(base, "win32"),
                registry_key=key,
            )
        )


def _plan_posix(
    env: b.Environment,
    options: Options,
    chosen: list[b.Browser],
    explicit: bool,
    launcher: Path,
    result: Plan,
) -> None:
    for browser in chosen:
        native = b.natively_installed(browser, env)
        snap = b.snap_installed(browser, env)
        flatpak = b.flatpak_installed(browser, env)
        if snap:
            result.problems.append(
                f"{browser.name} from Snap cannot start native hosts at all (its confinement forbids it); "
                f"install {browser.name} from your distribution's packages or from Flatpak to use the bridge"
            )
        if native or (explicit and not snap and not flatpak):
            folder = b.manifest_dir(browser, env, system=options.system)
            if folder is None:
                result.problems.append(
                    f"{browser.name} documents no machine-wide manifest folder on {_OS_NAMES[env.platform]}; "
                    "install it per user (leave out --system)"
                )
            else:
                result.targets.append(
                    Target((browser.key,), browser.name, folder / manifest.FILE_NAME, launcher)
                )
        if flatpak and options.system:
            result.problems.append(
                f"{browser.name} from Flatpak is set up per user only (leave out --system)"
            )
        elif flatpak:
            assert browser.flatpak_id is not None
            result.targets.append(
                Target(
                    (browser.key,),
                    f"{browser.name} (Flatpak)",
                    b.flatpak_manifest_dir(browser, env) / manifest.FILE_NAME,
                    flatpak_launcher_path(browser, env),
                    flatpak_id=browser.flatpak_id,
                )
            )
            result.notes.append(flatpak_note(browser.name, browser.flatpak_id))


def system_dependencies(env: b.Environment, targets: list[Target]) -> list[trust.Dependency]:
    """What a machine-wide install on Linux or macOS makes every user's browser run, and where it is read from."""
    runtime = env.runtime or trust.Runtime.current()
    launchers_ = list(dict.fromkeys(str(t.launcher) for t in targets))
    folders = list(dict.fromkeys(str(t.manifest.parent) for t in targets))
    found = [dep for launcher in launchers_ for dep in trust.dependencies(runtime, launcher, folders)]
    return list(dict.fromkeys(found))


def is_link(path: Path) -> bool:
    # A junction is no symlink to Python 3.11, but it is a reparse point.
    reparse_point = 0x400  # FILE_ATTRIBUTE_REPARSE_POINT
    try:
        return path.is_symlink() or bool(getattr(os.lstat(path), "st_file_attributes", 0) & reparse_point)
    except OSError:
        return False


def refuse_open_folder(base: Path, acl: FolderAcl) -> None:
    """Windows: refuse a machine-wide folder that is a link, or that anyone but Administrators and SYSTEM can
    change.

    Refused, not fixed: %ProgramData% lets any user create a folder there first, and its owner may already have
    put files in it, or hard links and junctions that lead elsewhere. Tightening the folder's ACL afterwards
    would leave all of that in place (and the launcher would then be written among it), so the only safe
    repair is for an administrator to look inside and remove the folder; install then makes a new one.
    """
    admin_fix = (
        f'from an administrator prompt, look at what is in it and remove it (rd /s /q "{base}"; run '
        "`notion-bridge uninstall --system` first if an older version installed there), then run "
        "`notion-bridge install --system` again"
    )
    if is_link(base):
        raise InstallError(f"{base} is a link or junction to another folder; {admin_fix}")
    if not base.exists():
        return
    try:
        who = acl.writers(base)
    except OSError as exc:
        raise InstallError(
            f"cannot read the permissions of {base} ({exc}); run it from an administrator prompt"
        ) from None
    if who:
        raise InstallError(
            f"{base} already exists and {' and '.join(who)} can change it, so every user's browser would run "
            f"a launcher that they could replace; {admin_fix}"
        )


def make_admin_only_folder(base: Path, acl: FolderAcl, record: Record) -> list[str]:
    """Windows: create the machine-wide folder with an ACL only Administrators and SYSTEM can write through."""
    if base.exists():
        return []
    made: list[Path] = []
    folder = base
    while not folder.exists():
        made.insert(0, folder)
        folder = folder.parent
    for folder in made:
        folder.mkdir()
    try:
        acl.restrict(base)
        who = acl.writers(base)
    except OSError as exc:
        # Not an administrator: leave no folder behind that a user could take over.
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise InstallError(
            f"cannot make {base} writable by administrators only ({exc}); run it from an administrator prompt"
        ) from None
    for folder in made:
        record.add_dir(folder)
    # Between mkdir and restrict the folder had %ProgramData%'s inherited ACL, under which any user may create
    # things in it; anything that appeared in that moment is someone else's.
    intruders = sorted(p.name for p in base.iterdir())
    if who or intruders:
        raise InstallError(
            f"{base} is not private to administrators after setting its permissions "
            f"({'writable by ' + ', '.join(who) if who else 'it already holds ' + ', '.join(intruders)}); "
            "remove it from an administrator prompt and install again"
        )
    return [f"made {base}: only Administrators and SYSTEM can change it, Users can read and run it"]


def flatpak_note(browser_name: str, app_id: str) -> str:
    """What the one permission a Flatpak browser needs actually grants, said before anyone grants it."""
    return (
        f"{browser_name} from Flatpak can start the host only outside its sandbox, through flatpak-spawn "
        f"--host, and only after: flatpak override --user --talk-name=org.freedesktop.Flatpak {app_id}. "
        f"Know what that grants: anything running inside {browser_name}'s sandbox may then run any command on "
        "this computer as you, outside the sandbox, so the sandbox no longer protects you from the browser. "
        "Native messaging from a Flatpak browser to a host installed on the system needs exactly that (the "
        "narrower xdg-native-messaging-proxy route needs support in the browser itself). To take it back: "
        f"flatpak override --user --no-talk-name=org.freedesktop.Flatpak {app_id}"
    )


def write_file(path: Path, text: str, *, mode: int, record: Record) -> bool:
    """Write ``text`` unless the file already holds it with ``mode``; folders created on the way are recorded."""
    from host.atomic import write_atomic

    data = text.encode("utf-8")
    missing: list[Path] = []
    parent = path.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o755)
        record.add_dir(folder)
    in_place = path.is_file() and path.read_bytes() == data
    # Windows keeps no Unix permission bits, so there the content alone says whether the file is in place.
    if in_place and (sys.platform == "win32" or (path.stat().st_mode & 0o777) == mode):
        return False
    write_atomic(path, data, mode=mode)
    return True


def install(
    env: b.Environment,
    options: Options,
    registry: Registry | None = None,
    acl: FolderAcl | None = None,
) -> list[str]:
    """Write everything; returns one line per thing written (or found already in place), for the person."""
    for ext_id in options.extension_ids:
        if not manifest.is_extension_id(ext_id):
            raise InstallError(
                f"{ext_id!r} is not an extension ID (32 letters a-p, as chrome://extensions shows)"
            )
    if env.platform == "win32" and registry is None:
        raise InstallError("installing on Windows needs the registry")
    if env.platform == "win32" and options.system and acl is None:
        raise InstallError("installing machine-wide on Windows needs folder permissions (ACLs)")
    with using_home(options.home, strict=True):
        base = base_dir(env, system=options.system)
        result = plan(env, options, base=base)
        if not result.targets:
            raise InstallError("nothing was installed: " + "; ".join([*result.problems, *result.notes]))
        if options.system and env.platform != "win32":
            found = trust.problems(env.files, system_dependencies(env, result.targets))
            if found:
                raise InstallError(trust.refusal(found))
        if options.system and env.platform == "win32":
            assert acl is not None
            refuse_open_folder(base, acl)
        lines = [f"note: {note}" for note in [*result.problems, *result.notes]]
        if options.extension_ids:
            from host import config as config_store
            from host import paths

            config_store.allow_extension_ids(options.extension_ids)
            lines.append(f"allowed extension IDs {', '.join(options.extension_ids)} in {paths.config_file()}")
            if options.system:
                # The host reads the configuration of whoever runs the browser, not the installer's.
                lines.append(
                    "note: other users must allow these IDs in their own configuration too "
                    "(notion-bridge install --extension-id ID, as themselves)"
                )
        record = Record.load(record_path(base))
        try:
            if options.system and env.platform == "win32":
                assert acl is not None
                lines += make_admin_only_folder(base, acl, record)
            lines += _write_targets(env, options, result.targets, record, registry)
        except PermissionError as exc:
            where = exc.filename or "a protected location"
            if not options.system:
                raise InstallError(f"permission denied writing {where}; check who owns it") from None
            fix = (
                "run it from an administrator prompt"
                if env.platform == "win32"
                else "run it as root (sudo notion-bridge install --system)"
            )
            raise InstallError(
                f"permission denied writing {where}: {fix}, or leave out --system to install for you only"
            ) from None
        finally:
            record.save(record_path(base))
    lines.append(f"the launcher runs {sys.executable} -m host")
    return lines


def _write_targets(
    env: b.Environment, options: Options, targets: list[Target], record: Record, registry: Registry | None
) -> list[str]:
    lines: list[str] = []
    written_launchers: set[Path] = set()
    file_mode = 0o644
    for target in targets:
        if target.launcher not in written_launchers:
            written_launchers.add(target.launcher)
            text = launchers.render(
                env.platform,
                interpreter=sys.executable,
                home=options.home,
                flatpak=target.flatpak_id is not None,
            )
            changed = write_file(target.launcher, text, mode=0o755, record=record)
            lines.append(f"{'wrote' if changed else 'unchanged'} launcher {target.launcher}")
            record.put(Entry("launcher", str(target.launcher), list(target.browsers), sha256(text.encode())))
        else:
            launcher_entry = record.find("launcher", str(target.launcher))
            assert launcher_entry is not None
            launcher_entry.browsers = list(dict.fromkeys([*launcher_entry.browsers, *target.browsers]))
        text = manifest.render(target.launcher, options.extension_ids)
        changed = write_file(target.manifest, text, mode=file_mode, record=record)
        lines.append(f"{'wrote' if changed else 'unchanged'} {target.label} manifest {target.manifest}")
        record.put(
            Entry(
                "manifest",
                str(target.manifest),
                list(target.browsers),
                sha256(text.encode()),
                launcher=str(target.launcher),
                profile=str(target.profile) if target.profile else None,
                registry_key=target.registry_key,
                flatpak_id=target.flatpak_id,
            )
        )
        if target.registry_key is not None:
            assert registry is not None
            value = str(target.manifest)
            if registry.get_default(target.registry_key) == value:
                lines.append(f"unchanged registry {target.registry_key}")
            else:
                for key in reversed(parent_keys(target.registry_key)):
                    if not registry.exists(key):
                        record.add_key(key)
                try:
                    registry.set_default(target.registry_key, value)
                except PermissionError:
                    raise PermissionError(13, "access denied", target.registry_key) from None
                lines.append(f"set registry {target.registry_key} = {value}")
            record.put(
                Entry(
                    "registry",
                    target.registry_key,
                    list(target.browsers),
                    value=value,
                    launcher=str(target.launcher),
                )
            )
    return lines
