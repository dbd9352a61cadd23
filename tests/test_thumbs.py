"""The thumbnail store: made once, bounded in size, shared by content hash."""

import io

import pytest
from PIL import Image

from organizer.io.images import ImageError
from organizer.io.scan import hash_file
from organizer.io.thumbs import ThumbnailStore


def test_thumbnail_is_bounded_stored_and_reused(tmp_path):
    source = tmp_path / "wide.png"
    Image.new("RGB", (1200, 300), (200, 30, 30)).save(source)
    store = ThumbnailStore(tmp_path / "thumbs", side=128)
    digest = hash_file(source)
    data = store.get(source, digest)
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.size == (128, 32)
        assert thumb.getpixel((64, 16))[0] > 150
    assert store.path_for(digest).read_bytes() == data
    source.unlink()  # served from the store, without the original
    assert store.get(source, digest) == data


def test_unreadable_source_raises_and_stores_nothing(tmp_path):
    source = tmp_path / "bad.png"
    source.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    store = ThumbnailStore(tmp_path / "thumbs")
    with pytest.raises(ImageError):
        store.get(source, "ab" * 20)
    assert not store.path_for("ab" * 20).exists()


def test_a_read_only_store_still_returns_the_thumbnail(tmp_path):
    source = tmp_path / "a.png"
    Image.new("RGB", (64, 64), (0, 90, 200)).save(source)
    blocker = tmp_path / "thumbs"
    blocker.write_text("a file where the folder should be")
    data = ThumbnailStore(blocker).get(source, "cd" * 20)
    assert Image.open(io.BytesIO(data)).size == (64, 64)
