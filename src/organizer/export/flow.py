"""From an opened library to files on disk: the one way the CLI and the GUI export.

:func:`build_plan` computes the order an export needs (a seriation, the clusters or the
grid) and turns it into an :class:`~.export.ExportPlan`; :func:`run_export` writes it and,
for a grid, the contact sheet beside it. Both take ``progress`` and ``should_stop`` so a
GUI worker can show and cancel them. The journal helpers answer what a target folder
holds: an interrupted export to resume, or a move that can still be undone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..analysis.cluster import ClusterSpec, cluster
from ..arrange import grid as grid_mod
from ..arrange import order as order_mod
from ..arrange.sheet import CELL, MAX_SHEET_PIXELS, fit_cell, render_sheet
from ..embedding.library import Library
from ..io.files import MAX_FILE_BYTES
from ..io.transfer import write_new_file
from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from ..storage.annotations import Annotation
from .apply import ApplyReport, UndoReport, apply_plan
from .journal import ExportError, journals_newest_first, read_journal_header, unfinished_journal
from .plan import PLANS, ExportPlan, PlanError, check_folders, plan_clusters, plan_grid, plan_sorted

CONTACT_SHEET = "contact_sheet.png"
#: Enough of a journal's end to hold its last records, which say whether it was undone.
_TAIL_BYTES = 4096


@dataclass
class PreparedExport:
    """A plan ready to apply, with what the grid's contact sheet needs."""

    plan: ExportPlan
    #: The library's paths: ``grid`` holds indices into them.
    paths: list[Path]
    grid: list[int] | None = None
    cols: int | None = None

    @property
    def folder_count(self) -> int:
        """How many folders the export fills (the target itself counts as one)."""
        return len({op.target.parent for op in self.plan.operations})


@dataclass(frozen=True)
class ExportSource:
    """What an export is planned from, the same for the app's dialog and ``organizer export``: the library,
    its clusters as shown (``labels`` and the user's ``names``; None: none yet) and each image's tags, rating
    and colour label. A snapshot, so edits made while a plan is built do not change it."""

    library: Library
    labels: np.ndarray | None = None
    names: dict[int, str] = field(default_factory=dict)
    annotations: tuple[Annotation, ...] | None = None

    def plan(self, kind: str, out_dir: Path, cols: int | None = None, order: list[int] | None = None, *,
             subset: Sequence[int] | None = None, progress: ProgressFn = no_progress,
             should_stop: StopFn = never_stop) -> PreparedExport:
        """:func:`build_plan` of this source, its annotations in the ordering table."""
        return build_plan(kind, self.library, out_dir, self.labels, self.names, cols, order, subset=subset,
                          annotations=self.annotations, progress=progress, should_stop=should_stop)


def build_plan(kind: str, library: Library, out_dir: Path, labels: np.ndarray | None = None,
               names: dict[int, str] | None = None, cols: int | None = None, order: list[int] | None = None, *,
               subset: Sequence[int] | None = None, annotations: Sequence[Annotation] | None = None,
               progress: ProgressFn = no_progress, should_stop: StopFn = never_stop) -> PreparedExport:
    """Plan a ``kind`` export (sorted, clusters or grid) of ``library`` into ``out_dir``.

    sorted: a similarity order, or cluster by cluster when ``labels`` are given, so each
    cluster stays together. clusters: a folder per cluster of ``labels`` (clustered here
    with the default method when None), numbered and named as the app shows it, by ``names``
    where the user named it.
    grid: the images sorted on a grid of ``cols`` columns (near square when None).
    ``order`` replaces the computed order of sorted and clusters (the CLI's ``--by``).
    ``subset`` limits the export to those images (a filter's), ordered among themselves;
    ``annotations`` (one per image) fill the ordering table's tags, rating and label.

    Raises
    ------
    PlanError
        ``out_dir`` lies inside the source folder, or there is nothing to export.
    Cancelled
        When ``should_stop()`` turns true.
    """
    if kind not in PLANS:
        raise ValueError(f"unknown plan {kind!r}; choose one of {', '.join(PLANS)}")
    if labels is not None and len(labels) != len(library):
        raise ValueError(f"{len(labels)} labels for {len(library)} images")
    if subset is not None:
        if not len(subset):
            raise PlanError("no image matches the filter: there is nothing to export")
        library, labels, order, annotations = _restrict(library, list(subset), labels, order, annotations)
    prepared = _build(kind, library, out_dir, labels, names, cols, order, progress, should_stop)
    if annotations is not None:
        index = {path: i for i, path in enumerate(library.paths)}
        prepared.plan.annotations = [annotations[index[op.source]] for op in prepared.plan.operations]
    return prepared


def _restrict(library: Library, subset: list[int], labels: np.ndarray | None, order: list[int] | None,
              annotations: Sequence[Annotation] | None):
    """``library`` and what goes with it, down to the images in ``subset``, re-indexed from 0."""
    new_index = {old: new for new, old in enumerate(subset)}
    small = replace(library, paths=[library.paths[i] for i in subset], hashes=[library.hashes[i] for i in subset],
                    vectors=library.vectors[subset], failures=[], report=None)
    return (small, None if labels is None else np.asarray(labels)[subset],
            None if order is None else [new_index[i] for i in order if i in new_index],
            None if annotations is None else [annotations[i] for i in subset])


def _build(kind: str, library: Library, out_dir: Path, labels: np.ndarray | None, names: dict[int, str] | None,
           cols: int | None, order: list[int] | None, progress: ProgressFn, should_stop: StopFn) -> PreparedExport:
    if not len(library):
        raise PlanError(f"{library.folder} holds no images to export")
    check_folders(library.folder, out_dir)  # before the ordering, which can take a minute
    vectors = library.vectors
    if kind == "grid":
        rows, cols = grid_mod.grid_shape(len(vectors), cols)
        grid = [int(i) for i in grid_mod.grid_sort(vectors, rows, cols, progress=progress, should_stop=should_stop)]
        plan = plan_grid(library.paths, grid, cols, library.folder, out_dir, library.hashes, _as_list(labels))
        return PreparedExport(plan, list(library.paths), grid, cols)
    if kind == "clusters" and labels is None:
        labels = cluster(vectors, ClusterSpec(), progress=progress, should_stop=should_stop).labels
    if order is None:
        order = _default_order(vectors, labels, progress, should_stop)
    if should_stop():
        raise Cancelled()
    if kind == "sorted":
        plan = plan_sorted(library.paths, list(order), library.folder, out_dir, library.hashes, _as_list(labels))
    else:
        plan = plan_clusters(library.paths, list(order), _as_list(labels), library.folder, out_dir, library.hashes,
                             names=names)
    return PreparedExport(plan, list(library.paths))


def _default_order(vectors: np.ndarray, labels: np.ndarray | None, progress: ProgressFn,
                   should_stop: StopFn) -> list[int]:
    if labels is None:
        return order_mod.similarity_order(vectors, progress=progress, should_stop=should_stop).tolist()
    return order_mod.cluster_order(vectors, labels).tolist()


def _as_list(labels: np.ndarray | None) -> list[int] | None:
    return None if labels is None else [int(label) for label in labels]


def run_export(prepared: PreparedExport, mode: str = "copy", progress: ProgressFn = no_progress,
               should_stop: StopFn = never_stop, max_file_bytes: int = MAX_FILE_BYTES) -> ApplyReport:
    """Apply the plan in ``mode``; a grid export also gets its contact sheet (files over ``max_file_bytes``
    are red cells there).

    Raises what :func:`.apply.apply_plan` raises (``ExportError``, ``Cancelled``).
    """
    report = apply_plan(prepared.plan, mode, progress=progress, should_stop=should_stop)
    if prepared.grid is not None and prepared.cols:
        _draw_sheet(prepared, report, progress, max_file_bytes)
    return report


def _draw_sheet(prepared: PreparedExport, report: ApplyReport, progress: ProgressFn, max_file_bytes: int) -> None:
    """The grid's contact sheet beside the files, with cells shrunk to keep it within the sheet limit.

    Drawn from the exported files: after a move the originals are gone. Not cancellable:
    the files are written by now, and the sheet completes the export.
    """
    cells, cols = len(prepared.grid), prepared.cols
    cell = fit_cell(cells, cols, names=True)
    limit = f"{MAX_SHEET_PIXELS / 1e6:.0f} megapixels"
    if cell is None:
        report.notes.append(f"no contact sheet: {cells} cells do not fit one sheet of at most {limit}")
        return
    if cell < CELL:
        report.notes.append(f"contact sheet drawn with {cell} px cells instead of {CELL} px, to stay within {limit}")
    plan = prepared.plan
    exported = {op.source: op.target for op in plan.operations}
    sheet = render_sheet([exported.get(p, p) for p in prepared.paths], prepared.grid, cols, cell=cell, names=True,
                         progress=lambda done, total, note="": progress(done, total, "contact sheet"),
                         max_file_bytes=max_file_bytes)
    write_new_file(plan.out_dir, CONTACT_SHEET, sheet)


def apply_summary(report: ApplyReport) -> tuple[str, list[str]]:
    """What an export did, for people: a headline, then a line per file that needs a look."""
    headline = (f"{report.done} files written, {report.already_there} already there, {len(report.failed)} failed; "
                f"journal: {report.journal}")
    details = list(report.notes)
    details += [_refused_note(report.attributes_refused)] if report.attributes_refused else []
    details += [f"failed: {source}: {reason}" for source, reason in report.failed]
    details += [f"copied instead of linked (different file system): {source}" for source in report.copied_instead]
    return headline, details


def _refused_note(refused: list[tuple[Path, frozenset[str]]]) -> str:
    """One line for every file whose permissions or times the target refused, not one per file."""
    attributes = " or ".join(sorted(set().union(*(names for _, names in refused))))
    return (f"kept the content but not the {attributes} of {len(refused)} files "
            f"(the target file system refuses them)")


def undo_summary(report: UndoReport) -> tuple[str, list[str]]:
    """What an undo did, for people: a headline, then a line per file it left alone."""
    headline = (f"{report.restored} files moved back, {report.removed_copies} export copies removed, "
                f"{len(report.problems)} left alone")
    return headline, [f"{path}: {reason}" for path, reason in report.problems]


# journals ------------------------------------------------------------------------------------
def pending_journal(out_dir: Path, source_folder: Path, kind: str, mode: str) -> Path | None:
    """The journal of an interrupted export of the same folder, plan and mode into
    ``out_dir``, to resume rather than start a second export beside it.

    Raises
    ------
    PlanError
        ``out_dir`` holds a different unfinished export, which must be finished or undone
        first: exporting over it would mix two half exports.
    """
    pending = unfinished_journal(out_dir)
    if pending is None:
        return None
    journal, header = pending
    if (Path(header["source_folder"]) == Path(source_folder).resolve() and header["mode"] == mode
            and header["kind"] == kind):
        return journal
    raise PlanError(f"{out_dir} holds an unfinished {header['mode']} export of {header['source_folder']} "
                    f"({journal}). Run that export again to finish it, or `organizer undo {journal}`.")


def latest_move_journal(out_dir: Path) -> Path | None:
    """The newest journal in ``out_dir`` of a move export not yet undone, finished or not.

    Reads each journal's first line and its end only, so a check costs little even for a
    folder of 100,000 moved files.
    """
    for journal in journals_newest_first(out_dir):
        try:
            if read_journal_header(journal).get("mode") == "move" and not _was_undone(journal):
                return journal
        except (OSError, ExportError):
            continue  # unreadable or damaged: undo would refuse it too
    return None


def _was_undone(journal: Path) -> bool:
    with open(journal, "rb") as handle:
        handle.seek(max(0, journal.stat().st_size - _TAIL_BYTES))
        tail = handle.read()
    # Undo appends its record last. The tail's first line may be cut by the seek and its
    # last by a kill: neither parses as a record.
    for line in tail.split(b"\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("undone"):
            return True
    return False
