"""The thumbnail loader: pixmaps kept within a byte budget, and every load reporting back."""

from __future__ import annotations

import logging

import pytest

from organizer.gui.thumbnails import ThumbnailLoader, pixmap_bytes
from organizer.io.scan import hash_file
from organizer.io.thumbs import ThumbnailStore
from organizer.samples import write_sample_folder

WAIT_MS = 10_000


@pytest.fixture
def images(tmp_path):
    """Nine distinct 300 × 200 images, so each thumbnail is 256 × 171 (about 175 KB as a pixmap)."""
    paths = write_sample_folder(tmp_path / "images", per_family=1, colourways=1, size=(300, 200))
    return [(path, hash_file(path)) for path in paths]


@pytest.fixture
def make_loader(tmp_path):
    loaders = []

    def make(**options) -> ThumbnailLoader:
        loaders.append(ThumbnailLoader(ThumbnailStore(tmp_path / "thumbs"), **options))
        return loaders[-1]
    yield make
    for loader in loaders:
        loader.shutdown()


def _load(qtbot, loader: ThumbnailLoader, path, digest) -> None:
    with qtbot.waitSignal(loader.ready, timeout=WAIT_MS, check_params_cb=lambda done: done == digest):
        loader.request(path, digest)


def test_the_kept_thumbnails_stay_within_the_byte_budget_oldest_going_first(qtbot, make_loader, images):
    first = make_loader()
    _load(qtbot, first, *images[0])
    one = pixmap_bytes(first.pixmap(*images[0]))
    assert one == 256 * 171 * 4
    budget = int(3.5 * one)
    loader = make_loader(budget_bytes=budget)
    for path, digest in images:
        _load(qtbot, loader, path, digest)
        assert loader.cached_bytes <= budget
    assert loader.cached_bytes == 3 * one
    assert all(loader.pixmap(*image) is not None for image in images[-3:])
    assert loader.pixmap(*images[0]) is None  # evicted, so asked for again


def test_a_thumbnail_larger_than_the_budget_is_still_kept_to_be_shown(qtbot, make_loader, images):
    loader = make_loader(budget_bytes=1000)
    for path, digest in images[:2]:
        _load(qtbot, loader, path, digest)
    assert loader.pixmap(*images[1]) is not None and loader.pixmap(*images[0]) is None


def test_an_unexpected_failure_marks_the_thumbnail_broken_instead_of_leaving_it_in_flight(
        qtbot, make_loader, images, monkeypatch, caplog):
    loader = make_loader()
    bad_path, bad_digest = images[0]
    real_get = loader.store.get

    def failing_get(path, digest):
        if digest == bad_digest:
            raise RuntimeError("a bug in the thumbnail code")
        return real_get(path, digest)
    monkeypatch.setattr(loader.store, "get", failing_get)
    with caplog.at_level(logging.ERROR, logger="organizer.gui.thumbnails"):
        _load(qtbot, loader, bad_path, bad_digest)
    assert loader.is_broken(bad_digest) and loader.pixmap(bad_path, bad_digest) is None
    assert "a bug in the thumbnail code" in caplog.text and bad_path.name in caplog.text
    _load(qtbot, loader, *images[1])  # the threads go on with the next thumbnail
    assert loader.pixmap(*images[1]) is not None


def test_shutdown_runs_none_of_the_queued_requests(images, make_loader, monkeypatch):
    # Each request queues a runnable; at close, thousands may wait behind the loads in hand.
    import threading

    loader = make_loader(threads=1)
    started, release, calls = threading.Event(), threading.Event(), []
    real_next = loader._next

    def counted_next():
        calls.append(threading.get_ident())
        return real_next()

    def held_get(path, digest):
        started.set()
        release.wait(WAIT_MS / 1000)
        raise OSError("held")
    monkeypatch.setattr(loader, "_next", counted_next)
    monkeypatch.setattr(loader.store, "get", held_get)
    for path, digest in images * 20:
        loader.request(path, digest)
    assert started.wait(WAIT_MS / 1000)
    threading.Timer(0.2, release.set).start()
    loader.shutdown()
    assert len(calls) == 1


def test_a_thumbnail_holds_the_stored_jpegs_pixels_decoded_without_qts_readers(qtbot, make_loader, images,
                                                                               monkeypatch):
    from PIL import Image
    from PySide6.QtGui import QImage

    # Qt's readers probe their plugins under a Qt lock while the loading thread holds Python's: the
    # GUI thread, taking them the other way round, deadlocked (organizer.gui.thumbnails.decoded).
    def no_qt_reader(*_args):
        raise AssertionError("a thumbnail went through QImage.fromData")
    monkeypatch.setattr(QImage, "fromData", no_qt_reader)
    loader = make_loader()
    path, digest = images[0]
    _load(qtbot, loader, path, digest)
    shown = loader.pixmap(path, digest).toImage()
    with Image.open(loader.store.path_for(digest)) as stored:
        expected = stored.convert("RGB")
    assert (shown.width(), shown.height()) == expected.size
    for x, y in ((0, 0), (100, 50), (expected.width - 1, expected.height - 1)):
        colour = shown.pixelColor(x, y)
        assert (colour.red(), colour.green(), colour.blue()) == expected.getpixel((x, y))
