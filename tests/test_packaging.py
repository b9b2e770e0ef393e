"""Packaging: an installed wooxy-bulk holds every package of the source tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_for_setuptools() -> None:
    """Each folder of wooxy_bulk with an __init__.py is packaged ([tool.setuptools] packages)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = config["tool"]["setuptools"]["packages"]
    if isinstance(packages, dict):  # packages.find
        listed = set(find_packages(str(ROOT), include=packages["find"]["include"]))
    else:
        listed = set(packages)
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "wooxy_bulk").rglob("__init__.py")
    }
    assert listed == found
