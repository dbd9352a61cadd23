"""One parallel pass over a folder's images, computing a value per image.

The equalization levels and the autoencoder's training set both need every image once,
outside the embedding pipeline. Files the cache has already judged (a value stored under
their content hash, or a failure) are not read again, and the pass records what it hashed
and what failed as a scan does; decoding runs in a thread pool, since PIL releases the GIL.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from PIL import Image

from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from ..storage.cache import Cache
from . import images
from .scan import hash_bytes, scan_folder

#: Files per step: a cancel waits for one chunk, not for the folder.
CHUNK = 64


@dataclass
class FolderPass:
    """The usable images in path order, their content hashes, and each computed value.

    A value is ``None`` where the caller's store already had one for that hash.
    """

    paths: list[Path] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    failures: list[tuple[Path, str]] = field(default_factory=list)


def compute_per_image(folder: Path, cache: Cache, compute: Callable[[Image.Image], Any], min_side: int,
                      done_hashes: frozenset[str] = frozenset(), progress: ProgressFn = no_progress,
                      should_stop: StopFn = never_stop, note: str = "",
                      max_file_bytes: int = images.MAX_FILE_BYTES) -> FolderPass:
    """Decode every image of ``folder`` at least ``min_side`` on its short side and ``compute`` on it.

    Images whose recorded hash is in ``done_hashes`` (and whose size and mtime are
    unchanged) are skipped with a value of ``None``; files over ``max_file_bytes`` fail unread.
    """
    scanned = scan_folder(Path(folder), should_stop)
    known = cache.known_files()
    known_failures = {f.path: f for f in cache.failures()}
    result = FolderPass(failures=list(scanned.problems))

    def read(entry) -> tuple[str, Any, str, bool]:
        """(hash, value, failure reason, whether the hash or failure is new to the cache)."""
        stamp = (entry.size, entry.mtime_ns)
        record, failure = known.get(entry.key), known_failures.get(entry.key)
        if failure and (failure.size, failure.mtime_ns) == stamp:
            return "", None, failure.reason, False
        if record and (record.size, record.mtime_ns) == stamp and record.hash in done_hashes:
            return record.hash, None, "", False
        try:
            data = images.read_bytes(entry.path, max_file_bytes)
            digest = hash_bytes(data)
            # A copy or a renamed file: its hash is done, so there is nothing to decode.
            if digest in done_hashes:
                return digest, None, "", True
            return digest, compute(images.decode(data, min_side=min_side)), "", True
        except images.ImageError as exc:
            return "", None, exc.reason, not exc.transient

    total = len(scanned.files)
    with ThreadPoolExecutor(min(4, os.cpu_count() or 1), thread_name_prefix="folder-pass") as pool:
        for start in range(0, total, CHUNK):
            if should_stop():
                raise Cancelled()
            chunk = scanned.files[start:start + CHUNK]
            hashed, failed = [], []
            for entry, (digest, value, error, new) in zip(chunk, pool.map(read, chunk)):
                if error:
                    result.failures.append((entry.path, error))
                    if new:
                        failed.append((entry.key, entry.size, entry.mtime_ns, error))
                    continue
                if new:
                    hashed.append((entry.key, entry.size, entry.mtime_ns, digest))
                result.paths.append(entry.path)
                result.hashes.append(digest)
                result.values.append(value)
            # Recorded as the scan records them, so the next pass (or scan) reads neither again.
            with cache.transaction():
                cache.put_files(hashed)
                cache.forget_failures(path for path, *_ in hashed)
                cache.put_failures(failed)
            progress(min(start + CHUNK, total), total, note)
    return result
