"""Putting a file's content under a new name without ever replacing another file.

The primitives :mod:`organizer.export.apply` builds exports and undo from, and the two
writes every tool and command uses: :func:`write_new_file` (never replaces) and
:func:`replace_atomically` (for a file name the user chose). A copy is written to a hidden
temporary name and published with ``os.link``, which fails rather than replacing an
existing file; where the file system has no hard links (FAT, exFAT, some shares) the name
is claimed exclusively first. Permissions and times are copied where the target file
system keeps them; one that refuses them (FAT and exFAT have no Unix permissions) gets
the content alone, and the caller reports what was refused.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path

from .files import open_regular

PART_PREFIX = ".organizer-part-"
#: Errors that mean the target side cannot take more files: stop, don't skip.
TARGET_FULL = (errno.ENOSPC, errno.EROFS, errno.EDQUOT)
#: What setting an attribute the file system cannot store answers: EPERM for a chmod on
#: FAT or exFAT, ENOTSUP or EINVAL on shares without Unix times or modes.
_ATTRIBUTE_REFUSED = frozenset({errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EINVAL,
                                errno.ENOSYS})


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


def copy_to(source: Path, target: Path) -> frozenset[str]:
    """Copy ``source``'s content to the new name ``target``, atomically and never replacing.

    Returns
    -------
    frozenset
        The attributes the target file system refused ("permissions", "times"); empty
        when it kept them all.

    Raises
    ------
    ImageError
        When ``source`` is not a regular file or cannot be opened, before anything is written.
    """
    temp = temp_name(target.parent)
    try:
        with open_regular(source, None) as reader, open(temp, "xb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
            writer.flush()
            os.fsync(writer.fileno())  # on the write handle: Windows refuses it on a reader
        publish(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return copy_attributes(source, target)  # after publishing: a read-only temp could not be unlinked


def copy_attributes(source: Path, target: Path) -> frozenset[str]:
    """Give ``target`` the permissions, times and extended attributes of ``source`` where it can.

    Returns the attributes the target's file system refused, so that the copy goes on
    with its content and the export reports them once instead of failing per file.
    """
    try:
        shutil.copystat(source, target)
        return frozenset()
    except OSError as exc:
        if exc.errno not in _ATTRIBUTE_REFUSED:
            raise
    # copystat stops at the first refusal: set each one alone to keep what can be kept.
    info = os.stat(source)
    refused = set()
    for name, apply in (("times", lambda: os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))),
                        ("permissions", lambda: os.chmod(target, stat.S_IMODE(info.st_mode)))):
        try:
            apply()
        except OSError as exc:
            if exc.errno not in _ATTRIBUTE_REFUSED:
                raise
            refused.add(name)
    return frozenset(refused)


def moved_link_text(link: Path, new: Path) -> str:
    """What a symbolic link moved from ``link`` to ``new`` must hold to point where it pointed.

    An absolute target stays as it is. A relative one is rewritten relative to the new
    folder, or made absolute where no relative path reaches it (another drive, or a
    ``..`` after a linked folder that the rewrite cannot follow).
    """
    text = os.readlink(link)
    if os.path.isabs(text):
        return text
    pointed = os.path.join(os.path.realpath(link.parent), text)
    new_folder = os.path.realpath(new.parent)
    try:
        relative = os.path.relpath(pointed, new_folder)
    except ValueError:  # Windows: no relative path between drives
        return os.path.realpath(link)
    if os.path.realpath(os.path.join(new_folder, relative)) != os.path.realpath(link):
        return os.path.realpath(link)
    return relative


def write_new_file(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` under ``name`` in ``folder``, or ``name (2)`` etc. if taken; atomic, never replacing."""
    stem, suffix = os.path.splitext(name)
    temp = temp_name(folder)
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        n = 1
        while True:
            target = folder / (name if n == 1 else f"{stem} ({n}){suffix}")
            try:
                publish(temp, target)
                return target
            except FileExistsError:
                n += 1
    finally:
        temp.unlink(missing_ok=True)


def replace_atomically(target: Path, write: Callable[[Path], None]) -> Path:
    """Make ``target`` the file that ``write(partial)`` writes, replacing any file there.

    ``write`` writes to a hidden ``.part`` sibling that is then renamed over ``target``,
    so a reader finds the old file or the whole new one, never half of one; the partial
    is removed if ``write`` fails. Unlike :func:`write_new_file` this replaces: it is for
    files whose name the user chose. The name holds the process id so that two processes
    writing one target never write into each other's partial.
    """
    target = Path(target)
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        write(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
