"""The weights' hash names their exported network, so it must follow the file's bytes."""

from __future__ import annotations

import os

from organizer.embedding import exported


def test_the_weights_digest_is_read_once_and_again_after_the_file_changes(tmp_path):
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"first weights")
    first = exported.weights_digest(weights)
    misses = exported._file_digest.cache_info().misses
    assert exported.weights_digest(weights) == first
    assert exported._file_digest.cache_info().misses == misses  # not read again

    # Other bytes of the same length, with the modification time set back as `cp -p` would.
    status = os.stat(weights)
    weights.write_bytes(b"other weights")
    os.utime(weights, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert exported.weights_digest(weights) != first
    assert exported._file_digest.cache_info().misses == misses + 1


def test_threads_asking_at_once_get_the_serial_digest(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    files = [tmp_path / f"weights{i}.pth" for i in range(4)]
    for i, path in enumerate(files):
        path.write_bytes(bytes([i]) * (1 << 20))
    serial = [exported.weights_digest(path) for path in files]
    exported._file_digest.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(exported.weights_digest, files * 8))
    assert concurrent == serial * 8
    assert len(set(serial)) == 4
