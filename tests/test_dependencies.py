"""What the product imports is what pyproject declares: every third-party module that host/, installer/,
dev_notion/, devkit/ and notion_bridge/ import (statically or by name) belongs to a declared distribution, so
nothing works only because another package happened to pull it in."""

from __future__ import annotations

import importlib.metadata
import re
import sys
import tomllib

from tests.support.processes import ROOT
from tests.test_layout import imported_modules

PACKAGES = ("host", "installer", "dev_notion", "devkit", "notion_bridge")
#: Modules only some platforms have, imported behind a platform check.
PLATFORM_ONLY = {"winreg", "msvcrt", "pwd", "grp", "_winapi"}


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in ("demo", "test"):
        requirements += project["optional-dependencies"][extra]
    names = {re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0] for requirement in requirements}
    return {re.sub(r"[-_.]+", "-", name).lower() for name in names}


def test_every_third_party_import_is_declared():
    ours = set(PACKAGES) | {"tests", "bench"}
    owners = importlib.metadata.packages_distributions()
    undeclared = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for _, module in imported_modules(path):
                top = module.split(".")[0]
                if not top or top in ours or top in sys.stdlib_module_names or top in PLATFORM_ONLY:
                    continue
                distributions = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(top, [top])}
                if not distributions & declared():
                    undeclared[top] = f"{path.relative_to(ROOT)} ({', '.join(sorted(distributions))})"
    assert undeclared == {}, f"imported but not declared in pyproject.toml: {undeclared}"


def test_mcp_is_held_to_the_minor_the_host_was_written_against():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert "mcp>=2.3,<2.4" in project["dependencies"]
    assert importlib.metadata.version("mcp").startswith("2.3.")
