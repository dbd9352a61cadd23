"""Fixtures the widget tests share."""

import pytest

from organizer.core.thumbs import ThumbnailStore
from organizer.gui.thumbnails import ThumbnailLoader


@pytest.fixture
def loader(tmp_path):
    """A thumbnail loader over a fresh store; its threads are joined at teardown."""
    loader = ThumbnailLoader(ThumbnailStore(tmp_path / "thumbs"))
    yield loader
    loader.shutdown()
