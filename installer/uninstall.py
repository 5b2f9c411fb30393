"""``notion-bridge uninstall``: remove what install recorded writing, and nothing else.

Takes the same --browser, --user-data-dir, --system and --home as install, to undo part of an installation.
A file that changed since install wrote it, or a registry key that now holds another value, is reported and
left alone: it is no longer what install wrote. Folders and registry keys install created go once empty.
"""

from __future__ import annotations

from pathlib import Path

from installer import browsers as b
from installer.install import Options, _check_options, base_dir, record_path, using_home
from installer.record import Entry, Record, sha256
from installer.registry import Registry


def uninstall(env: b.Environment, options: Options, registry: Registry | None = None) -> list[str]:
    _check_options(env, options)
    with using_home(options.home, strict=False):
        path = record_path(base_dir(env, system=options.system))
        record = Record.load(path)
        if record.empty():
            return [f"nothing to remove: no installation is recorded in {path}"]
        lines: list[str] = []
        try:
            lines += _release(record, options, registry)
            lines += _remove_unused_launchers(record)
        except BaseException:
            record.save(path)
            raise
        if record.entries:
            lines += _remove_empty_folders(record) + _remove_empty_keys(record, registry)
            record.save(path)
        else:
            # The record goes first: it may sit in a folder install made, which can then go too.
            folders, keys = record.created_dirs, record.created_keys
            Record().save(path)
            leftover = Record(created_dirs=folders, created_keys=keys)
            lines += _remove_empty_folders(leftover) + _remove_empty_keys(leftover, registry)
            # With nothing of ours left inside, a folder that still holds files is someone else's now.
            lines += [f"kept folder {d}: it holds files install did not write" for d in leftover.created_dirs]
        return lines or ["nothing matched: the recorded installation is for other browsers or profiles"]


def _selected(entry: Entry, options: Options) -> set[str]:
    if options.user_data_dir is not None and entry.profile != str(options.user_data_dir):
        return set()
    if not options.browsers:
        return set(entry.browsers)
    return set(entry.browsers) & set(options.browsers)


def _release(record: Record, options: Options, registry: Registry | None) -> list[str]:
    """Take the chosen browsers off each manifest and registry key; remove those no browser uses any more."""
    lines: list[str] = []
    for entry in [e for e in record.entries if e.kind != "launcher"]:
        leaving = _selected(entry, options)
        if not leaving:
            continue
        entry.browsers = [key for key in entry.browsers if key not in leaving]
        if entry.browsers:
            names = ", ".join(b.BY_KEY[key].name if key in b.BY_KEY else key for key in entry.browsers)
            lines.append(f"kept {entry.path}: still used by {names}")
            continue
        if entry.kind == "registry":
            lines.append(_remove_key(entry, registry))
        else:
            lines.append(_remove_file(entry))
        record.entries.remove(entry)
    return lines


def _remove_file(entry: Entry) -> str:
    path = Path(entry.path)
    if not path.exists():
        return f"already gone: {path}"
    if entry.sha256 is not None and sha256(path.read_bytes()) != entry.sha256:
        return f"left {path}: it changed since install wrote it"
    path.unlink()
    return f"removed {path}"


def _remove_key(entry: Entry, registry: Registry | None) -> str:
    if registry is None:
        return f"left registry {entry.path}: this system has no registry"
    current = registry.get_default(entry.path)
    if current is None and not registry.exists(entry.path):
        return f"already gone: registry {entry.path}"
    if current != entry.value:
        return f"left registry {entry.path}: it now points at {current}, not at what install set"
    registry.delete(entry.path)
    return f"removed registry {entry.path}"


def _remove_unused_launchers(record: Record) -> list[str]:
    used = {e.launcher for e in record.entries if e.kind != "launcher"}
    lines = []
    for entry in [e for e in record.entries if e.kind == "launcher" and e.path not in used]:
        lines.append(_remove_file(entry))
        record.entries.remove(entry)
    return lines


def _remove_empty_folders(record: Record) -> list[str]:
    lines = []
    # Deepest first, so a folder's emptied children are gone before it is looked at.
    for name in sorted(record.created_dirs, key=lambda d: len(Path(d).parts), reverse=True):
        folder = Path(name)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            lines.append(f"removed empty folder {folder}")
        if not folder.exists():
            record.created_dirs.remove(name)
    return lines


def _remove_empty_keys(record: Record, registry: Registry | None) -> list[str]:
    if registry is None:
        return []
    lines = []
    for key in sorted(record.created_keys, key=lambda k: k.count("\\"), reverse=True):
        if registry.exists(key) and registry.is_empty(key):
            registry.delete(key)
            lines.append(f"removed empty registry key {key}")
        if not registry.exists(key):
            record.created_keys.remove(key)
    return lines
