"""Tool names the model sees: unique across servers and valid for the API (``^[a-zA-Z0-9_-]{1,64}$``).

Two servers may both have a ``search`` tool; the model sees ``notion__search`` and ``wiki__search``, and the map
routes each back to its (server, tool).
"""

from __future__ import annotations

import hashlib
import re

_INVALID = re.compile(r"[^a-zA-Z0-9_-]+")
MAX_NAME = 64


def _clean(text: str) -> str:
    return _INVALID.sub("_", text).strip("_") or "x"


def exposed_name(server_id: str, tool: str) -> str:
    name = f"{_clean(server_id)}__{_clean(tool)}"
    if len(name) <= MAX_NAME:
        return name
    # Too long: keep a readable prefix and make it unique with a short hash of the full pair.
    digest = hashlib.sha256(f"{server_id}\0{tool}".encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def build_name_map(pairs: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Exposed name -> (server, tool), for every pair; cleaning that makes two names equal is disambiguated."""
    mapping: dict[str, tuple[str, str]] = {}
    for server_id, tool in pairs:
        name = exposed_name(server_id, tool)
        if name in mapping and mapping[name] != (server_id, tool):
            digest = hashlib.sha256(f"{server_id}\0{tool}".encode()).hexdigest()[:8]
            name = f"{name[: MAX_NAME - 9]}_{digest}"
        mapping[name] = (server_id, tool)
    return mapping
