"""Carry out an export plan without ever losing or overwriting a file, and undo it.

- Every write goes to a hidden temporary name in the target folder and is published with
  ``os.link``, which fails instead of replacing an existing file, so a name collision can
  never overwrite anything (even one created after the plan was made).
- A journal (JSON lines) lists every operation, with the source's content hash, before
  the first file is touched, and records each one as it completes. After a crash or
  ``kill -9`` the same export can be re-run (finished files are recognised by hash and
  skipped) or undone.
- ``move`` is opt-in: a file is linked (or copied and verified) to its target before the
  source name is removed, so at every instant at least one complete copy exists.
- A full disk or a read-only target stops the export with :class:`ExportError`; what was
  done stays journalled and consistent.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .export import MODES, ExportPlan
from .tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress

JOURNAL_DIR = ".organizer-journal"
_PART_PREFIX = ".organizer-part-"


class ExportError(RuntimeError):
    """The export stopped; the message says why and what state it left."""


@dataclass
class ApplyReport:
    journal: Path
    done: int = 0
    already_there: int = 0
    #: (source, reason) for items that failed alone (for example, a vanished source).
    failed: list[tuple[Path, str]] = field(default_factory=list)
    #: (source, fallback) where a hardlink was impossible and a copy was made instead.
    copied_instead: list[Path] = field(default_factory=list)


def hash_file(path: Path) -> str:
    """The same content hash as the scan's (blake2b, 20 bytes), read in chunks."""
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _hash_or_blank(path: Path) -> str:
    """A source that cannot be read now is reported when its turn comes, not here."""
    try:
        return hash_file(path)
    except OSError:
        return ""


def _fsync_dir(folder: Path) -> None:
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


def _publish(temp: Path, target: Path) -> None:
    """Give ``temp`` the name ``target`` unless that name exists; never replaces a file."""
    try:
        os.link(temp, target)
    except OSError as exc:
        if exc.errno == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, "target exists", str(target)) from None
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # No hard links here (FAT, some network shares): claim the name exclusively, then
        # replace our own empty placeholder.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        os.close(fd)
        os.replace(temp, target)
        return
    os.unlink(temp)


def _copy_to(source: Path, target: Path) -> None:
    temp = target.parent / f"{_PART_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
    try:
        shutil.copyfile(source, temp)
        shutil.copystat(source, temp)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        _publish(temp, target)
    finally:
        if temp.exists():
            temp.unlink()


class _Journal:
    def __init__(self, path: Path):
        self.path = path
        self._handle = open(path, "a", encoding="utf-8")

    def write(self, record: dict) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


def apply_plan(plan: ExportPlan, mode: str = "copy", *, progress: ProgressFn = no_progress,
               should_stop: StopFn = never_stop) -> ApplyReport:
    """Write ``plan`` to disk in ``mode`` (copy, link or move); see the module notes.

    Raises
    ------
    ExportError
        The target cannot be written (read-only, full disk). Finished items stay journalled.
    Cancelled
        When ``should_stop()`` turns true; checked between files.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    try:
        (plan.out_dir / JOURNAL_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the export folder {plan.out_dir}: {exc.strerror}") from exc
    stamp = time.strftime("%Y%m%d-%H%M%S")
    journal = _Journal(plan.out_dir / JOURNAL_DIR / f"{stamp}-{plan.kind}-{mode}-{os.getpid()}.jsonl")
    hashes = [op.hash or _hash_or_blank(op.source) for op in plan.operations]
    journal.write({"journal": 1, "mode": mode, "kind": plan.kind, "source_folder": str(plan.source_folder),
                   "out_dir": str(plan.out_dir), "created": stamp})
    for i, (op, digest) in enumerate(zip(plan.operations, hashes)):
        journal.write({"op": i, "source": str(op.source), "target": str(op.target), "hash": digest,
                       "rank": op.rank, "cluster": op.cluster,
                       "position": plan.positions[i] if i < len(plan.positions) else None})
    journal.sync()
    return _run(plan, hashes, mode, journal, set(), progress, should_stop)


def _run(plan: ExportPlan, hashes: list[str], mode: str, journal: "_Journal", done_before: set[int],
         progress: ProgressFn, should_stop: StopFn) -> ApplyReport:
    _remove_leftover_parts(plan)
    report = ApplyReport(journal.path, already_there=len(done_before))
    try:
        for i, (op, digest) in enumerate(zip(plan.operations, hashes)):
            if i in done_before:
                continue
            if should_stop():
                raise Cancelled()
            _apply_one(op, digest, mode, report)
            journal.write({"done": i})
            if i % 64 == 63:
                journal.sync()
            progress(i + 1, len(plan.operations), op.target.name)
        for folder in {op.target.parent for op in plan.operations}:
            _fsync_dir(folder)
        _write_tables(plan)
        journal.write({"finished": True})
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT):
            raise ExportError(f"the export stopped: {exc.strerror} ({exc.filename or plan.out_dir}). "
                              f"{report.done} files were written; re-run to finish or undo {journal.path}") from exc
        raise
    finally:
        journal.sync()
        journal.close()
    return report


def _apply_one(op, digest: str, mode: str, report: ApplyReport) -> None:
    if op.target.exists():
        if digest and hash_file(op.target) == digest:
            report.already_there += 1  # finished by an earlier, interrupted run
            if mode == "move" and op.source.exists() and hash_file(op.source) == digest:
                op.source.unlink()
            return
        report.failed.append((op.source, f"{op.target} already exists and holds a different file"))
        return
    if not op.source.exists():
        report.failed.append((op.source, "the source file is gone"))
        return
    op.target.parent.mkdir(parents=True, exist_ok=True)
    if mode == "copy":
        _copy_to(op.source, op.target)
    else:
        try:
            os.link(op.source, op.target)  # the same file under a second name: nothing to verify
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                report.failed.append((op.source, f"{op.target} appeared while exporting"))
                return
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            _copy_to(op.source, op.target)
            if mode == "link":
                report.copied_instead.append(op.source)
            elif digest and hash_file(op.target) != digest:
                op.target.unlink()
                raise ExportError(f"the copy of {op.source} does not match its original; nothing was removed")
        if mode == "move":
            op.source.unlink()
    report.done += 1


def _remove_leftover_parts(plan: ExportPlan) -> None:
    """Temporary files of a killed run: never published, so never anyone's only copy."""
    for folder in {plan.out_dir} | {op.target.parent for op in plan.operations}:
        if folder.is_dir():
            for leftover in folder.glob(f"{_PART_PREFIX}*"):
                leftover.unlink(missing_ok=True)


def _write_tables(plan: ExportPlan) -> None:
    for name, text in (("ordering.csv", plan.table_csv()), ("ordering.json", plan.table_json())):
        target = plan.out_dir / name
        temp = plan.out_dir / f"{_PART_PREFIX}{name}"
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, target)  # our own table: replacing an older one is intended


def _read_journal(journal_path: Path) -> list[dict]:
    records = []
    for line in Path(journal_path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # the last line of a killed run may be cut short; everything before it stands
    if not records or records[0].get("journal") != 1:
        raise ExportError(f"{journal_path} is not an export journal")
    return records


def unfinished_journal(out_dir: Path) -> Path | None:
    """The newest journal in ``out_dir`` whose export never finished, if any."""
    folder = Path(out_dir) / JOURNAL_DIR
    for journal in sorted(folder.glob("*.jsonl"), reverse=True) if folder.is_dir() else []:
        records = _read_journal(journal)
        if not any(r.get("finished") for r in records) and not any(r.get("undone") for r in records):
            return journal
    return None


def resume(journal_path: Path, *, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop) -> ApplyReport:
    """Finish an interrupted export exactly as it was planned, skipping what was done."""
    from .export import Operation

    records = _read_journal(journal_path)
    header = records[0]
    ops = [r for r in records if "op" in r]
    done = {r["done"] for r in records if "done" in r}
    operations = [Operation(Path(r["source"]), Path(r["target"]), r.get("rank", i + 1), r.get("cluster"), r["hash"])
                  for i, r in enumerate(ops)]
    positions = [tuple(r["position"]) if r.get("position") else None for r in ops]
    plan = ExportPlan(header["kind"], Path(header["source_folder"]), Path(header["out_dir"]), operations, positions)
    journal = _Journal(Path(journal_path))
    return _run(plan, [op.hash for op in operations], header["mode"], journal, done, progress, should_stop)


@dataclass
class UndoReport:
    restored: int = 0
    removed_copies: int = 0
    problems: list[tuple[Path, str]] = field(default_factory=list)


def undo(journal_path: Path) -> UndoReport:
    """Reverse the export a journal describes, verifying every file by its hash.

    Moved files go back to their original paths; copies and links are removed. A file whose
    content no longer matches the journal is left alone and reported.
    """
    lines = _read_journal(journal_path)
    mode = lines[0]["mode"]
    report = UndoReport()
    for record in (r for r in lines if "op" in r):
        source, target, digest = Path(record["source"]), Path(record["target"]), record["hash"]
        if not target.exists():
            continue  # never written, or already undone
        if digest and hash_file(target) != digest:
            report.problems.append((target, "changed since the export; left in place"))
            continue
        if mode != "move" or (source.exists() and (not digest or hash_file(source) == digest)):
            target.unlink()  # the original is safe where it always was
            report.removed_copies += 1
            continue
        if source.exists():
            report.problems.append((source, "a different file now has the original name; the export copy is kept"))
            continue
        source.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(target, source)
        except OSError:
            _copy_to(target, source)
        target.unlink()
        report.restored += 1
    with open(journal_path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"undone": True}) + "\n")
    return report
