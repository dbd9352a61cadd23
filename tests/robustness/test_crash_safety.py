"""Crash safety and concurrency of the scan: SIGKILL at random points, two writers at once."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from organizer.embedding import make_spec
from organizer.embedding.embed import embed_folder
from organizer.storage.cache import Cache

SPEC = make_spec(mode="colour")
IMAGES = 60

# A scan whose embedder is slowed down, so a kill lands in the middle of the work.
_SLOW_SCAN = """
import sys, time
from pathlib import Path
from organizer.embedding.embed import embed_folder
from organizer.embedding import make_spec
from organizer.embedding.colour import ColourEmbedder
from organizer.storage.cache import Cache

class Slow(ColourEmbedder):
    def embed(self, views, owners, n):
        time.sleep(0.08)
        return super().embed(views, owners, n)

with Cache(Path(sys.argv[2])) as cache:
    report = embed_folder(Path(sys.argv[1]), make_spec(mode="colour"), cache,
                          make_embedder=lambda: Slow("colour"), batch_size=3, workers=2)
print(len(report.paths))
"""


@pytest.fixture
def folder(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    root = tmp_path / "lib"
    root.mkdir()
    for i in range(IMAGES):
        Image.fromarray(rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)).save(root / f"{i:03d}.png")
    return root


def _embedding_started(db: Path) -> bool:
    if not db.exists():
        return False
    try:
        conn = sqlite3.connect(db, timeout=0.1)
        try:
            return conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] > 0
        finally:
            conn.close()
    except sqlite3.Error:
        return False  # still being created


def _check_database(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT hash) FROM embeddings").fetchone()
        assert rows == distinct  # no embedding stored twice
        files = conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        return rows, files
    finally:
        conn.close()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_scan_killed_at_a_random_point_resumes_without_loss(folder, tmp_path, seed):
    db = tmp_path / "cache.sqlite"
    child = subprocess.Popen([sys.executable, "-c", _SLOW_SCAN, str(folder), str(db)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not _embedding_started(db) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    time.sleep(random.Random(seed).uniform(0.0, 0.8))  # 20 batches of 80 ms: somewhere in the middle
    child.send_signal(signal.SIGKILL)
    child.wait()
    saved, files = _check_database(db) if db.exists() else (0, 0)
    assert saved == files and saved < IMAGES, "the kill should land before the scan ends"
    with Cache(db) as cache:
        report = embed_folder(folder, SPEC, cache, workers=2)
    assert report.embedded == IMAGES - saved and len(report.paths) == IMAGES and not report.failures
    assert _check_database(db) == (IMAGES, IMAGES)


def test_two_scans_of_one_folder_at_once_share_the_cache_safely(folder, tmp_path):
    db = tmp_path / "cache.sqlite"
    children = [subprocess.Popen([sys.executable, "-c", _SLOW_SCAN, str(folder), str(db)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], [err for _, err in outputs]
    assert [out.strip() for out, _ in outputs] == [str(IMAGES)] * 2
    assert _check_database(db) == (IMAGES, IMAGES)


def test_many_connections_opening_a_new_cache_at_once_all_succeed(tmp_path):
    # Switching a new file to WAL skips SQLite's busy handler, so without a retry some of
    # these fail at once with "database is locked" (the schema row raced, too).
    for trial in range(20):
        db = tmp_path / f"cache{trial}.sqlite"
        start = threading.Barrier(4)
        errors: list[Exception] = []

        def open_and_write(i: int) -> None:
            start.wait()
            try:
                with Cache(db) as cache, cache.transaction():
                    cache.put_files([(f"{i}.png", 1, 1, f"hash{i}")])
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=open_and_write, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with Cache(db) as cache:
            assert len(cache.known_files()) == 4
