"""Carry out an export plan without ever losing or overwriting a file, and undo it.

- Nothing is ever replaced. Copies go to a hidden temporary name and are published with
  ``os.link``, which fails rather than replacing an existing file; hard links and moves
  use ``os.link`` directly. A name taken after the plan was made is reported, not
  overwritten.
- The journal (JSON lines) lists every operation with the source's content hash. It is
  written whole to a temporary file, fsynced and renamed into place before the first
  file is touched, and each completed operation is appended. After a crash or
  ``kill -9`` the export can be resumed (finished files are recognised by hash) or
  undone.
- ``move`` is opt-in. The new name is created, verified against the journal's hash and
  made durable (directory fsync) before the old name is removed, so a complete copy
  exists at every moment, power cuts included.
- A full disk or a read-only target stops the export with :class:`ExportError`. What was
  done stays journalled. Permissions and times a target file system cannot keep (FAT,
  exFAT) are reported once, not failed per file: the content is what matters.
- A moved symbolic link stays a link to the same file, its text rewritten for its new
  folder; undo puts the original text back.
"""

from __future__ import annotations

import errno
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..io.files import ImageError, open_regular
from ..io.scan import hash_or_blank, holds_content
from ..io.transfer import PART_PREFIX, TARGET_FULL, copy_to, fsync_dir, moved_link_text, write_new_file
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from ..storage.annotations import EMPTY, Annotation
from .journal import JOURNAL_DIR, ExportError, JournalWriter, append_record, read_journal
from .plan import MODES, ExportPlan, Operation


@dataclass
class ApplyReport:
    journal: Path
    done: int = 0
    already_there: int = 0
    #: (source, reason) for items that failed alone (a vanished or changed source, a name taken).
    failed: list[tuple[Path, str]] = field(default_factory=list)
    #: Sources copied because a hard link was impossible (another drive, FAT, exFAT).
    copied_instead: list[Path] = field(default_factory=list)
    #: (target, attributes) for files whose permissions or times the target file system refused.
    attributes_refused: list[tuple[Path, frozenset[str]]] = field(default_factory=list)
    #: What else a person should know, one line each (a contact sheet drawn smaller, or not at all).
    notes: list[str] = field(default_factory=list)


def _source_hashes(plan: ExportPlan, should_stop: StopFn) -> list[str]:
    """Each operation's source hash, hashing those the plan lacks: a long list is stoppable."""
    hashes = []
    for op in plan.operations:
        if not op.hash and should_stop():
            raise Cancelled()
        # A source that cannot be read now is reported when its turn comes, not here.
        hashes.append(op.hash or hash_or_blank(op.source))
    return hashes


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but not ours to signal
    return True


# journal -------------------------------------------------------------------------------------
def _create_journal(plan: ExportPlan, mode: str, hashes: list[str]) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    records = [{"journal": 1, "mode": mode, "kind": plan.kind, "source_folder": str(plan.source_folder),
                "out_dir": str(plan.out_dir), "created": stamp, "operations": len(plan.operations)}]
    for i, (op, digest) in enumerate(zip(plan.operations, hashes)):
        record = {"op": i, "source": str(op.source), "target": str(op.target), "hash": digest,
                  "rank": op.rank, "cluster": op.cluster,
                  "position": plan.positions[i] if i < len(plan.positions) else None}
        if i < len(plan.annotations) and not plan.annotations[i].empty:
            note = plan.annotations[i]
            record["annotation"] = {"tags": list(note.tags), "rating": note.rating, "label": note.label}
        link = _link_text(op.source)
        records.append(record if link is None else {**record, "link": link})
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return write_new_file(plan.out_dir / JOURNAL_DIR, f"{stamp}-{plan.kind}-{mode}.jsonl", text.encode("utf-8"))


def _link_text(path: Path) -> str | None:
    """A symbolic link's own text, which undo needs to put a moved link back exactly; None for a file."""
    try:
        return os.readlink(path)
    except OSError:  # not a link, or gone: its turn reports that
        return None


# apply ---------------------------------------------------------------------------------------
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
    hashes = _source_hashes(plan, should_stop)
    try:
        (plan.out_dir / JOURNAL_DIR).mkdir(parents=True, exist_ok=True)
        journal = _create_journal(plan, mode, hashes)
    except OSError as exc:
        raise ExportError(f"cannot write to the export folder {plan.out_dir}: {exc.strerror}") from exc
    plan = ExportPlan(plan.kind, plan.source_folder, plan.out_dir,
                      [Operation(op.source, op.target, op.rank, op.cluster, h) for op, h in zip(plan.operations, hashes)],
                      plan.positions, plan.annotations)
    return _run(plan, mode, journal, set(), progress, should_stop)


def resume(journal_path: Path, *, progress: ProgressFn = no_progress, should_stop: StopFn = never_stop) -> ApplyReport:
    """Finish an interrupted export exactly as it was planned, skipping what was done."""
    records = read_journal(journal_path)
    header = records[0]
    ops = [r for r in records if "op" in r]
    done = {r["done"] for r in records if "done" in r}
    operations = [Operation(Path(r["source"]), Path(r["target"]), r.get("rank", i + 1), r.get("cluster"), r["hash"])
                  for i, r in enumerate(ops)]
    positions = [tuple(r["position"]) if r.get("position") else None for r in ops]
    # The table written at the end carries the annotations the export was planned with.
    notes = [Annotation(tuple(r["annotation"]["tags"]), r["annotation"]["rating"], r["annotation"]["label"])
             if r.get("annotation") else EMPTY for r in ops]
    plan = ExportPlan(header["kind"], Path(header["source_folder"]), Path(header["out_dir"]), operations, positions,
                      notes)
    return _run(plan, header["mode"], Path(journal_path), done, progress, should_stop)


def _run(plan: ExportPlan, mode: str, journal: Path, done_before: set[int],
         progress: ProgressFn, should_stop: StopFn) -> ApplyReport:
    _remove_leftover_parts(plan)
    report = ApplyReport(journal, already_there=len(done_before))
    writer = JournalWriter(journal)
    try:
        for i, op in enumerate(plan.operations):
            if i in done_before:
                continue
            if should_stop():
                raise Cancelled()
            failures = len(report.failed)
            try:
                _apply_one(op, mode, report)
            except ImageError as exc:  # a source or target that is no regular file, or unreadable
                report.failed.append((op.source, exc.reason))
            writer.write({"done": i} if len(report.failed) == failures else {"failed": i})
            progress(i + 1, len(plan.operations), op.target.name)
        for folder in {op.target.parent for op in plan.operations}:
            fsync_dir(folder)
        _write_tables(plan)
        writer.write({"finished": True})
    except OSError as exc:
        if exc.errno in TARGET_FULL + (errno.EACCES, errno.EPERM):
            raise ExportError(f"the export stopped: {exc.strerror} ({exc.filename or plan.out_dir}). "
                              f"{report.done} files were written; run the same export again to finish it, "
                              f"or `organizer undo {journal}`") from exc
        raise
    finally:
        writer.close()
    return report


def _apply_one(op: Operation, mode: str, report: ApplyReport) -> None:
    if op.target.exists():
        if op.hash and holds_content(op.target, op.hash):
            report.already_there += 1  # finished by an earlier, interrupted run
            if mode == "move" and op.source.exists() and _same_content(op.target, op.source, op.hash):
                fsync_dir(op.target.parent)
                op.source.unlink()
            return
        report.failed.append((op.source, f"{op.target} already exists and holds a different file"))
        return
    if not op.source.exists():
        report.failed.append((op.source, "the source file is gone"))
        return
    try:
        if not os.access(op.source, os.R_OK):
            raise PermissionError(errno.EACCES, "not readable", str(op.source))
        # Before any mode acts: a link would hard-link a named pipe, and a move would carry
        # a link to a device, where only a copy's read would have refused them.
        open_regular(op.source, None).close()
        op.target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "copy":
            refused = copy_to(op.source, op.target)
        elif mode == "move" and op.source.is_symlink():
            refused = _move_link(op.source, op.target)
        else:
            refused = _link_or_copy(op, mode, report)
    except FileExistsError:
        report.failed.append((op.source, f"{op.target} appeared while exporting; left alone"))
        return
    except PermissionError as exc:
        if exc.filename == str(op.source):
            report.failed.append((op.source, "the source file is not readable"))
            return
        raise
    if refused:
        report.attributes_refused.append((op.target, refused))
    if mode == "move":
        if op.hash and not holds_content(op.target, op.hash):
            op.target.unlink()  # the source changed since planning: keep it where it is
            report.failed.append((op.source, "changed since the export was planned; not moved"))
            return
        fsync_dir(op.target.parent)  # the new name is durable before the old one goes
        op.source.unlink()
    report.done += 1


def _link_or_copy(op: Operation, mode: str, report: ApplyReport) -> frozenset[str]:
    """Hard-link the source's file to the target, or copy it where links cannot reach.

    The link goes to the file a symbolic link points at: Linux's link() would link the
    symbolic link itself, whose relative text means another file in another folder.
    """
    try:
        os.link(os.path.realpath(op.source), op.target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno in TARGET_FULL:
            raise
        if mode == "link":
            report.copied_instead.append(op.source)
        return copy_to(op.source, op.target)
    return frozenset()


def _move_link(source: Path, target: Path) -> frozenset[str]:
    """A symbolic link at ``target`` to the file ``source`` points at; a copy where links cannot be made."""
    try:
        os.symlink(moved_link_text(source, target), target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno in TARGET_FULL:
            raise
        return copy_to(source, target)  # no symbolic links there (FAT, exFAT): the file's content goes
    return frozenset()


def _remove_leftover_parts(plan: ExportPlan) -> None:
    """Temporary files of a killed run: never published, so never anyone's only copy.

    Parts of a run that is still alive (another export into the same folder) are kept.
    """
    for folder in {plan.out_dir} | {op.target.parent for op in plan.operations}:
        if not folder.is_dir():
            continue
        for leftover in folder.glob(f"{PART_PREFIX}*"):
            owner = leftover.name[len(PART_PREFIX):].split("-", 1)[0]
            if not (owner.isdigit() and int(owner) != os.getpid() and _pid_alive(int(owner))):
                leftover.unlink(missing_ok=True)


def _write_tables(plan: ExportPlan) -> None:
    write_new_file(plan.out_dir, "ordering.csv", plan.table_csv().encode("utf-8"))
    write_new_file(plan.out_dir, "ordering.json", plan.table_json().encode("utf-8"))


# undo ----------------------------------------------------------------------------------------
@dataclass
class UndoReport:
    restored: int = 0
    removed_copies: int = 0
    problems: list[tuple[Path, str]] = field(default_factory=list)


def _same_content(a: Path, b: Path, digest: str) -> bool:
    if os.path.samefile(a, b):
        return True
    return holds_content(b, digest or hash_or_blank(a))


def undo(journal_path: Path) -> UndoReport:
    """Reverse the export a journal describes, verifying every file by its content.

    Moved files go back to their original paths; copies and links are removed (the
    folders, ordering tables and the journal itself stay). A file whose content no longer
    matches is left alone and reported. If the export folder was moved or renamed since,
    the targets are found relative to the journal's own location.
    """
    journal_path = Path(journal_path)
    records = read_journal(journal_path)
    header = records[0]
    mode = header["mode"]
    out_then, out_now = Path(header["out_dir"]), journal_path.resolve().parent.parent
    report = UndoReport()
    for record in (r for r in records if "op" in r):
        source, target, digest = Path(record["source"]), Path(record["target"]), record["hash"]
        if out_now != out_then and out_then in target.parents:
            target = out_now / target.relative_to(out_then)
        if not target.exists():
            if mode == "move" and not source.exists():
                report.problems.append((source, f"neither the original nor {target} exists"))
            continue
        if digest and not holds_content(target, digest):
            report.problems.append((target, "changed since the export; left in place"))
            continue
        if source.exists():
            if _same_content(target, source, digest):
                target.unlink()  # the original is safe where it always was
                report.removed_copies += 1
            else:
                report.problems.append((source, "a different file now has the original name; the export copy is kept"))
            continue
        if mode != "move":
            report.problems.append((source, "the original is gone; its export copy is kept"))
            continue
        source.parent.mkdir(parents=True, exist_ok=True)
        try:
            _put_back(target, source, record.get("link"), digest)
        except FileExistsError:
            report.problems.append((source, "a file appeared at the original name; the export copy is kept"))
            continue
        fsync_dir(source.parent)
        target.unlink()
        report.restored += 1
    append_record(journal_path, {"undone": True})
    return report


def _put_back(target: Path, source: Path, link: str | None, digest: str) -> None:
    """Give a moved file its original name again: the symbolic link it was, with its text, or its content.

    Raises ``FileExistsError`` when something has taken the original name.
    """
    if link is not None:
        try:
            os.symlink(link, source)
        except FileExistsError:
            raise
        except OSError:
            pass  # no symbolic links here: the content goes back instead
        else:
            if source.exists() and _same_content(target, source, digest):
                return
            source.unlink()  # the link no longer reaches that file: the content goes back instead
    try:
        os.link(os.path.realpath(target), source)
    except FileExistsError:
        raise
    except OSError:
        copy_to(target, source)
