"""``notion-bridge pack-extension``: the zip the Chrome Web Store takes.

The unpacked extension as the package ships it, less what the store refuses or does not need: manifest.json
loses its ``key`` (the store gives the extension its own ID and rejects an upload that carries a key), and the
tests stay out. The zip is the same bytes for the same tree: fixed timestamps, sorted names.
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

from host import EXTENSION_ID, __version__

LEFT_OUT = ("tests",)
_EPOCH = (1980, 1, 1, 0, 0, 0)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help=f"where to write the zip (default: notion-mcp-bridge-extension-{__version__}.zip here)",
    )


def store_manifest(source: Path) -> dict[str, object]:
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("key", None)
    return dict(manifest)


def packed_files(source: Path) -> list[Path]:
    def wanted(path: Path) -> bool:
        parts = path.relative_to(source).parts
        return (
            path.is_file()
            and parts[0] not in LEFT_OUT
            and not any(part.startswith(".") or part == "__pycache__" for part in parts)
        )

    return sorted(
        (path for path in source.rglob("*") if wanted(path)), key=lambda p: p.relative_to(source).as_posix()
    )


def pack(source: Path, out: Path) -> list[str]:
    """Write the store's zip of ``source`` to ``out``; return the names it holds."""
    manifest = store_manifest(source)
    icons = manifest.get("icons")
    if not isinstance(icons, dict) or "128" not in icons:
        raise SystemExit("error: the manifest names no 128 px icon, which the Chrome Web Store requires")
    names = []
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in packed_files(source):
            name = path.relative_to(source).as_posix()
            data = (
                (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
                if name == "manifest.json"
                else path.read_bytes()
            )
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
            names.append(name)
    missing = [str(icon) for icon in icons.values() if str(icon) not in names]
    if missing:
        out.unlink()
        raise SystemExit(f"error: icons named in the manifest are missing: {', '.join(missing)}")
    return names


def run(args: argparse.Namespace) -> int:
    from notion_bridge.assets import extension_dir

    out = (args.out or Path(f"notion-mcp-bridge-extension-{__version__}.zip")).resolve()
    names = pack(extension_dir(), out)
    print(f"wrote {out} ({out.stat().st_size:,} bytes, {len(names)} files; manifest without its key)")
    print(
        "Upload it in the Chrome Web Store's developer dashboard; docs/store-listing.md has the reason for each "
        "permission. The store gives the extension its own ID (not "
        f"{EXTENSION_ID}); let that ID start the host with:\n"
        "  notion-bridge install --extension-id <the store's ID>"
    )
    return 0
