"""Find the image files in a folder tree with nothing but directory reads and stats.

Hashing and decoding happen later and only for files the cache does not know, so a
rescan of an unchanged folder costs one stat per file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from pathlib import Path
from stat import S_ISREG

from ..jobs.tasks import Cancelled, StopFn, never_stop
from .files import ImageError, open_regular, read_error, special_file_reason
from .images import IMAGE_SUFFIXES, unsupported_reason


@dataclass(frozen=True)
class FileEntry:
    """One image file found by the scan.

    ``path`` is absolute. A file reachable by several paths (symlinks, hard links) is
    listed once, so it is embedded once: by a path without symbolic links where there is
    one, else by the first path in sorted order.
    """

    path: Path
    size: int
    mtime_ns: int
    #: ``str(path)``, the cache's key for the file; the scan passes the text it listed, as
    #: formatting 100,000 Paths again would cost a rescan a tenth of a second.
    key: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", str(self.path))


@dataclass
class ScanResult:
    files: list[FileEntry]
    #: (path, reason) for folders or entries that could not be read or cannot be images
    #: (named pipes, devices, names that are not valid UTF-8, formats this app cannot read).
    problems: list[tuple[Path, str]]


#: A name not hidden ends with one of these exactly when its suffix is one, and the test is the
#: cheapest way to ask, 100,000 times a rescan.
_IMAGE_ENDINGS = tuple(IMAGE_SUFFIXES)


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def scan_folder(folder: Path, should_stop: StopFn = never_stop) -> ScanResult:
    """Walk ``folder`` recursively and list its image files.

    Hidden files and folders are skipped. Symlinked folders are followed, but each real
    folder is entered once, so symlink loops end. Files are sorted by path, so the order is
    the same on every run and every OS.

    Raises
    ------
    NotADirectoryError
        If ``folder`` is not a readable folder.
    Cancelled
        If ``should_stop()`` turns true; checked once per folder.
    """
    # Resolved, so the folder reached through a symlink or by its real path gives the same
    # file paths, and so the same cache rows.
    root = Path(folder).resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    # Per file identity: (reached through a link, path text, folder, name, size, mtime). The
    # Path is made only for the path kept, once, from its folder: making two Paths per file was
    # a third of the time of a rescan of 100,000 files.
    files: dict[tuple[int, int], tuple[bool, str, Path, str, int, int]] = {}
    problems: list[tuple[Path, str]] = []
    seen_dirs: set[tuple[int, int]] = set()
    # Folders reached through a symlink wait until every real folder has been entered, so
    # a folder (and its files) is listed by its real path when it has one. Entries are
    # sorted, so the file system's listing order never decides which path is kept.
    pending: list[Path] = [root]
    linked: list[Path] = []
    while pending or linked:
        if should_stop():
            raise Cancelled()
        in_link = not pending
        directory = pending.pop() if pending else linked.pop()
        try:
            dir_stat = directory.stat()
        except OSError as exc:
            problems.append((directory, f"folder cannot be opened ({exc.strerror})"))
            continue
        dir_key = (dir_stat.st_dev, dir_stat.st_ino)
        if dir_key in seen_dirs:
            continue
        seen_dirs.add(dir_key)
        try:
            with os.scandir(directory) as listing:
                # Reversed, so the stacks hand subfolders back in name order.
                entries = sorted(listing, key=attrgetter("name"), reverse=True)
        except OSError as exc:
            problems.append((directory, f"folder cannot be listed ({exc.strerror})"))
            continue
        for entry in entries:
            if is_hidden(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    if not _storable(entry.path):
                        problems.append((_readable(entry.path), _UNSTORABLE.format("folder")))
                        continue
                    (linked if in_link or entry.is_symlink() else pending).append(Path(entry.path))
                    continue
                if not entry.name.lower().endswith(_IMAGE_ENDINGS):
                    if unsupported := unsupported_reason(os.path.splitext(entry.name)[1]):
                        problems.append((_readable(entry.path), unsupported))
                    continue
                if not _storable(entry.path):
                    problems.append((_readable(entry.path), _UNSTORABLE.format("file")))
                    continue
                stat = entry.stat(follow_symlinks=True)
                if stat.st_ino == 0:  # Windows' DirEntry leaves the file index out; os.stat fills it
                    stat = os.stat(entry.path)
                if not S_ISREG(stat.st_mode):
                    # Reading a named pipe blocks for ever, and a device such as /dev/zero
                    # never ends: only regular files are images.
                    problems.append((Path(entry.path), special_file_reason(stat.st_mode)))
                    continue
            except OSError as exc:
                reason = "broken symbolic link" if entry.is_symlink() else f"cannot be read ({exc.strerror})"
                problems.append((Path(entry.path), reason))
                continue
            key = (stat.st_dev, stat.st_ino)
            candidate = (in_link or entry.is_symlink(), entry.path, directory, entry.name, stat.st_size,
                         stat.st_mtime_ns)
            if key not in files or candidate[:2] < files[key][:2]:
                files[key] = candidate
    kept = sorted(files.values(), key=itemgetter(1))
    return ScanResult([FileEntry(directory.joinpath(name), size, mtime_ns, text)
                       for _, text, directory, name, size, mtime_ns in kept], problems)


#: SQLite keeps text as UTF-8, so a path that is not valid UTF-8 (a name written in another
#: system's encoding, which Python carries as lone surrogates) cannot be a cache key.
_UNSTORABLE = "the {} name is not valid UTF-8 text, so it cannot be cached; rename it to include it"


def _storable(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _readable(path: str) -> Path:
    """``path`` with its undecodable bytes shown as U+FFFD, as file managers show them."""
    return Path(os.fsencode(path).decode("utf-8", "replace"))


def _content_digest():
    return hashlib.blake2b(digest_size=20)


def hash_bytes(data: bytes) -> str:
    """The content hash used as the embedding cache key."""
    digest = _content_digest()
    digest.update(data)
    return digest.hexdigest()


def hash_file(path: Path) -> str:
    """:func:`hash_bytes` of a file's content, read in chunks (exports verify files with it).

    Raises
    ------
    ImageError
        When ``path`` is not a regular file (a named pipe would hang the read, a link to
        ``/dev/zero`` never end it) or cannot be read, with the reason.
    """
    digest = _content_digest()
    with open_regular(path, None) as handle:
        try:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        except OSError as exc:
            raise read_error(exc) from None
    return digest.hexdigest()


def hash_or_blank(path: Path) -> str:
    """:func:`hash_file`, or "" for a file that cannot be read (the caller reports it later)."""
    try:
        return hash_file(path)
    except ImageError:
        return ""


def holds_content(path: Path, digest: str) -> bool:
    """Whether ``path`` holds the content ``digest`` names; False for a file that cannot be read."""
    return bool(digest) and hash_or_blank(path) == digest
