"""Shared fixtures. Tests never touch the user's real cache or data folders."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("ORGANIZER_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("ORGANIZER_DATA_DIR", str(base / "data"))
    # torch, not the exported default: each test has its own cache, and an export there costs seconds per
    # test that embeds. tests/test_runtimes.py runs the exported backends by name.
    monkeypatch.setenv("ORGANIZER_RUNTIME", "torch")
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



class Refusals:
    """``refusals(folder, "chmod", ...)`` makes those ``os`` calls answer EPERM inside ``folder``,
    as a FAT or exFAT stick answers chmod, utime, link and symlink; ``undo()`` ends it."""

    def __init__(self) -> None:
        self._patch = pytest.MonkeyPatch()

    def __call__(self, folder: Path, *names: str) -> None:
        for name in names:
            real = getattr(os, name)

            def refusing(*args, _real=real, **kwargs):
                inside = [str(arg) for arg in args if isinstance(arg, (str, Path)) and str(folder) in str(arg)]
                if inside:
                    raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), inside[0])
                return _real(*args, **kwargs)
            self._patch.setattr(os, name, refusing)

    def undo(self) -> None:
        self._patch.undo()


@pytest.fixture
def refuse_in():
    refusals = Refusals()
    yield refusals
    refusals.undo()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """One models folder for a module's tests, so the network is exported once per module, not per test."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def shared_models(models, monkeypatch):
    """The exported runtimes write and find their networks in the module's :func:`models` folder."""
    from organizer.embedding import exported

    monkeypatch.setattr(exported, "models_dir", lambda: models)
    return models
