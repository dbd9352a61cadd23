"""Putting a file's content under a new name without ever replacing another file.

The primitives :mod:`.apply` builds exports and undo from. A copy is written to a hidden
temporary name and published with ``os.link``, which fails rather than replacing an
existing file; where the file system has no hard links (FAT, exFAT, some shares) the name
is claimed exclusively first.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from pathlib import Path

PART_PREFIX = ".organizer-part-"
#: Errors that mean the target side cannot take more files: stop, don't skip.
TARGET_FULL = (errno.ENOSPC, errno.EROFS, errno.EDQUOT)


def fsync_dir(folder: Path) -> None:
    """Make the names in ``folder`` durable, where the system can open a folder to sync it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open folders; its renames are durable enough
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temp_name(folder: Path, tag: str = "") -> Path:
    """A hidden name in ``folder`` that no other process or call will choose."""
    return folder / f"{PART_PREFIX}{os.getpid()}-{time.monotonic_ns()}{tag}"


def publish(temp: Path, target: Path) -> None:
    """Give ``temp`` the name ``target`` unless that name exists; never replaces a file."""
    try:
        os.link(temp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno in TARGET_FULL:
            raise
        # No hard links here (FAT, exFAT, some shares): claim the name exclusively, then
        # replace our own empty placeholder.
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        os.replace(temp, target)
        return
    os.unlink(temp)


def copy_to(source: Path, target: Path) -> None:
    """Copy ``source`` to the new name ``target``, atomically and never replacing."""
    temp = temp_name(target.parent)
    try:
        with open(source, "rb") as reader, open(temp, "xb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
            writer.flush()
            os.fsync(writer.fileno())  # on the write handle: Windows refuses it on a reader
        publish(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    shutil.copystat(source, target)  # after publishing: a read-only temp could not be unlinked
