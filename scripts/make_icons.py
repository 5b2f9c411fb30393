"""Render extension/icons/icon.svg to the PNG sizes the manifest names (16, 32, 48, 128 px).

The PNGs are committed, so neither CI nor a person installing the extension needs this; run it after changing
the SVG:  pip install cairosvg && python scripts/make_icons.py   (cairosvg needs the cairo library, which
Chromium's dependencies already bring on Debian and Ubuntu).
"""

from __future__ import annotations

from pathlib import Path

import cairosvg

ICONS = Path(__file__).resolve().parents[1] / "extension" / "icons"
SIZES = (16, 32, 48, 128)


def main() -> None:
    source = (ICONS / "icon.svg").read_bytes()
    for size in SIZES:
        target = ICONS / f"icon-{size}.png"
        cairosvg.svg2png(bytestring=source, write_to=str(target), output_width=size, output_height=size)
        print(f"{target.relative_to(ICONS.parents[1])}: {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
