"""The SQLite cache: the source of truth for work already done on a folder.

Tables
------
files
    One row per image path: size, mtime and content hash. An unchanged size and mtime
    means the stored hash still holds, so a rescan reads no file.
embeddings
    Vectors keyed by (content hash, extractor id). Copies of a file share one row, and a
    renamed file keeps its vector.
failures
    Files that could not be used, with the reason, keyed by path, size and mtime so an
    unchanged bad file is not decoded again on every scan.
layouts
    The latest t-SNE map per (extractor, map parameters), with the hashes it covers, so a
    reopened folder shows its map at once and a few new images are placed into it.
edits
    The user's cluster edits (moves, merges, splits, names) per key, as JSON, so a
    reopened folder shows the clusters as the user left them.
annotations
    Each image's tags (JSON), star rating and colour label, keyed by its path relative to
    the folder, with its content hash so a renamed file keeps them (schema version 2).
meta
    The schema version, and what was chosen for the folder (folder.extractor).
clusterings
    The latest computed clustering per (extractor, cluster spec), with a digest of the image
    hashes it was computed for, so a reopened folder has its clusters without computing them
    again. Added without a new schema version: the schema script creates it in an older file,
    and an older version of the app ignores it.

WAL mode lets a reader (the GUI) and a writer (a scan) work at once, and every batch is
one transaction, so a killed scan loses at most the batch in flight.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, NamedTuple

import numpy as np

from .annotations import Annotation
from .writes import CacheError, Transaction, is_busy

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
#: Versions this code opens and brings up to :data:`SCHEMA_VERSION`: version 2 only added a
#: table, which the schema script creates in an older file.
_UPGRADABLE = (1, 2)
BUSY_TIMEOUT_S = 30.0
#: From this many vectors asked, reading the extractor's whole table beats looking each up (100,000: 0.14 s, 0.63 s).
_READ_ALL_FROM = 5_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS embeddings (
    hash TEXT NOT NULL, extractor TEXT NOT NULL, dtype TEXT NOT NULL, dim INTEGER NOT NULL,
    vector BLOB NOT NULL, PRIMARY KEY (hash, extractor)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS layouts (
    extractor TEXT NOT NULL, params TEXT NOT NULL, hashes TEXT NOT NULL, model BLOB NOT NULL,
    PRIMARY KEY (extractor, params)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS edits (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS annotations (
    path TEXT PRIMARY KEY, hash TEXT NOT NULL, tags TEXT NOT NULL, rating INTEGER NOT NULL, label TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clusterings (
    extractor TEXT NOT NULL, spec TEXT NOT NULL, images TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (extractor, spec)) WITHOUT ROWID;
"""


class FileRecord(NamedTuple):  # not a dataclass: a scan makes one per file, and a tuple is made in half the time
    size: int
    mtime_ns: int
    hash: str


@dataclass(frozen=True)
class Failure:
    path: str
    size: int
    mtime_ns: int
    reason: str


#: Per cache file that passed the integrity check in this process, its inode, size and mtime
#: when this process last checked or closed it. The check reads the whole file (0.3-0.7 s at
#: 100k images) and the GUI opens the cache for many small steps, so only the first open (the
#: scan's, in its worker) checks, and again only a file changed by someone else since.
_verified: dict[str, tuple[int, int, int] | None] = {}
_verified_lock = threading.Lock()


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


class _Damaged(sqlite3.DatabaseError):
    """The file opened, but its content fails our checks."""


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Only a damaged or foreign file is moved aside; a locked, read-only or unreachable
    database is the user's to fix, and renaming it would throw its vectors away."""
    return isinstance(exc, _Damaged) or getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


class Cache:
    """One folder's cache database. Use as a context manager, from one thread."""

    def __init__(self, path: Path, vector_dtype: str = "float16"):
        if vector_dtype not in ("float16", "float32"):
            raise ValueError("vector_dtype must be float16 or float32")
        self.path = Path(path)
        self._key = str(self.path.resolve())
        self.vector_dtype = vector_dtype
        self.path.parent.mkdir(parents=True, exist_ok=True)
        #: Set when a damaged database was moved aside at open; the GUI shows it.
        self.recovered_from: Path | None = None
        try:
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise
                self.recovered_from = self._move_aside(exc)
                self._conn = self._open()
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(f"the cache {self.path} cannot be used: {exc}") from exc

    def _open(self) -> sqlite3.Connection:
        """Connect, retrying while another process is setting up the same new file.

        SQLite skips the busy handler where waiting could deadlock: switching a new file to
        WAL while another connection does the same fails at once with "database is locked".
        Two scans started together on a new folder hit exactly that, so retry until the busy
        timeout rather than fail the scan."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        pause = 0.01
        while True:
            try:
                return self._connect()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            with _verified_lock:
                checked = _verified.get(self._key, False) == _signature(self.path)
            if not checked:
                result = conn.execute("PRAGMA quick_check").fetchone()[0]
                if result != "ok":
                    raise _Damaged(f"integrity check failed: {result}")
            # One write transaction, so a second process setting up the same file waits
            # for the first instead of racing it to the schema-version row. On an error the
            # connection is closed below, which rolls the transaction back.
            conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} INSERT OR IGNORE INTO meta VALUES "
                               f"('schema_version', '{SCHEMA_VERSION}');")
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if int(row[0]) not in _UPGRADABLE:
                raise _Damaged(f"schema version {row[0]} is not {SCHEMA_VERSION}")
            # Only an older file is written to: an open of a current one, as every edit and tag makes, stays a read.
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version' AND value != ?",
                         (str(SCHEMA_VERSION), str(SCHEMA_VERSION)))
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        self._remember_state()
        return conn

    def _move_aside(self, exc: Exception) -> Path:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(self.path) + suffix)
            if part.exists():
                part.replace(Path(str(aside) + suffix))
        log.warning("The cache %s was unreadable (%s); moved it to %s and started a new one.",
                    self.path, exc, aside)
        return aside

    def _remember_state(self) -> None:
        """This process's own writes (and the checkpoint at close) change the file: not a reason to check it again."""
        with _verified_lock:
            _verified[self._key] = _signature(self.path)

    def close(self) -> None:
        self._conn.close()
        self._remember_state()

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self):
        """A context manager for one atomic batch of writes."""
        return Transaction(self._conn, self.path)

    # files -----------------------------------------------------------------------------
    def known_files(self) -> dict[str, FileRecord]:
        rows = self._conn.execute("SELECT path, size, mtime_ns, hash FROM files")
        return {path: FileRecord(size, mtime, digest) for path, size, mtime, digest in rows}

    def put_files(self, rows: Iterable[tuple[str, int, int, str]]) -> None:
        self._conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", rows)

    def forget_files(self, paths: Iterable[str]) -> None:
        self._conn.executemany("DELETE FROM files WHERE path = ?", ((p,) for p in paths))

    # embeddings ------------------------------------------------------------------------
    def embedded_hashes(self, extractor: str) -> set[str]:
        rows = self._conn.execute("SELECT hash FROM embeddings WHERE extractor = ?", (extractor,))
        return {digest for (digest,) in rows}

    def put_embeddings(self, extractor: str, hashes: list[str], vectors: np.ndarray) -> None:
        data = np.ascontiguousarray(vectors, dtype=self.vector_dtype)
        self._conn.executemany(
            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?)",
            ((h, extractor, self.vector_dtype, data.shape[1], row.tobytes()) for h, row in zip(hashes, data)),
        )

    def vectors(self, extractor: str, hashes: list[str]) -> np.ndarray:
        """The float32 vectors for ``hashes``, in that order.

        Raises
        ------
        KeyError
            If a hash has no vector for this extractor.
        """
        wanted = set(hashes)
        row_of: dict[str, int] = {}
        blobs: list[bytes] = []
        dtypes: list[str] = []
        for digest, dtype, blob in self._vector_rows(extractor, wanted):
            if digest in wanted:
                row_of[digest] = len(blobs)
                blobs.append(blob)
                dtypes.append(dtype)
        if len(row_of) < len(wanted):
            raise KeyError(f"{len(wanted) - len(row_of)} vectors missing for {extractor}")
        if not hashes:
            return np.zeros((0, 0), dtype=np.float32)
        # One buffer for all rows: a NumPy array per row cost as much as the query at 100,000.
        if dtypes.count(dtypes[0]) == len(dtypes):
            stored = np.frombuffer(b"".join(blobs), dtype=dtypes[0]).reshape(len(blobs), -1)
        else:  # a cache once written with float32 vectors, then with float16
            stored = np.stack([np.frombuffer(blob, dtype=dtype) for blob, dtype in zip(blobs, dtypes)])
        return stored[[row_of[h] for h in hashes]].astype(np.float32)

    def _vector_rows(self, extractor: str, wanted: set[str]) -> Iterable[tuple[str, str, bytes]]:
        """The rows of ``wanted`` and maybe others: a folder's worth is read as the extractor's whole table."""
        if len(wanted) >= _READ_ALL_FROM:
            return self._conn.execute("SELECT hash, dtype, vector FROM embeddings WHERE extractor = ?", (extractor,))
        pending = list(wanted)
        chunks = [pending[start:start + 900] for start in range(0, len(pending), 900)]  # SQLite's parameter limit
        query = "SELECT hash, dtype, vector FROM embeddings WHERE extractor = ? AND hash IN ({})"
        return (row for chunk in chunks
                for row in self._conn.execute(query.format(",".join("?" * len(chunk))), (extractor, *chunk)))

    def count_embeddings(self, extractor: str) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM embeddings WHERE extractor = ?", (extractor,)).fetchone()[0]

    # layouts ---------------------------------------------------------------------------
    def get_layout(self, extractor: str, params: str) -> tuple[list[str], bytes] | None:
        """The latest map for this extractor and parameters: its image hashes and model bytes."""
        row = self._conn.execute("SELECT hashes, model FROM layouts WHERE extractor = ? AND params = ?",
                                 (extractor, params)).fetchone()
        return (row[0].split(","), row[1]) if row else None

    def put_layout(self, extractor: str, params: str, hashes: list[str], model: bytes) -> None:
        with self.transaction():
            self._conn.execute("INSERT OR REPLACE INTO layouts VALUES (?, ?, ?, ?)",
                               (extractor, params, ",".join(hashes), model))

    # clusterings ------------------------------------------------------------------------
    def get_clustering(self, extractor: str, spec: str) -> tuple[str, bytes] | None:
        """The latest clustering for this extractor and cluster spec: the digest of its images and its bytes."""
        row = self._conn.execute("SELECT images, data FROM clusterings WHERE extractor = ? AND spec = ?",
                                 (extractor, spec)).fetchone()
        return (row[0], row[1]) if row else None

    def put_clustering(self, extractor: str, spec: str, images: str, data: bytes) -> None:
        """Replace the clustering for this extractor and spec, in one transaction: a reader sees the old or the new."""
        with self.transaction():
            self._conn.execute("INSERT OR REPLACE INTO clusterings VALUES (?, ?, ?, ?)", (extractor, spec, images, data))

    # meta (what the cache records about its folder) and edits: one text per key ------------
    def _text(self, table: str, key: str) -> str | None:
        row = self._conn.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _put_text(self, table: str, key: str, value: str) -> None:
        with self.transaction():
            self._conn.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        return self._text("meta", key)

    def put_meta(self, key: str, value: str) -> None:
        self._put_text("meta", key, value)

    def get_edits(self, key: str) -> str | None:
        return self._text("edits", key)

    def put_edits(self, key: str, value: str) -> None:
        self._put_text("edits", key, value)

    # annotations ------------------------------------------------------------------------
    def annotations(self) -> dict[str, tuple[str, Annotation]]:
        """Every saved annotation: per image path relative to the folder, its content hash and annotation."""
        rows = self._conn.execute("SELECT path, hash, tags, rating, label FROM annotations")
        return {path: (digest, Annotation(tuple(json.loads(tags)), rating, label))
                for path, digest, tags, rating, label in rows}

    def put_annotations(self, rows: Iterable[tuple[str, str, Annotation]]) -> None:
        """Save (path, hash, annotation) rows in one batch; an empty annotation removes its row."""
        with self.transaction():
            for path, digest, note in rows:
                if note.empty:
                    self._conn.execute("DELETE FROM annotations WHERE path = ?", (path,))
                else:
                    self._conn.execute("INSERT OR REPLACE INTO annotations VALUES (?, ?, ?, ?, ?)",
                                       (path, digest, json.dumps(list(note.tags), ensure_ascii=False),
                                        note.rating, note.label))

    # failures --------------------------------------------------------------------------
    def failures(self) -> list[Failure]:
        rows = self._conn.execute("SELECT path, size, mtime_ns, reason FROM failures ORDER BY path")
        return [Failure(*row) for row in rows]

    def put_failures(self, rows: Iterable[tuple[str, int, int, str]]) -> None:
        self._conn.executemany("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)", rows)

    def forget_failures(self, paths: Iterable[str]) -> None:
        self._conn.executemany("DELETE FROM failures WHERE path = ?", ((p,) for p in paths))
