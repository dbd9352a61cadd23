"""Shared fixtures. Tests never touch the user's real cache or data folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("ORGANIZER_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("ORGANIZER_DATA_DIR", str(base / "data"))
    return base


@pytest.fixture(scope="session")
def sample_folder(tmp_path_factory) -> Path:
    """A small rendered sample library: 9 families × 2 colourways × 2 variants, 128 px."""
    from organizer.samples import write_sample_folder

    folder = tmp_path_factory.mktemp("samples")
    write_sample_folder(folder, per_family=2, colourways=2, size=(128, 128))
    return folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dtd10"
    if not root.is_dir():
        pytest.skip(f"the evaluation data is not at {root} (it lives beside the repo, in ../shared)")
    return root
