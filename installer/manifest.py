"""The native-messaging host manifest: rendered from manifest_templates/, and read back by doctor.

The template is valid JSON whose placeholder strings are replaced by values, lists included, so no value is
ever spliced into JSON text and a path with quotes or backslashes cannot break the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from host import EXTENSION_ID, HOST_NAME
from installer.errors import InstallError


def _template() -> Path:
    # A wheel carries the template inside this package; a checkout keeps it at the top of the tree.
    name = "native-messaging-host.json"
    packaged = Path(__file__).resolve().parent / "manifest_templates" / name
    return (
        packaged if packaged.exists() else Path(__file__).resolve().parents[1] / "manifest_templates" / name
    )


TEMPLATE = _template()
DESCRIPTION = "Notion MCP Bridge: MCP sessions, sign-in and tokens for the browser extension"
FILE_NAME = f"{HOST_NAME}.json"

_EXTENSION_ID = re.compile(r"^[a-p]{32}$")
_ORIGIN = re.compile(r"^chrome-extension://([a-p]{32})/$")


def origin(extension_id: str) -> str:
    return f"chrome-extension://{extension_id}/"


def is_extension_id(value: str) -> bool:
    return bool(_EXTENSION_ID.match(value))


def extension_id_of(value: str) -> str | None:
    """The ID in an ``allowed_origins`` entry, or None when the entry is not an exact extension origin."""
    found = _ORIGIN.match(value)
    return found.group(1) if found else None


def allowed_origins(extra_ids: Sequence[str]) -> list[str]:
    return [origin(ext_id) for ext_id in dict.fromkeys([EXTENSION_ID, *extra_ids])]


def render(launcher: Path, extra_ids: Sequence[str] = ()) -> str:
    try:
        template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InstallError(
            f"the manifest template is missing from this installation ({TEMPLATE}); reinstall the package "
            "(pip install --force-reinstall notion-mcp-bridge, or pip install -e . in a checkout)"
        ) from None
    values: dict[str, Any] = {
        "${HOST_NAME}": HOST_NAME,
        "${DESCRIPTION}": DESCRIPTION,
        "${LAUNCHER}": str(launcher),
        "${ALLOWED_ORIGINS}": allowed_origins(extra_ids),
    }

    def fill(node: Any) -> Any:
        if isinstance(node, str):
            if node in values:
                return values[node]
            if "${" in node:
                raise InstallError(f"the manifest template has an unknown placeholder: {node}")
            return node
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, dict):
            return {key: fill(value) for key, value in node.items()}
        return node

    # ensure_ascii=False keeps non-ASCII paths readable; the file is written as UTF-8 without a BOM,
    # which Chrome on Windows requires.
    return json.dumps(fill(template), indent=2, ensure_ascii=False) + "\n"
