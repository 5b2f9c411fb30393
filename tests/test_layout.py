"""The shape of the tree: what may import what, and generated files that must match their sources."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT

#: Packages the product's host process must never import: the installer, the Notion-compatible server, the
#: test kit, the command line that ties them together, and the tests and benches.
NOT_FOR_THE_HOST = ("installer", "dev_notion", "devkit", "notion_bridge", "tests", "bench")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, statically or by name through importlib (``import_module("x.y")``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
            "import_module",
            "__import__",
            "find_spec",
        ):
            found += [
                (node.lineno, arg.value)
                for arg in node.args[:1]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            ]
    return found


def test_the_host_imports_no_installer_server_double_or_test_kit():
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / "host").rglob("*.py"))
        for line, module in imported_modules(path)
        if module.split(".")[0] in NOT_FOR_THE_HOST
    ]
    assert offending == []
    # The walk sees imports at all (a broken walk would find nothing and pass).
    assert "host.protocol.wire" in {m for _, m in imported_modules(ROOT / "host" / "__main__.py")}


def test_the_walk_catches_an_import_by_name(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import importlib\nimportlib.import_module('installer.commands')\nfrom devkit import browser\n"
    )
    assert sorted(m for _, m in imported_modules(sample)) == ["devkit", "importlib", "installer.commands"]


def test_docs_protocol_and_its_schema_are_generated_from_the_code():
    done = subprocess.run(
        [sys.executable, "-m", "host.protocol.export", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
