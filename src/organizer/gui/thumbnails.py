"""Thumbnails for the views: loaded off the GUI thread, newest request first, kept in memory.

Views ask for a pixmap while painting; a miss returns None and queues the load, and
``ready`` announces it. Requests are served last-in first-out and the queue is bounded,
so scrolling fast through thousands of images loads what is on screen now, not what
flew past a second ago.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from ..core.images import ImageError
from ..core.thumbs import ThumbnailStore

MAX_PENDING = 400


class _Load(QRunnable):
    def __init__(self, loader: "ThumbnailLoader"):
        super().__init__()
        self._loader = loader

    def run(self) -> None:
        item = self._loader._next()
        if item is None:
            return
        path, digest = item
        try:
            image = QImage.fromData(self._loader.store.get(path, digest))
        except (ImageError, OSError):
            image = QImage()
        self._loader._loaded.emit(digest, image)


class ThumbnailLoader(QObject):
    ready = Signal(str)
    _loaded = Signal(str, QImage)

    def __init__(self, store: ThumbnailStore, capacity: int = 3000, threads: int = 2, parent: QObject | None = None):
        super().__init__(parent)
        self.store = store
        self._capacity = capacity
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._broken: set[str] = set()
        self._pending: OrderedDict[str, Path] = OrderedDict()
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._loaded.connect(self._store_loaded)

    def pixmap(self, path: Path, digest: str) -> QPixmap | None:
        """The thumbnail if it is in memory; otherwise None, and it is queued."""
        found = self._pixmaps.get(digest)
        if found is not None:
            self._pixmaps.move_to_end(digest)
            return found
        if digest not in self._broken:
            self.request(path, digest)
        return None

    def is_broken(self, digest: str) -> bool:
        return digest in self._broken

    def request(self, path: Path, digest: str) -> None:
        with self._lock:
            if digest in self._in_flight:
                return
            self._pending[digest] = Path(path)
            self._pending.move_to_end(digest)
            while len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)
        self._pool.start(_Load(self))

    def _next(self) -> tuple[Path, str] | None:
        with self._lock:
            if not self._pending:
                return None
            digest, path = self._pending.popitem(last=True)
            self._in_flight.add(digest)
            return path, digest

    def _store_loaded(self, digest: str, image: QImage) -> None:
        with self._lock:
            self._in_flight.discard(digest)
        if image.isNull():
            self._broken.add(digest)
        else:
            self._pixmaps[digest] = QPixmap.fromImage(image)
            while len(self._pixmaps) > self._capacity:
                self._pixmaps.popitem(last=False)
        self.ready.emit(digest)

    def shutdown(self) -> None:
        with self._lock:
            self._pending.clear()
        self._pool.waitForDone()
