"""The top-level resources/ are found by one helper, in the source tree and in a built wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from organizer.resources import resource_path

ROOT = Path(__file__).resolve().parents[1]


def test_resources_come_from_the_top_level_folder():
    icon = resource_path("icon.png")
    assert icon == ROOT / "resources" / "icon.png"
    with Image.open(icon) as image:
        assert image.size == (512, 512)
    assert "[Desktop Entry]" in resource_path("pattern-organizer.desktop").read_text()


def test_a_missing_resource_is_named():
    with pytest.raises(FileNotFoundError, match="'nothing.png' is missing"):
        resource_path("nothing.png")


def test_a_built_wheel_holds_the_resources(tmp_path):
    pytest.importorskip("setuptools", minversion="77", reason="the project's build backend needs setuptools 77")
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    for name in ("src", "resources"):
        shutil.copytree(ROOT / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    build = "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))"
    done = subprocess.run([sys.executable, "-c", build, str(tmp_path)], cwd=tree, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    with zipfile.ZipFile(tmp_path / done.stdout.split()[-1]) as wheel:
        names = set(wheel.namelist())
        assert {"organizer/resources/icon.png", "organizer/resources/pattern-organizer.desktop"} <= names
        assert wheel.read("organizer/resources/icon.png") == (ROOT / "resources" / "icon.png").read_bytes()
