"""What a wheel of this project carries: every package, the manifest template the installer renders, and the
unpacked extension (tests/test_wheel_install.py builds one and installs it for real)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

from installer import manifest

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_list_names_every_package_in_the_tree() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = find_packages(
        where=str(ROOT), include=["host*", "installer*", "dev_notion*", "devkit*", "notion_bridge*"]
    )
    data_packages = ["installer.manifest_templates", "notion_bridge.extension"]
    assert sorted(settings["packages"]) == sorted([*found, *data_packages])


def test_the_template_ships_inside_the_installer_package() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folder = ROOT / settings["package-dir"]["installer.manifest_templates"]
    assert manifest.TEMPLATE.parent == folder
    assert settings["package-data"]["installer.manifest_templates"] == ["*.json"]
    assert (folder / "native-messaging-host.json").is_file()


def test_the_extension_ships_inside_the_command_line_package():
    from notion_bridge import assets

    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert settings["package-dir"]["notion_bridge.extension"] == "extension"
    # From a checkout (editable or not) the extension is the tree's own folder.
    assert assets.extension_dir() == ROOT / "extension"
    patterns = settings["package-data"]["notion_bridge.extension"]
    shipped = {
        path.relative_to(ROOT / "extension").as_posix()
        for pattern in patterns
        for path in (ROOT / "extension").glob(pattern)
    }
    every = {
        path.relative_to(ROOT / "extension").as_posix()
        for path in (ROOT / "extension").rglob("*")
        if path.is_file() and path.parts[len(ROOT.parts) + 1] != "tests"
    }
    assert shipped == every, "a file of the extension would be left out of the wheel"
    assert not any(name.startswith("tests/") for name in shipped)
