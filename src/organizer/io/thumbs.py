"""Thumbnails on disk, keyed by content hash, so views never decode an original twice.

A thumbnail is a small JPEG written once (atomically) and shared by every view and every
later session; a renamed or copied file reuses it. Unreadable images get no thumbnail:
the caller shows a placeholder, and the scan already listed the reason.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from . import images

THUMB_SIDE = 256
QUALITY = 85


def make_thumbnail(source: Path, side: int = THUMB_SIDE, max_file_bytes: int = images.MAX_FILE_BYTES) -> bytes:
    """The JPEG bytes of ``source`` fitted into ``side`` × ``side``, stored nowhere.

    Raises
    ------
    images.ImageError
        When the source cannot be decoded, or is over ``max_file_bytes``.
    """
    image = images.load(Path(source), side, max_file_bytes)
    image.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def make_preview(source: Path, side: int, max_file_bytes: int = images.MAX_FILE_BYTES) -> tuple[bytes, tuple[int, int]]:
    """The JPEG bytes of ``source`` fitted into ``side`` × ``side``, and its full size: the pixels
    a region of it is given in (see :func:`.images.load_region`). Decodes at full size.

    Raises
    ------
    images.ImageError
        As :func:`make_thumbnail`.
    """
    image = images.load(Path(source), 0, max_file_bytes)
    size = image.size
    image.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY)
    return out.getvalue(), size


class ThumbnailStore:
    """Thumbnails under ``root``; ``max_file_bytes`` gives the size limit at each read.

    A function, not a number, so a store made once per window follows the user's setting
    as it changes.
    """

    def __init__(self, root: Path, side: int = THUMB_SIDE,
                 max_file_bytes: Callable[[], int] = lambda: images.MAX_FILE_BYTES):
        self.root = Path(root)
        self.side = side
        self.max_file_bytes = max_file_bytes

    def path_for(self, digest: str) -> Path:
        return self.root / str(self.side) / digest[:2] / f"{digest}.jpg"

    def get(self, source: Path, digest: str) -> bytes:
        """The JPEG bytes of ``source``'s thumbnail, made and stored on first use.

        Raises
        ------
        images.ImageError
            When the source cannot be decoded.
        """
        stored = self.path_for(digest)
        try:
            return stored.read_bytes()
        except OSError:
            pass
        data = self.make(source)
        self._store(stored, data)
        return data

    def make(self, source: Path) -> bytes:
        return make_thumbnail(source, self.side, self.max_file_bytes())

    @staticmethod
    def _store(target: Path, data: bytes) -> None:
        # A full or read-only disk only costs the reuse: the thumbnail is still returned.
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.{os.getpid()}.{id(data)}.part")
            temp.write_bytes(data)
            os.replace(temp, target)
        except OSError:
            pass
