"""What a wheel of this project carries: every package, and the manifest template the installer renders."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

from installer import manifest

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_list_names_every_package_in_the_tree() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = find_packages(where=str(ROOT), include=["host*", "installer*", "dev_notion*", "devkit*", "notion_bridge*"])
    assert sorted(settings["packages"]) == sorted([*found, "installer.manifest_templates"])


def test_the_template_ships_inside_the_installer_package() -> None:
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folder = ROOT / settings["package-dir"]["installer.manifest_templates"]
    assert manifest.TEMPLATE.parent == folder
    assert settings["package-data"]["installer.manifest_templates"] == ["*.json"]
    assert (folder / "native-messaging-host.json").is_file()
