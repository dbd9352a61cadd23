"""Export plans: what a sorted copy of a folder would contain, as data, before anything is written.

A plan is a list of :class:`Operation` (one source file to one target path) plus the
ordering table. Plans are pure: making one reads nothing but the target folder's listing,
so the CLI can print it (``--dry-run``) and the GUI can show it for approval. Writing is
:mod:`.apply`'s job.

Rules every plan obeys, checked by a property test:
- no two operations share a target, and no target already exists when the plan is made;
- no target lies inside the source folder, whose files are never written.
"""

from __future__ import annotations

import csv
import io
import json
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pathvalidate import sanitize_filename

from ..storage.annotations import EMPTY, Annotation
from ..analysis.identity import NOISE, cluster_number, folder_names, identify

MAX_NAME_BYTES = 240  # under the 255-byte limit of common file systems, leaving room for suffixes


@dataclass(frozen=True)
class ExportChoice:
    """One arrangement (``--plan``) or way of placing files (``--mode``), as the CLI and the export dialog offer it."""

    name: str
    label: str
    description: str


#: The arrangements, in the order the export dialog lists them; :mod:`.export_flow` plans each.
PLAN_KINDS = {kind.name: kind for kind in (
    ExportChoice("sorted", "Sorted", "One folder; files renamed 0001_…, 0002_… so any file browser shows the order."),
    ExportChoice("clusters", "By cluster", "One subfolder per cluster, numbered and named as the Clusters tab shows them."),
    ExportChoice("grid", "Grid", "Files in the grid's reading order, with a contact sheet of the grid."),
)}
PLANS = tuple(PLAN_KINDS)


#: The ways to place files, in the order the export dialog lists them; :mod:`.apply` carries each out.
MODE_KINDS = {kind.name: kind for kind in (
    ExportChoice("copy", "Copy", "The originals stay where they are; the export is a full copy."),
    ExportChoice("link", "Hard link", "No extra disk space; falls back to copying across drives."),
    ExportChoice("move", "Move", "The originals leave the library folder; the move is journalled and can be undone."),
)}
MODES = tuple(MODE_KINDS)


#: The ordering table's columns, in order.
TABLE_COLUMNS = ("rank", "original_path", "new_path", "cluster", "x", "y", "tags", "rating", "label")


class PlanError(ValueError):
    """The export cannot be planned as asked (for example, a target inside the source)."""


@dataclass(frozen=True)
class Operation:
    source: Path
    target: Path
    rank: int
    #: The image's cluster label (-1: unclustered), None when the plan has no clusters.
    cluster: int | None = None
    #: Content hash of the source, when known, so applying and undoing can verify files.
    hash: str = ""


@dataclass
class ExportPlan:
    kind: str
    source_folder: Path
    out_dir: Path
    operations: list[Operation]
    #: Per operation: grid cell or map coordinates for the ordering table.
    positions: list[tuple[float, float] | None] = field(default_factory=list)
    #: Per operation: the source image's tags, rating and colour label, when known.
    annotations: list[Annotation] = field(default_factory=list)

    def describe(self) -> str:
        """A dry-run listing a person can read: one line per file."""
        lines = [f"{self.kind} export of {len(self.operations)} files from {self.source_folder} to {self.out_dir}"]
        lines += [f"  {op.source} -> {op.target}" for op in self.operations]
        return "\n".join(lines)

    def table(self) -> list[dict]:
        """The ordering: rank, original path, new path, cluster (its number, as the app shows it; empty
        for an unclustered image), x, y, tags, rating, label."""
        rows = []
        for i, op in enumerate(self.operations):
            x, y = (self.positions[i] if i < len(self.positions) and self.positions[i] else (None, None))
            number = None if op.cluster is None else cluster_number(op.cluster)
            note = self.annotations[i] if i < len(self.annotations) else EMPTY
            rows.append({"rank": op.rank, "original_path": str(op.source), "new_path": str(op.target),
                         "cluster": number, "x": x, "y": y, "tags": list(note.tags), "rating": note.rating,
                         "label": "" if note.label == "none" else note.label})
        return rows

    def table_csv(self) -> str:
        """The table as CSV; an image's tags are one cell, joined by "; " (a tag may hold a comma)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, TABLE_COLUMNS)
        writer.writeheader()
        writer.writerows({k: "; ".join(v) if k == "tags" else ("" if v is None else v) for k, v in row.items()}
                         for row in self.table())
        return buffer.getvalue()

    def table_json(self) -> str:
        return json.dumps(self.table(), indent=2, ensure_ascii=False)


def safe_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """A file name every common file system accepts, kept as close to ``name`` as possible.

    Control characters (newlines included) and characters Windows forbids become ``_``,
    and a name Windows reserves (``CON``, ``nul.png``) gets a ``_``, by pathvalidate; the
    name is NFC-normalised (macOS stores NFD, and the two must not count as different
    names) and shortened to ``limit`` UTF-8 bytes, keeping its extension.
    """
    # Stripped first, so the byte budget goes to the name's content, and shortened before
    # pathvalidate, whose own shortening would drop the extension; its replacements keep
    # the length, as each forbidden character is one byte and becomes one.
    name = unicodedata.normalize("NFC", name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 10:
        stem, suffix = name, ""
    suffix = f".{suffix}" if suffix else ""
    budget = limit - len(suffix.encode("utf-8"))
    stem = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return sanitize_filename(stem + suffix, replacement_text="_", platform="universal") or "_"


class _TargetNames:
    """Hands out target paths that neither exist on disk nor were handed out before."""

    def __init__(self):
        self._taken: set[str] = set()

    def claim(self, folder: Path, name: str) -> Path:
        stem, suffix = os.path.splitext(name)
        candidate, n = name, 1
        while True:
            key = unicodedata.normalize("NFC", str(folder / candidate)).casefold()
            # casefold: two names differing only in case collide on macOS and Windows.
            if key not in self._taken and not os.path.lexists(folder / candidate):
                self._taken.add(key)
                return folder / candidate
            n += 1
            # The stem gives up room for " (n)", so a name already at the length limit
            # still changes (rather than losing its counter to truncation).
            marker = f" ({n})"
            room = MAX_NAME_BYTES - len(marker.encode("utf-8")) - len(suffix.encode("utf-8"))
            candidate = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore") + marker + suffix


def check_folders(source_folder: Path, out_dir: Path) -> tuple[Path, Path]:
    """Both folders resolved; raises :class:`PlanError` when ``out_dir`` is or lies inside ``source_folder``."""
    source_folder, out_dir = Path(source_folder).resolve(), Path(out_dir).resolve()
    if out_dir == source_folder or source_folder in out_dir.parents:
        raise PlanError(f"the export folder {out_dir} lies inside the source folder {source_folder}; "
                        "choose a folder outside it, so the originals stay untouched")
    return source_folder, out_dir


def _width(count: int) -> int:
    return max(4, len(str(count)))


def plan_sorted(paths: list[Path], order: list[int], source_folder: Path, out_dir: Path,
                hashes: list[str] | None = None, labels: list[int] | None = None,
                positions: list[tuple[float, float]] | None = None) -> ExportPlan:
    """Copies renamed ``0001_name.jpg`` in ``order``, so every file browser keeps the order."""
    source_folder, out_dir = check_folders(source_folder, out_dir)
    names, width = _TargetNames(), _width(len(order))
    operations = []
    for rank, i in enumerate(order, start=1):
        target = names.claim(out_dir, safe_name(f"{rank:0{width}d}_{Path(paths[i]).name}"))
        operations.append(Operation(Path(paths[i]), target, rank, _label(labels, i), _hash(hashes, i)))
    return ExportPlan("sorted", source_folder, out_dir, operations, _positions(positions, order))


def plan_clusters(paths: list[Path], order: list[int], labels: list[int], source_folder: Path, out_dir: Path,
                  hashes: list[str] | None = None, positions: list[tuple[float, float]] | None = None,
                  names: dict[int, str] | None = None) -> ExportPlan:
    """One subfolder per cluster, filled in ``order``, named as the grid names the cluster: ``03_Cluster 3``,
    or ``03_Stripes`` once the user named it so in ``names`` (by label); the unclustered images (-1) go to
    ``Unclustered`` or the name the user gave them. See :mod:`organizer.analysis.identity`.
    """
    source_folder, out_dir = check_folders(source_folder, out_dir)
    targets = _TargetNames()
    # Unclustered last, so a cluster the user named "Unclustered" keeps the plain name.
    present = sorted({int(label) for label in labels} - {NOISE}) + [NOISE]
    folders = {label: targets.claim(out_dir, name) for label, name in cluster_folders(present, names or {}).items()}
    ranks: dict[int, int] = {}
    width = _width(len(order))
    operations = []
    for overall, i in enumerate(order, start=1):
        label = labels[i] if labels[i] >= 0 else NOISE
        ranks[label] = ranks.get(label, 0) + 1
        target = targets.claim(folders[label], safe_name(f"{ranks[label]:0{width}d}_{Path(paths[i]).name}"))
        operations.append(Operation(Path(paths[i]), target, overall, int(labels[i]), _hash(hashes, i)))
    return ExportPlan("clusters", source_folder, out_dir, operations, _positions(positions, order))


def cluster_folders(labels: list[int], names: dict[int, str]) -> dict[int, str]:
    """The export folder of each of ``labels`` (-1 for the unclustered images), named by ``names`` where the
    user named it, as :func:`plan_clusters` names them in an empty target folder."""
    return {label: safe_name(name, 120)
            for label, name in folder_names(identify(label, names) for label in labels).items()}


def _label(labels, i):
    return None if labels is None else int(labels[i])


def _hash(hashes, i) -> str:
    return "" if hashes is None else hashes[i]


def _positions(positions, order):
    return [] if positions is None else [tuple(map(float, positions[i])) for i in order]


def plan_grid(paths: list[Path], grid: list[int], cols: int, source_folder: Path, out_dir: Path,
              hashes: list[str] | None = None, labels: list[int] | None = None) -> ExportPlan:
    """Copies in the grid's reading order; each row of the table carries its cell (x = column, y = row)."""
    cells = [(cell, i) for cell, i in enumerate(grid) if i >= 0]
    order = [i for _, i in cells]
    cell_of = {i: (float(cell % cols), float(cell // cols)) for cell, i in cells}
    plan = plan_sorted(paths, order, source_folder, out_dir, hashes, labels)
    plan.kind = "grid"
    plan.positions = [cell_of[i] for i in order]
    return plan
