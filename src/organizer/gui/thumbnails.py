"""Thumbnails for the views: loaded off the GUI thread, newest request first, kept in memory.

Views ask for a pixmap while painting; a miss returns None and queues the load, and
``ready`` announces it. Requests are served last-in first-out and the queue is bounded,
so scrolling fast through thousands of images loads what is on screen now, not what
flew past a second ago. The pixmaps kept are bounded by their bytes, the least recently
used going first, and every load reports back, even one that fails, so no thumbnail is
left waiting for ever.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from ..io.images import ImageError
from ..io.thumbs import ThumbnailStore

MAX_PENDING = 400
#: Bytes the kept pixmaps may take: about 1,000 full-size thumbnails (256 px at 32 bits,
#: 256 KB each), several screens of the densest grid; a count of 3,000 took 790 MB.
BUDGET_BYTES = 256 * 1024 * 1024

log = logging.getLogger(__name__)


def pixmap_bytes(pixmap: QPixmap) -> int:
    """The memory a pixmap's pixels take."""
    return pixmap.width() * pixmap.height() * pixmap.depth() // 8


def rgb_qimage(image: Image.Image) -> QImage:
    """A PIL image as an RGB QImage that owns its pixels, so the PIL image may go."""
    rgb = image.convert("RGB")
    return QImage(rgb.tobytes(), rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


def decoded(data: bytes) -> QImage:
    """A stored thumbnail's JPEG bytes, decoded by PIL, off the GUI thread.

    Not ``QImage.fromData``: Qt's reader probes its format plugins, and the SVG plugin's probe takes
    a Qt lock while this thread holds Python's. The GUI thread takes the two the other way round
    in a disconnect (PySide asks Python whether ``disconnectNotify`` is overridden), and a test run
    hung there for good at no CPU. PIL releases Python's lock while it decodes and takes no Qt lock.
    """
    with Image.open(io.BytesIO(data)) as image:
        return rgb_qimage(image)


class _Load(QRunnable):
    def __init__(self, loader: "ThumbnailLoader"):
        super().__init__()
        self._loader = loader

    def run(self) -> None:
        item = self._loader._next()
        if item is None:
            return
        path, digest = item
        image = QImage()
        try:
            image = decoded(self._loader.store.get(path, digest))
        except (ImageError, OSError):
            pass  # shown as broken; the scan lists the reason
        except Exception:  # noqa: BLE001 - a bug, not a bad file: logged, and the thumbnail shown as broken
            log.exception("the thumbnail of %s failed", path)
        finally:
            # Always: a digest left in flight is never requested again.
            self._loader._loaded.emit(digest, image)


class ThumbnailLoader(QObject):
    ready = Signal(str)
    _loaded = Signal(str, QImage)

    def __init__(self, store: ThumbnailStore, budget_bytes: int = BUDGET_BYTES, threads: int = 2,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.store = store
        self._budget = budget_bytes
        self._bytes = 0
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

    @property
    def cached_bytes(self) -> int:
        """The memory the kept pixmaps take, at most the budget (or the one newest pixmap)."""
        return self._bytes

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
            self._keep(digest, QPixmap.fromImage(image))
        self.ready.emit(digest)

    def _keep(self, digest: str, pixmap: QPixmap) -> None:
        replaced = self._pixmaps.pop(digest, None)
        if replaced is not None:
            self._bytes -= pixmap_bytes(replaced)
        self._pixmaps[digest] = pixmap
        self._bytes += pixmap_bytes(pixmap)
        # The newest stays even alone over the budget: the view repaints for it at once.
        while self._bytes > self._budget and len(self._pixmaps) > 1:
            _, evicted = self._pixmaps.popitem(last=False)
            self._bytes -= pixmap_bytes(evicted)

    def shutdown(self) -> None:
        with self._lock:
            self._pending.clear()
        # Every request queued a runnable: after scrolling 10,000 images thousands wait in the
        # pool, each with nothing left to load, and running them through held the close for a
        # second or more. Drop them; only the loads already running are waited for.
        self._pool.clear()
        self._pool.waitForDone()
