"""The cluster grid's flat list model: header and image rows, their data roles, and the drag format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QAbstractListModel, QMimeData, QModelIndex, QPersistentModelIndex, Qt, Signal

from ...analysis.edits import ClusterBook
from ...storage.annotations import EMPTY, Annotation
from ..thumbnails import ThumbnailLoader

MIME = "application/x-pattern-organizer-images"
Role = Qt.ItemDataRole
LABEL_ROLE = Role.UserRole + 1  # the row's cluster label
IMAGE_ROLE = Role.UserRole + 2  # the row's image index; -1 on a header
BROKEN_ROLE = Role.UserRole + 3  # True when the image has no thumbnail
ANNOTATION_ROLE = Role.UserRole + 4  # the image's tags, rating and label
IDENTITY_ROLE = Role.UserRole + 5  # the row's cluster's ClusterIdentity: number, name and colour
AnyIndex = QModelIndex | QPersistentModelIndex


class ClusterGridModel(QAbstractListModel):
    """Header and image rows. Drops are reported, never applied: the owner edits the book."""

    move_requested = Signal(list, int)

    def __init__(self, thumbnails: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._annotations: list[Annotation] = []
        self.clear()
        thumbnails.ready.connect(self._thumbnail_ready)

    def clear(self) -> None:
        self.set_data(ClusterBook(np.empty(0, np.int64)), {}, [], [])

    def set_data(self, book: ClusterBook, medoids: dict[int, int], paths: list[Path], hashes: list[str],
                 shown: np.ndarray | None = None) -> None:
        """Rows for ``book``; with ``shown`` (a filter's mask), only its images, and only the clusters holding one."""
        self.beginResetModel()
        labels = np.asarray(book.labels, dtype=np.int64)
        order = np.argsort(labels, kind="stable")  # members in index order within each cluster
        starts = dict(zip(*np.unique(labels[order], return_index=True)))
        pieces, self._header_rows, self._headers = [np.empty(0, np.int64)], {}, {}
        self._identities = book.identities()
        for label in self._identities:
            members = order[starts[label]:starts[label] + book.size(label)]
            count = f"{len(members)} image{'s' * (len(members) != 1)}"
            if shown is not None:
                members = members[shown[members]]
                if not len(members):
                    continue
                count = f"{len(members)} of {count}"
            self._header_rows[label] = sum(map(len, pieces))
            pieces += [np.array([-1]), members]
            self._headers[label] = (f"{self._identities[label].name} · {count}", medoids.get(label, int(members[0])))
        flat = np.concatenate(pieces)
        header_at = np.flatnonzero(flat < 0)
        # Plain lists, not arrays: data() and sizeHint() index them once per painted cell.
        self._rows = flat.tolist()
        self._row_labels = np.repeat(list(self._header_rows), np.diff(np.append(header_at, len(flat)))).tolist()
        self._image_rows = np.full(len(labels), -1, dtype=np.int64)
        self._image_rows[flat[flat >= 0]] = np.flatnonzero(flat >= 0)
        self._labels, self._paths, self._hashes = labels, paths, hashes
        # A loaded thumbnail repaints every row that shows it: duplicates, and medoids in headers.
        self._digest_rows: dict[str, list[int]] = {}
        for row, image in enumerate(self._rows):
            shown = image if image >= 0 else self._headers[self._row_labels[row]][1]
            self._digest_rows.setdefault(hashes[shown], []).append(row)
        self.endResetModel()

    # reading ----------------------------------------------------------------------------
    def set_annotations(self, annotations: list[Annotation], changed: list[int] | None = None) -> None:
        """The images' annotations, drawn on their cells; ``changed`` repaints only those images."""
        self._annotations = annotations
        rows = self.rows_of_images(changed) if changed is not None else np.arange(len(self._rows))
        for row in rows[rows >= 0].tolist():
            self.dataChanged.emit(self.index(row), self.index(row), [ANNOTATION_ROLE])

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def cluster_count(self) -> int:
        return len(self._headers)

    def is_header(self, row: int) -> bool:
        return self._rows[row] < 0

    def image_at(self, row: int) -> int:
        return self._rows[row]

    def label_at(self, row: int) -> int:
        return self._row_labels[row]

    def header_row(self, label: int) -> int:
        return self._header_rows.get(label, -1)

    def rows_of_images(self, images) -> np.ndarray:
        """Rows showing ``images``, ascending; unknown indices are skipped."""
        images = np.asarray(images, dtype=np.int64).reshape(-1)
        images = images[(images >= 0) & (images < len(self._image_rows))]
        return np.unique(self._image_rows[images])

    def images_in_rows(self, rows) -> np.ndarray:
        picked = np.asarray(self._rows, dtype=np.int64)[np.asarray(rows, dtype=np.int64)]
        return np.unique(picked[picked >= 0])

    def data(self, index: AnyIndex, role: int = Role.DisplayRole):
        image, label = self._rows[index.row()], self._row_labels[index.row()]
        shown = image if image >= 0 else self._headers[label][1]
        if role == IMAGE_ROLE:
            return image
        if role == ANNOTATION_ROLE:
            return self._annotations[image] if 0 <= image < len(self._annotations) else EMPTY
        if role == LABEL_ROLE:
            return label
        if role == IDENTITY_ROLE:
            return self._identities[label]
        if role == Role.DecorationRole:
            return self._thumbnails.pixmap(self._paths[shown], self._hashes[shown])
        if role == BROKEN_ROLE:
            return self._thumbnails.is_broken(self._hashes[shown])
        if role == Role.DisplayRole:
            return self._paths[image].name if image >= 0 else self._headers[label][0]
        if role == Role.ToolTipRole:
            return str(self._paths[image]) if image >= 0 else self._headers[label][0]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._rows[index.row()] < 0:
            return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsDropEnabled
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled
                | Qt.ItemFlag.ItemIsDropEnabled)

    # drag and drop ----------------------------------------------------------------------
    def mimeTypes(self) -> list[str]:
        return [MIME]

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        mime.setData(MIME, self.images_in_rows([i.row() for i in indexes]).astype("<i8").tobytes())
        return mime

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,
                        parent: AnyIndex) -> bool:
        return bool(self._movable(data, row, parent)[0])

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: AnyIndex) -> bool:
        images, target = self._movable(data, row, parent)
        if images:
            self.move_requested.emit(images, target)
        return bool(images)

    def _movable(self, data: QMimeData, row: int, parent: AnyIndex) -> tuple[list[int], int]:
        """The dragged images not yet in the cluster under the drop, and that cluster."""
        target_row = parent.row() if parent.isValid() else row
        if not data.hasFormat(MIME) or not 0 <= target_row < len(self._rows):
            return [], 0
        target = self._row_labels[target_row]
        images = np.frombuffer(data.data(MIME).data(), dtype="<i8")
        images = images[(images >= 0) & (images < len(self._labels))]
        return images[self._labels[images] != target].tolist(), target

    def _thumbnail_ready(self, digest: str) -> None:
        for row in self._digest_rows.get(digest, ()):
            self.dataChanged.emit(self.index(row), self.index(row), [Role.DecorationRole])
