"""The clustering tree, drawn sideways with a thumbnail per leaf and a cut line to drag.

Leaves run down the left edge (a horizontal axis would overlap their labels) and merge
heights grow to the right. Each leaf shows the image that stands for it (its members'
medoid) beside its size; the first leaf of each cluster is labelled with the cluster's name,
as the grid heads it. Links are drawn with one line item per cluster colour, not one per
link, so a redraw costs a handful of items whatever the tree's size.

The cut line stands where the tree is cut now. Dragged and let go, it snaps to the middle
of the gap between two merge heights and asks for a cut into the groups it crosses
(``cut_requested``); the owner makes the cut an edit and moves the line with
:meth:`DendrogramView.set_groups`, after a change of the grid's groups control or an undo too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from ...analysis.dendrogram import MIXED, Dendrogram
from ...analysis.identity import ClusterIdentity, identity_in
from ..palette import tone_colour
from ..thumbnails import ThumbnailLoader

MESSAGE = "The dendrogram appears for the Automatic and Agglomerative methods, which cluster by a tree"
#: A cluster's name beside its first leaf is cut to this many characters: the axis grows to the longest.
NAME_CHARS = 24
#: The largest a leaf's thumbnail is drawn; smaller where the leaves lie closer on screen.
THUMB = 56
#: Below this side a thumbnail shows nothing recognisable, and is left out.
MIN_THUMB = 12
_GAP = 6


class LeafAxis(pg.AxisItem):
    """The left axis: each leaf's name and size, then its thumbnail, between the text and the tree."""

    def __init__(self, loader: ThumbnailLoader | None):
        super().__init__("left")
        self._loader = loader
        #: (leaf position, path, digest) of each leaf with an image.
        self.leaves: list[tuple[float, Path, str]] = []
        self.setStyle(tickLength=0, tickTextOffset=THUMB + 2 * _GAP)

    def thumb_side(self) -> int:
        """The side thumbnails are drawn at now: the leaves' spacing on screen, up to :data:`THUMB`."""
        view = self.linkedView()
        if view is None or len(self.leaves) < 2:
            return THUMB
        first, second = (self.mapFromScene(view.mapViewToScene(QPointF(0, y))).y() for y, _, _ in self.leaves[:2])
        return int(min(THUMB, abs(second - first) - 2))

    def drawPicture(self, p: QPainter, axisSpec, tickSpecs, textSpecs) -> None:
        super().drawPicture(p, axisSpec, tickSpecs, textSpecs)
        side, view = self.thumb_side(), self.linkedView()
        if self._loader is None or view is None or side < MIN_THUMB:
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        right = self.boundingRect().right() - _GAP
        for y, path, digest in self.leaves:
            centre = self.mapFromScene(view.mapViewToScene(QPointF(0, y))).y()
            target = QRectF(right - (THUMB + side) / 2, centre - side / 2, side, side)
            if not self.boundingRect().contains(target):
                continue
            pixmap = self._loader.pixmap(path, digest)
            if pixmap is not None and not pixmap.isNull():
                p.drawPixmap(target, pixmap, _square(pixmap))

    def refresh(self) -> None:
        """Draw again, with the thumbnails loaded since."""
        self.picture = None
        self.update()


def _square(pixmap: QPixmap) -> QRectF:
    """The middle square of ``pixmap``: a thumbnail is cropped, not squeezed."""
    side = min(pixmap.width(), pixmap.height())
    return QRectF((pixmap.width() - side) / 2, (pixmap.height() - side) / 2, side, side)


class DendrogramView(QWidget):
    #: The cut line was let go where the tree is cut into this many groups.
    cut_requested = Signal(int)

    def __init__(self, thumbnails: ThumbnailLoader | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._dendrogram: Dendrogram | None = None
        self._identities: dict[int, ClusterIdentity] = {}
        self._groups = 0
        self._allowed: tuple[int, int] | None = None
        self._images: tuple[list[Path] | None, list[str] | None] = (None, None)
        self._leaf_digests: set[str] = set()
        self._thumbnails = thumbnails
        self.axis = LeafAxis(thumbnails)
        self.plot = pg.PlotWidget(axisItems={"left": self.axis})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.getViewBox().invertY(True)  # first leaf at the top, like a list
        item.getViewBox().setMouseEnabled(x=True, y=True)
        item.setLabel("bottom", "Merge distance")
        self.cut_line = pg.InfiniteLine(angle=90, movable=True, label="", labelOpts={"position": 0.02})
        self.cut_line.setZValue(10)
        self.cut_line.setToolTip("Drag to set how many groups: the tree is cut where the line crosses it")
        self.cut_line.sigPositionChanged.connect(self._line_moved)
        self.cut_line.sigPositionChangeFinished.connect(self._line_dropped)
        self.message = QLabel(MESSAGE)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self.message)
        self._stack.addWidget(self.plot)
        if thumbnails is not None:
            thumbnails.ready.connect(self._thumbnail_ready)
        self._apply_palette()
        self.set_dendrogram(None)

    def set_dendrogram(self, d: Dendrogram | None, identities: dict[int, ClusterIdentity] | None = None,
                       paths: list[Path] | None = None, hashes: list[str] | None = None, *,
                       cut: tuple[int, tuple[int, int] | None] | None = None) -> None:
        """Draw ``d`` (None: explain when there is one), its clusters named and coloured by ``identities``,
        each leaf with its image (``d.leaf_images`` index ``paths`` and ``hashes``); the cut line at
        ``cut``'s groups and allowed range, as :meth:`set_groups` takes them, or where it was."""
        self._dendrogram, self._identities, self._images = d, dict(identities or {}), (paths, hashes)
        if cut is not None:
            self._groups, self._allowed = cut
        self.plot.clear()
        if d is None or not d.segment_count:
            self.axis.leaves, self._leaf_digests = [], set()
            self.cut_line.setVisible(False)
            self._stack.setCurrentWidget(self.message)
            return
        self._stack.setCurrentWidget(self.plot)
        item = self.plot.getPlotItem()
        neutral = tone_colour(self.palette(), "muted")
        # Each link as its left stem, its bar and its right stem, a stem in the colour of the child it rises
        # from: a cluster that is one leaf under a mixed link is coloured as the others are.
        heights, across = (np.concatenate([c[:, [0, 1]], c[:, [1, 2]], c[:, [2, 3]]]) for c in (d.dcoord, d.icoord))
        labels = np.concatenate([d.stem_colours[:, 0], d.colours, d.stem_colours[:, 1]])
        for label in np.unique(labels):
            rows = labels == label
            colour = neutral if label == MIXED else self._colour(int(label))
            # Uncoloured links above the cut are drawn thinner so the clusters stand out.
            width = 1.4 if label == MIXED else 2.0
            item.addItem(pg.PlotDataItem(heights[rows].ravel(), across[rows].ravel(), connect="pairs",
                                         pen=pg.mkPen(colour, width=width), antialias=True))
        brushes = [pg.mkBrush(neutral if c == MIXED else self._colour(int(c))) for c in d.leaf_colours]
        item.addItem(pg.ScatterPlotItem(np.zeros(len(d.leaf_positions)), d.leaf_positions, size=8,
                                        brush=brushes, pen=pg.mkPen(self.palette().color(QPalette.ColorRole.Base))))
        texts = self._leaf_texts(d)
        self.axis.setTicks([list(zip(d.leaf_positions.tolist(), texts))])
        self._set_leaf_images(d, *self._images, texts)
        spacing = d.leaf_positions[1] - d.leaf_positions[0] if len(d.leaf_positions) > 1 else 10.0
        item.getViewBox().setRange(xRange=(-0.02 * d.height, d.height * 1.06 or 1.0),
                                   yRange=(d.leaf_positions[0] - spacing / 2, d.leaf_positions[-1] + spacing / 2),
                                   padding=0.02)
        self.cut_line.setBounds([0, d.height * 1.05 or 1.0])
        item.addItem(self.cut_line, ignoreBounds=True)
        self.set_groups(self._groups, self._allowed)

    def _set_leaf_images(self, d: Dendrogram, paths: list[Path] | None, hashes: list[str] | None,
                         texts: list[str]) -> None:
        """Give each leaf its image's thumbnail, and the axis the width for the texts and the thumbnails."""
        known = paths is not None and hashes is not None and len(d.leaf_images) == len(d.leaf_positions)
        self.axis.leaves = ([(float(y), paths[i], hashes[i]) for y, i in zip(d.leaf_positions, d.leaf_images)]
                            if known else [])
        self._leaf_digests = {digest for _, _, digest in self.axis.leaves}
        metrics = QFontMetrics(self.axis.style["tickFont"] or self.font())
        thumbs = THUMB + 2 * _GAP if self.axis.leaves else _GAP
        self.axis.setStyle(tickTextOffset=thumbs)
        self.axis.setWidth(max(metrics.horizontalAdvance(t) for t in texts) + thumbs + 2 * _GAP)
        self.axis.refresh()

    def set_groups(self, groups: int, allowed: tuple[int, int] | None) -> None:
        """Stand the cut line where the tree makes ``groups`` groups; hide it when no cut is ``allowed``."""
        self._groups, self._allowed = groups, allowed
        d = self._dendrogram
        visible = d is not None and allowed is not None and groups >= 1
        self.cut_line.setVisible(visible)
        if visible:
            self.cut_line.blockSignals(True)
            self.cut_line.setValue(d.cut_height(groups))
            self.cut_line.blockSignals(False)
            self._label_line(groups)

    def groups(self) -> int:
        """The groups the tree is cut into now, as the owner last said."""
        return self._groups

    def _groups_at_line(self) -> int:
        low, high = self._allowed or (1, 1)
        return int(np.clip(self._dendrogram.groups_at(self.cut_line.value()), low, high))

    def _line_moved(self) -> None:
        if self._dendrogram is not None:
            self._label_line(self._groups_at_line())

    def _line_dropped(self) -> None:
        if self._dendrogram is None or self._allowed is None:
            return
        groups = self._groups_at_line()
        requested = groups != self._groups
        # Snapped back to the gap's middle; a cut that takes moves it again, to the same place.
        self.set_groups(self._groups, self._allowed)
        if requested:
            self.cut_requested.emit(groups)

    def _label_line(self, groups: int) -> None:
        self.cut_line.label.setFormat(f"{groups} group{'s' * (groups != 1)}")

    def dendrogram(self) -> Dendrogram | None:
        return self._dendrogram

    def identity(self, label: int) -> ClusterIdentity:
        return identity_in(self._identities, label)

    def _colour(self, label: int) -> QColor:
        return QColor(self.identity(label).colour)

    def _leaf_texts(self, d: Dendrogram) -> list[str]:
        """Each leaf's size, after the cluster's name on the first leaf of each cluster."""
        texts, previous = [], MIXED
        for label, size in zip(d.leaf_colours.tolist(), d.leaf_text):
            name = self.identity(label).full_name if label != MIXED and label != previous else ""
            name = name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "…"
            texts.append(f"{name}  {size}" if name else size)
            previous = label
        return texts

    def _thumbnail_ready(self, digest: str) -> None:
        if digest in self._leaf_digests:
            self.axis.refresh()

    def clear(self) -> None:
        self.set_dendrogram(None)

    def changeEvent(self, event: QEvent) -> None:
        # Follow a switch between light and dark themes while the app runs.
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
            self.set_dendrogram(self._dendrogram, self._identities, *self._images)
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        palette = self.palette()
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        text, muted = palette.color(QPalette.ColorRole.Text), tone_colour(palette, "muted")
        for name in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(muted))
            axis.setTextPen(pg.mkPen(text))
        highlight = palette.color(QPalette.ColorRole.Highlight)
        self.cut_line.setPen(pg.mkPen(highlight, width=2, style=Qt.PenStyle.DashLine))
        self.cut_line.setHoverPen(pg.mkPen(highlight, width=4))
        self.cut_line.label.setColor(highlight)
        self.message.setStyleSheet(f"color: {muted.name()}; font-size: 13pt;")
