"""Export journals: reading them back, appending records, and finding the ones a folder holds.

A journal is JSON lines: a header, one record per planned operation, then ``done``,
``failed``, ``finished`` and ``undone`` records as they happen. :mod:`.apply` writes the
header and operations whole before touching a file, and appends through
:class:`JournalWriter`; a kill can only cut the last line short, which every reader here
ignores.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

JOURNAL_DIR = ".organizer-journal"


class ExportError(RuntimeError):
    """The export stopped; the message says why and what state it left."""


def read_journal(journal_path: Path) -> list[dict]:
    """The journal's complete lines; a last line cut short by a kill is ignored.

    Raises
    ------
    ExportError
        The journal is damaged or was never written whole.
    """
    data = Path(journal_path).read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    try:
        records = [json.loads(line) for line in complete.decode("utf-8").splitlines() if line.strip()]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{journal_path} is damaged: {exc}") from None
    _check_header(journal_path, records[0] if records else None)
    if sum("op" in r for r in records) != records[0].get("operations"):
        raise ExportError(f"{journal_path} is incomplete")
    return records


class JournalWriter:
    """Appends records to a journal, first cutting off a line a kill left unfinished.

    Records are fsynced every ``SYNC_EVERY`` and on close: a lost "done" record only means
    a resume re-checks that file by hash, so syncing each one would buy nothing.
    """

    SYNC_EVERY = 64

    def __init__(self, journal_path: Path):
        self._handle = open(journal_path, "r+b")
        data = self._handle.read()
        self._handle.truncate(data.rfind(b"\n") + 1)
        self._handle.seek(0, os.SEEK_END)
        self._pending = 0

    def write(self, record: dict) -> None:
        self._handle.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        self._pending += 1
        if self._pending >= self.SYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._pending = 0

    def close(self) -> None:
        self.sync()
        self._handle.close()


def append_record(journal_path: Path, record: dict) -> None:
    """Append one record and make it durable."""
    writer = JournalWriter(journal_path)
    writer.write(record)
    writer.close()


def read_journal_header(journal_path: Path) -> dict:
    """The journal's first record alone: cheap even for a journal of 100,000 operations.

    Raises
    ------
    ExportError
        The file does not start with an export journal's header.
    """
    with open(journal_path, "rb") as handle:
        line = handle.readline()
    try:
        header = json.loads(line)
    except ValueError as exc:  # bad JSON or bad UTF-8
        raise ExportError(f"{journal_path} is damaged: {exc}") from None
    return _check_header(journal_path, header)


def _check_header(journal_path: Path, header: object) -> dict:
    if not isinstance(header, dict) or header.get("journal") != 1:
        raise ExportError(f"{journal_path} is not an export journal")
    return header


def journals_newest_first(out_dir: Path) -> list[Path]:
    """The journals in ``out_dir``, newest first; none when it has no journal folder (or is missing)."""
    folder = Path(out_dir) / JOURNAL_DIR
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.jsonl"), key=_journal_age, reverse=True)


def _journal_age(journal: Path) -> tuple[str, int]:
    """Sort key: the name's timestamp, then the `` (n)`` counter two exports in one second get.

    Not the plain name: a space sorts before the dot, so ``X (2).jsonl`` would come
    before the older ``X.jsonl``.
    """
    counter = re.search(r" \((\d+)\)\.jsonl$", journal.name)
    return journal.name[:15], int(counter.group(1)) if counter else 1


def unfinished_journal(out_dir: Path) -> tuple[Path, dict] | None:
    """The newest journal in ``out_dir`` whose export neither finished nor was undone, with its header."""
    for journal in journals_newest_first(out_dir):
        try:
            records = read_journal(journal)
        except (ExportError, OSError):
            continue  # a journal that never got written whole describes nothing that happened
        if not any(r.get("finished") or r.get("undone") for r in records):
            return journal, records[0]
    return None
