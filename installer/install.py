"""``notion-bridge install`` and ``uninstall``: write the launcher and one manifest per browser; remove them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from host import HOST_NAME, paths
from installer import browsers as b
from installer.artifacts import InstallRecord, launcher_text, render_manifest, write_text
from installer.registry import Registry


@dataclass(frozen=True)
class Target:
    browser: b.Browser
    manifest: Path
    registry_key: str | None = None
    flatpak: bool = False


@dataclass
class Plan:
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Options:
    browsers: list[str] = field(default_factory=list)
    user_data_dir: Path | None = None
    system: bool = False
    extension_ids: list[str] = field(default_factory=list)
    home: Path | None = None


def record_path() -> Path:
    return paths.data_dir() / "install-record.json"


def launcher_path(platform: str, *, flatpak: bool = False) -> Path:
    name = "notion-bridge-host" + ("-flatpak" if flatpak else "") + (".cmd" if platform == "win32" else "")
    return paths.data_dir() / "launcher" / name


def plan(env: b.Environment, options: Options) -> Plan:
    """Which manifests to write for these options on this machine, and what to tell the person."""
    result = Plan()
    chosen = [b.BY_KEY[key] for key in options.browsers] if options.browsers else list(b.BROWSERS)
    manifest_name = f"{HOST_NAME}.json"
    if options.user_data_dir is not None:
        # A specific profile folder (e.g. a Chromium started with --user-data-dir): the manifest goes inside it.
        browser = chosen[0] if options.browsers else b.BY_KEY["chromium"]
        result.targets.append(Target(browser, options.user_data_dir / "NativeMessagingHosts" / manifest_name))
        return result
    if options.system and env.platform == "linux" and os.geteuid() != 0:
        result.notes.append(
            "--system writes under /etc: run it as root (sudo), or leave it out to install for you only"
        )
    seen: set[Path] = set()
    for browser in chosen:
        if not options.browsers and not b.detected(browser, env):
            continue
        if env.platform == "linux" and b.is_snap(browser):
            result.notes.append(
                f"{browser.name} is a Snap package, and Snap-confined browsers cannot start native hosts. "
                f"Install {browser.name} from your distribution's .deb/.rpm or Flatpak instead."
            )
            continue
        if env.platform == "linux" and not options.system and b.is_flatpak(browser, env):
            directory = b.flatpak_manifest_dir(browser, env)
            result.targets.append(Target(browser, directory / manifest_name, flatpak=True))
            result.notes.append(
                f"{browser.name} is a Flatpak: its launcher uses flatpak-spawn --host, which needs "
                f"`flatpak override --user --talk-name=org.freedesktop.Flatpak {browser.flatpak_id}`."
            )
            continue
        manifest = b.manifest_dir(browser, env, system=options.system) / manifest_name
        key = b.registry_key(browser, HOST_NAME, system=options.system) if env.platform == "win32" else None
        if manifest in seen and key is None:
            continue
        seen.add(manifest)
        result.targets.append(Target(browser, manifest, key))
    if not result.targets and not result.notes:
        result.notes.append(
            "No Chromium-family browser was found. Name one with --browser (e.g. --browser chrome)."
        )
    return result


def install(env: b.Environment, options: Options, registry: Registry | None = None) -> list[str]:
    """Write everything; returns one line per thing written, for the person to read."""
    from host import config as config_store

    result = plan(env, options)
    lines = [f"note: {note}" for note in result.notes]
    record = InstallRecord.load(record_path())
    home = options.home or (
        Path(os.environ["NOTION_BRIDGE_HOME"]) if os.environ.get("NOTION_BRIDGE_HOME") else None
    )
    if options.extension_ids:
        config_store.allow_extension_ids(options.extension_ids)
    launchers: dict[bool, Path] = {}
    for target in result.targets:
        if target.flatpak not in launchers:
            launcher = launcher_path(env.platform, flatpak=target.flatpak)
            write_text(
                launcher, launcher_text(env.platform, home=home, flatpak=target.flatpak), executable=True
            )
            record.add_file(launcher)
            launchers[target.flatpak] = launcher
            lines.append(f"wrote launcher {launcher}")
        write_text(target.manifest, render_manifest(launchers[target.flatpak], options.extension_ids))
        record.add_file(target.manifest)
        lines.append(f"wrote {target.browser.name} manifest {target.manifest}")
        if target.registry_key is not None:
            assert registry is not None, "Windows needs the registry"
            registry.set_default(target.registry_key, str(target.manifest))
            record.add_key(target.registry_key)
            lines.append(f"set registry {target.registry_key} = {target.manifest}")
    record.save(record_path())
    return lines


def uninstall(registry: Registry | None = None) -> list[str]:
    """Remove exactly what install recorded writing, and nothing else."""
    record = InstallRecord.load(record_path())
    lines: list[str] = []
    for key in record.registry_keys:
        if registry is not None:
            registry.delete(key)
            lines.append(f"removed registry {key}")
    for name in record.files:
        path = Path(name)
        if path.exists():
            path.unlink()
            lines.append(f"removed {path}")
    record_path().unlink(missing_ok=True)
    return lines or ["nothing to remove: no installation was recorded"]
