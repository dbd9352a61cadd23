"""The t-SNE map: every image a dot in its cluster's colour, and thumbnails once zoomed in close.

It is drawn for 10,000 points moved ~20 times a second while t-SNE runs: one ScatterPlotItem per cluster with a
shared pen and brush (per-point brushes are ~20x slower), hit-testing by a numpy nearest-point search rather than
pyqtgraph's per-item click handling, and thumbnails only for the at most THUMBNAIL_LIMIT points on screen, drawn
by a reused pool of items. The numpy geometry is in :mod:`.map_geometry`, the mouse routing in :mod:`.map_box`,
the thumbnails, hover preview and filter veil in :mod:`.map_overlays`, a search's marks in :mod:`.search_marks`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainterPath, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem, QVBoxLayout, QWidget

from ...analysis.identity import ClusterIdentity, identity_in
from ..thumbnails import ThumbnailLoader
from .map_box import MapBox
from .map_geometry import as_layout, fit_bounds, nearest_point, placed_rows, points_in_polygon, points_near_view
from .map_overlays import THUMB_PX, Fade, HoverPreview, _Thumb, place_beside
from .search_marks import SearchMarks

THUMBNAIL_LIMIT = 300
DOT_PX = 7
HIT_PX = 6  # how far from a dot's centre a click or hover still counts, in screen pixels
ZOOM_STEP = 1.5
_MODS = Qt.KeyboardModifier


class MapView(QWidget):
    selection_changed = Signal(list)
    context_requested = Signal(int, QPoint)
    activated = Signal(int)
    hovered = Signal(int)

    def __init__(self, thumbnails: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loader = thumbnails
        self._xy = np.zeros((0, 2))
        self._labels = np.zeros(0, dtype=np.int64)
        self._identities: dict[int, ClusterIdentity] = {}
        self._paths: list[Path] = []
        self._hashes: list[str] = []
        self._by_digest: dict[str, list[int]] = {}
        self._selected = np.zeros(0, dtype=bool)
        self._groups: list[np.ndarray] = []  # point indices of each item in self._dots
        self._dots: list[pg.ScatterPlotItem] = []
        self._thumbs: dict[int, _Thumb] = {}
        self._spare_thumbs: list[_Thumb] = []
        self._hover = -1
        self._user_moved = False  # until the user pans or zooms, the view follows the layout
        self._drag_start = QPointF()
        self._lasso: list[QPointF] = []

        self._box = MapBox(self._on_click, self._on_select_drag)
        self._box.disableAutoRange()  # the view is fitted on purpose only, never behind the user's back
        self._view = pg.GraphicsView(self)
        self._view.setCentralItem(self._box)
        self._view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the map, not the scene
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._view)

        self._ring = pg.ScatterPlotItem(pxMode=True, size=DOT_PX + 6, symbol="o", brush=None)
        self._ring.setZValue(5)
        self._band = QGraphicsPathItem()
        self._band.setZValue(20)
        self._band.hide()
        for item in (self._ring, self._band):
            item.setEnabled(False)
            self._box.addItem(item, ignoreBounds=True)
        self.fade = Fade(self._box, DOT_PX, redraw=lambda: self.set_labels(self._labels, self._identities))
        self.marks = SearchMarks(self._box)

        self._preview = HoverPreview(self)

        # Range changes come in bursts while panning; thumbnails follow once per event loop turn.
        self._lod_timer = QTimer(self, singleShot=True, interval=0)
        self._lod_timer.timeout.connect(self._refresh_thumbnails)
        self._box.sigRangeChanged.connect(lambda *_: self._lod_timer.start())
        self._box.sigResized.connect(lambda *_: self._lod_timer.start())
        self._box.sigRangeChangedManually.connect(lambda *_: setattr(self, "_user_moved", True))
        self._view.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._loader.ready.connect(self._on_ready)
        self._apply_palette()

    def set_points(self, layout: np.ndarray, labels: np.ndarray, paths: list[Path], hashes: list[str],
                   identities: dict[int, ClusterIdentity] | None = None) -> None:
        xy = as_layout(layout)
        if not len(labels) == len(paths) == len(hashes) == len(xy):
            raise ValueError("layout, labels, paths and hashes must have one entry per point")
        had_selection = bool(self._selected.any())
        for index in list(self._thumbs):
            self._release_thumb(index)
        self._set_hover(-1)
        self._xy = xy
        self._paths = [Path(p) for p in paths]
        self._hashes = list(hashes)
        self._by_digest = {}
        for index, digest in enumerate(self._hashes):
            self._by_digest.setdefault(digest, []).append(index)
        self._selected = np.zeros(len(xy), dtype=bool)
        self.set_labels(labels, identities)
        self._update_ring()
        self.zoom_to_fit()
        if had_selection:
            self.selection_changed.emit([])

    def update_positions(self, layout: np.ndarray) -> None:
        xy = as_layout(layout)
        if xy.shape != self._xy.shape:
            raise ValueError(f"expected a layout of shape {self._xy.shape}, got {xy.shape}")
        self._xy = xy
        self._place_dots()
        self._update_ring()
        if not self._user_moved:
            self._fit(np.arange(len(xy)))
        self._lod_timer.start()

    def set_labels(self, labels: np.ndarray, identities: dict[int, ClusterIdentity] | None = None) -> None:
        """Colour the points by cluster; ``identities`` (a book's, by label) name them in the hover preview."""
        labels = np.asarray(labels, dtype=np.int64).ravel()
        if len(labels) != len(self._xy):
            raise ValueError(f"expected {len(self._xy)} labels, got {len(labels)}")
        self._labels = labels
        self._identities = dict(identities or {})
        order = np.argsort(labels, kind="stable")
        values, starts = np.unique(labels[order], return_index=True)
        self._groups = np.split(order, starts[1:]) if len(order) else []
        while len(self._dots) < len(values):
            item = pg.ScatterPlotItem(pxMode=True, size=DOT_PX, symbol="o", pen=self._dot_pen)
            item.setEnabled(False)  # hit-testing is ours; pyqtgraph's per-item search is slow at 10k
            self._box.addItem(item, ignoreBounds=True)
            self._dots.append(item)
        for item in self._dots[len(values):]:
            self._box.removeItem(item)
        del self._dots[len(values):]
        for item, label in zip(self._dots, values):
            item.setBrush(QColor(self.identity(int(label)).colour))
            item.setZValue(-1 if label < 0 else 0)  # noise underneath the clusters
        self._place_dots()
        self._style_thumbs()

    def identity(self, label: int) -> ClusterIdentity:
        """``label``'s number, name and colour, as the grid shows them."""
        return identity_in(self._identities, label)

    def clear(self) -> None:
        self.set_points(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), [], [])

    def point_count(self) -> int:
        return len(self._xy)

    def selection(self) -> list[int]:
        return np.flatnonzero(self._selected).tolist()

    def set_selection(self, indices: list[int]) -> None:
        """Select exactly `indices` without emitting selection_changed (no loop with other views)."""
        self._apply_selection(self._mask(indices), emit=False)

    def zoom_in(self) -> None:
        self._zoom_by(1 / ZOOM_STEP)

    def zoom_out(self) -> None:
        self._zoom_by(ZOOM_STEP)

    def _zoom_by(self, factor: float) -> None:
        self._user_moved = True
        self._box.scaleBy(x=factor, y=factor)  # around the centre of the view

    def zoom_to_fit(self) -> None:
        self._user_moved = False
        self._fit(np.arange(len(self._xy)))

    def zoom_to(self, indices: list[int]) -> None:
        chosen = np.flatnonzero(self._mask(indices))
        if len(chosen):
            self._user_moved = True
            self._fit(chosen)

    def shown_thumbnails(self) -> int:
        return sum(thumb.isVisible() for thumb in self._thumbs.values())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        elif key == Qt.Key.Key_0:
            self.zoom_to_fit()
        else:
            super().keyPressEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._set_hover(-1)
        super().leaveEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
        super().changeEvent(event)

    def _mask(self, indices: list[int]) -> np.ndarray:
        mask = np.zeros(len(self._xy), dtype=bool)
        chosen = np.asarray(list(indices), dtype=np.int64)
        mask[chosen[(chosen >= 0) & (chosen < len(mask))]] = True
        return mask

    def _fit(self, indices: np.ndarray) -> None:
        points = placed_rows(self._xy, indices)
        if len(points):
            lo, hi = fit_bounds(points, placed_rows(self._xy))
            self._box.setRange(xRange=(lo[0], hi[0]), yRange=(lo[1], hi[1]), padding=0.06)

    def _apply_palette(self) -> None:
        palette = self.palette()
        self._view.setBackground(palette.color(QPalette.ColorRole.Base))
        highlight = palette.color(QPalette.ColorRole.Highlight)
        self._ring.setPen(pg.mkPen(highlight, width=2.5))
        band = QColor(highlight)
        pen = QPen(band, 1.5)
        pen.setCosmetic(True)  # one screen pixel wide at any zoom
        band.setAlpha(40)
        self._band.setPen(pen)
        self._band.setBrush(band)
        # A hairline in the background colour keeps overlapping dots apart in light and dark themes.
        edge = palette.color(QPalette.ColorRole.Base)
        edge.setAlpha(170)
        self._dot_pen = pg.mkPen(edge, width=1)
        for item in self._dots:
            item.setPen(self._dot_pen)
        self._style_thumbs()

    def _place_dots(self) -> None:
        for item, indices in zip(self._dots, self._groups):
            item.setData(pos=placed_rows(self._xy, indices))
        self.fade.place(self._xy, self.palette().color(QPalette.ColorRole.Base))
        self.marks.place(self._xy)

    def _update_ring(self) -> None:
        self._ring.setData(pos=placed_rows(self._xy, self._selected))

    def _apply_selection(self, mask: np.ndarray, emit: bool) -> None:
        if np.array_equal(mask, self._selected):
            return
        self._selected = mask
        self._update_ring()
        self._style_thumbs()
        if emit:
            self.selection_changed.emit(self.selection())

    def _hit(self, pos: QPointF) -> int:
        """The point nearest `pos` (view coordinates) under the cursor, or -1."""
        shown = [(index, *thumb.half_size()) for index, thumb in self._thumbs.items() if thumb.isVisible()]
        return nearest_point(self._xy, (pos.x(), pos.y()), self._box.viewPixelSize(), HIT_PX, shown)

    def _on_click(self, ev) -> None:
        index = self._hit(self._box.mapSceneToView(ev.scenePos()))
        if ev.button() == Qt.MouseButton.RightButton:
            if index >= 0:
                # As in a file manager, the menu acts on the selection if the point is part of it.
                if not self._selected[index]:
                    self._apply_selection(self._mask([index]), emit=True)
                self.context_requested.emit(index, ev.screenPos().toPoint())
            return
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        if ev.double():
            if index >= 0:
                self.activated.emit(index)
            return
        mods = ev.modifiers()
        mask = self._selected.copy()
        if index < 0:
            if not mods & (_MODS.ControlModifier | _MODS.ShiftModifier):
                mask[:] = False
        elif mods & _MODS.ControlModifier:
            mask[index] = not mask[index]
        elif mods & _MODS.ShiftModifier:
            mask[index] = True
        else:
            mask = self._mask([index])
        self._apply_selection(mask, emit=True)

    def _on_select_drag(self, ev, mode: str) -> None:
        pos = QPointF(self._box.mapSceneToView(ev.scenePos()))
        if ev.isStart():
            self._drag_start = QPointF(self._box.mapSceneToView(ev.buttonDownScenePos()))
            self._lasso = [self._drag_start]
        if mode == "rect":
            start = self._drag_start
            polygon = [start, QPointF(pos.x(), start.y()), pos, QPointF(start.x(), pos.y())]
        else:
            self._lasso.append(pos)
            polygon = self._lasso
        path = QPainterPath()
        path.addPolygon(QPolygonF(polygon))
        path.closeSubpath()
        self._band.setPath(path)
        self._band.setVisible(not ev.isFinish())
        if ev.isFinish():
            corners = np.array([(p.x(), p.y()) for p in polygon])
            self._apply_selection(points_in_polygon(self._xy, corners), emit=True)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        inside = self._box.sceneBoundingRect().contains(scene_pos)
        index = self._hit(self._box.mapSceneToView(scene_pos)) if inside else -1
        self._set_hover(index)
        if index >= 0:
            place_beside(self._preview, self._view.viewport().mapTo(self, self._view.mapFromScene(scene_pos)))

    def _set_hover(self, index: int) -> None:
        if index == self._hover:
            return
        previous = self._thumbs.get(self._hover)
        if previous is not None:
            self._style_thumb(self._hover, previous)
        self._hover = index
        if index < 0:
            self._preview.hide()
        else:
            current = self._thumbs.get(index)
            if current is not None:  # out of the pile, since it is the one a click would pick
                current.setZValue(11)
            self._fill_preview()
        self.hovered.emit(index)

    def _fill_preview(self) -> None:
        index = self._hover
        self._preview.show_point(self._loader.pixmap(self._paths[index], self._hashes[index]), self._paths[index].name,
                                 self.identity(int(self._labels[index])))

    def _on_ready(self, digest: str) -> None:
        for index in self._by_digest.get(digest, ()):
            thumb = self._thumbs.get(index)
            if thumb is not None:
                self._show_thumb(index, thumb)
            if index == self._hover:
                self._fill_preview()

    def _refresh_thumbnails(self) -> None:
        wanted = self._thumbnail_candidates()
        for index in set(self._thumbs).difference(wanted.tolist()):
            self._release_thumb(index)
        for index in wanted.tolist():
            thumb = self._thumbs.get(index)
            if thumb is None:
                if self._spare_thumbs:
                    thumb = self._spare_thumbs.pop()
                else:
                    thumb = _Thumb()
                    self._box.addItem(thumb, ignoreBounds=True)
                self._thumbs[index] = thumb
                self._style_thumb(index, thumb)
                self._show_thumb(index, thumb)
            thumb.setPos(*self._xy[index])

    def _thumbnail_candidates(self) -> np.ndarray:
        """Points whose thumbnail would be at least partly on screen, or none if too many are.

        Besides THUMBNAIL_LIMIT, the thumbnails must fit the viewport's area at least once
        over: a small window would otherwise show a heap of overlapping images, not a map.
        """
        limit = min(THUMBNAIL_LIMIT, int(self._box.width() * self._box.height()) // THUMB_PX ** 2)
        rect = self._box.viewRect()
        return points_near_view(self._xy, (rect.left(), rect.top(), rect.right(), rect.bottom()),
                                self._box.viewPixelSize(), THUMB_PX / 2, limit)

    def _show_thumb(self, index: int, thumb: _Thumb) -> None:
        # Until the loader delivers (or if the image is broken) the dot stands in for it.
        pixmap = self._loader.pixmap(self._paths[index], self._hashes[index])
        if pixmap is not None:
            thumb.set_pixmap(pixmap, self.devicePixelRatioF())
        thumb.setVisible(pixmap is not None)

    def _style_thumbs(self) -> None:
        for index, thumb in self._thumbs.items():
            self._style_thumb(index, thumb)

    def _style_thumb(self, index: int, thumb: _Thumb) -> None:
        thumb.setZValue(10.5 if self._selected[index] else 10)  # selected ones on top of the pile
        thumb.setOpacity(self.fade.opacity(index))
        if self._selected[index]:
            thumb.set_frame(self.palette().color(QPalette.ColorRole.Highlight), 3)
        else:
            thumb.set_frame(QColor(self.identity(int(self._labels[index])).colour), 1.5)

    def _release_thumb(self, index: int) -> None:
        thumb = self._thumbs.pop(index)
        thumb.hide()
        self._spare_thumbs.append(thumb)

