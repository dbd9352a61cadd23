"""Opening a user's file safely: only a regular file, and none over a size limit.

Every reader of a user's image file goes through :func:`open_regular` (the scan's reads,
thumbnails, comparisons, an export's hashing and copying), so a file replaced after a scan
listed it, by a named pipe or a link to ``/dev/zero``, is refused everywhere with the same
reason instead of hanging a job in ``open()`` or being read without end.
"""

from __future__ import annotations

import os
from pathlib import Path
from stat import S_ISBLK, S_ISCHR, S_ISDIR, S_ISFIFO, S_ISREG, S_ISSOCK
from typing import BinaryIO

MB = 1_000_000
#: Larger files are refused before a byte is read (a setting can change it). The largest
#: file that can hold an image under images.MAX_PIXELS is an uncompressed 8-bit RGBA TIFF
#: or BMP, 4 bytes × 200 MP = 800 MB; the rest is room for metadata. A bigger file cannot
#: be a usable image, and reading it whole would cost its size in memory (a 3 GB sparse file).
MAX_FILE_MB = 1000
MAX_FILE_BYTES = MAX_FILE_MB * MB


class ImageError(Exception):
    """A file that cannot be used, with a reason written for a person.

    ``transient`` marks problems of access rather than content (permissions, I/O errors,
    a file that vanished) and refusals that depend on a setting (the file size limit):
    fixing them does not change the file's size or mtime, so they must not be remembered
    as that file's verdict.
    """

    def __init__(self, reason: str, transient: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


# A named pipe opened without O_NONBLOCK waits for a writer for ever, and a terminal opened
# without O_NOCTTY could become this process's controlling terminal.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def open_regular(path: Path, max_bytes: int | None) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file of at most ``max_bytes``.

    The checks are made on the opened descriptor, so the file that is read is the one that
    was checked. ``max_bytes`` None sets no size limit, for readers that stream a file
    (hashing, copying) and so never hold more than a chunk of it.

    Raises
    ------
    ImageError
        For a folder, a named pipe, a device or a socket, a file over ``max_bytes``, and
        every OS error, each with a one-line reason.
    """
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise read_error(exc) from None
    try:
        info = os.fstat(descriptor)
        if S_ISDIR(info.st_mode):
            raise ImageError("this is a folder, not an image file")
        if not S_ISREG(info.st_mode):
            raise ImageError(special_file_reason(info.st_mode))
        if max_bytes is not None and info.st_size > max_bytes:
            # Transient: the verdict is the limit's, and a raised limit must read the file.
            raise ImageError(f"file too large: {_megabytes(info.st_size)} is over the {_megabytes(max_bytes)} "
                             "limit for one image file (raise it in Settings, or with --max-file-mb)", transient=True)
        return os.fdopen(descriptor, "rb")
    except OSError as exc:
        os.close(descriptor)
        raise read_error(exc) from None
    except BaseException:
        os.close(descriptor)
        raise


def read_bytes(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Read a whole regular file of at most ``max_bytes``; see :func:`open_regular`.

    Raises
    ------
    ImageError
        As :func:`open_regular`, or when the file changed size while it was read.
    """
    with open_regular(path, max_bytes) as handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            data = handle.read(size)
            grew = bool(handle.read(1))
        except OSError as exc:
            raise read_error(exc) from None
    if len(data) != size or grew:
        raise ImageError("the file changed while it was read (it is still being written?)", transient=True)
    return data


def read_error(exc: OSError) -> ImageError:
    """An OS error met while reading a user's file, as an :class:`ImageError` a person understands."""
    if isinstance(exc, FileNotFoundError):
        return ImageError("the file disappeared before it could be read", transient=True)
    if isinstance(exc, PermissionError):
        return ImageError("permission denied: the file is not readable", transient=True)
    if isinstance(exc, IsADirectoryError):
        return ImageError("this is a folder, not an image file")
    return ImageError(f"the file could not be read ({exc.strerror or exc})", transient=True)


def special_file_reason(mode: int) -> str:
    """Why a file of this ``st_mode`` (not a regular file) is refused, in words."""
    if S_ISFIFO(mode):
        kind = "named pipe"
    elif S_ISSOCK(mode):
        kind = "socket"
    elif S_ISCHR(mode) or S_ISBLK(mode):
        kind = "device"
    else:
        kind = "special file"
    return f"not a regular file (a {kind}), so not an image"


def _megabytes(size: int) -> str:
    return f"{size / MB:,.0f} MB" if size >= 10 * MB else f"{size / MB:.1f} MB"
