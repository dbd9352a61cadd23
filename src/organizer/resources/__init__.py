"""The app's bundled files (the icon), found the same way installed, editable or frozen."""

from __future__ import annotations

from pathlib import Path


def resource_path(name: str) -> Path:
    """The path of a bundled resource.

    It sits beside this module in every case: a wheel and an editable install keep the
    package folder, and the PyInstaller spec collects this package's data files.
    """
    path = Path(__file__).resolve().parent / name
    if not path.is_file():
        raise FileNotFoundError(f"the resource {name!r} is missing from {path.parent}")
    return path
