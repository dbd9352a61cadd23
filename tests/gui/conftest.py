"""Fixtures the widget tests share."""

import pytest

from organizer.gui.thumbnails import ThumbnailLoader
from organizer.gui.workers import TaskRunner
from organizer.io.thumbs import ThumbnailStore


@pytest.fixture
def loader(tmp_path):
    """A thumbnail loader over a fresh store; its threads are joined at teardown."""
    loader = ThumbnailLoader(ThumbnailStore(tmp_path / "thumbs"))
    yield loader
    loader.shutdown()


@pytest.fixture
def runner():
    """A task runner for dialogs; teardown checks its jobs all ended."""
    runner = TaskRunner()
    yield runner
    assert runner.shutdown(10_000)
