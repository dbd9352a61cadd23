"""The agglomerative clustering tree, drawn sideways so every leaf's label stays readable.

Leaves run down the left edge (a horizontal axis would overlap sixty "(123)" labels) and
merge heights grow to the right. The first leaf of each cluster is labelled with the
cluster's name, as the grid heads it. Links are drawn with one line item per cluster colour,
not one per link, so a redraw costs a handful of items whatever the tree's size.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

from ...analysis.dendrogram import MIXED, Dendrogram
from ...analysis.identity import ClusterIdentity, identify
from ..palette import tone_colour

MESSAGE = "The dendrogram appears for agglomerative clustering"
#: A link's polyline p0-p1-p2-p3 as three separate lines, for connect="pairs".
_PAIRS = [0, 1, 1, 2, 2, 3]
#: A cluster's name beside its first leaf is cut to this many characters: the axis grows to the longest.
NAME_CHARS = 24


class DendrogramView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._dendrogram: Dendrogram | None = None
        self._identities: dict[int, ClusterIdentity] = {}
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.getViewBox().invertY(True)  # first leaf at the top, like a list
        item.getViewBox().setMouseEnabled(x=True, y=True)
        item.setLabel("bottom", "Merge distance")
        item.getAxis("left").setStyle(tickLength=0)
        self.message = QLabel(MESSAGE)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self.message)
        self._stack.addWidget(self.plot)
        self._apply_palette()
        self.set_dendrogram(None)

    def set_dendrogram(self, d: Dendrogram | None, identities: dict[int, ClusterIdentity] | None = None) -> None:
        """Draw ``d`` (None: explain when there is one), its clusters named and coloured by ``identities``."""
        self._dendrogram, self._identities = d, dict(identities or {})
        self.plot.clear()
        if d is None or not d.segment_count:
            self._stack.setCurrentWidget(self.message)
            return
        self._stack.setCurrentWidget(self.plot)
        item = self.plot.getPlotItem()
        neutral = tone_colour(self.palette(), "muted")
        for label in np.unique(d.colours):
            rows = d.colours == label
            colour = neutral if label == MIXED else self._colour(int(label))
            # Uncoloured links above the cut are drawn thinner so the clusters stand out.
            width = 1.4 if label == MIXED else 2.0
            item.addItem(pg.PlotDataItem(d.dcoord[rows][:, _PAIRS].ravel(), d.icoord[rows][:, _PAIRS].ravel(),
                                         connect="pairs", pen=pg.mkPen(colour, width=width), antialias=True))
        brushes = [pg.mkBrush(neutral if c == MIXED else self._colour(int(c))) for c in d.leaf_colours]
        item.addItem(pg.ScatterPlotItem(np.zeros(len(d.leaf_positions)), d.leaf_positions, size=8,
                                        brush=brushes, pen=pg.mkPen(self.palette().color(QPalette.ColorRole.Base))))
        item.getAxis("left").setTicks([list(zip(d.leaf_positions.tolist(), self._leaf_texts(d)))])
        spacing = d.leaf_positions[1] - d.leaf_positions[0] if len(d.leaf_positions) > 1 else 10.0
        item.getViewBox().setRange(xRange=(-0.02 * d.height, d.height * 1.03 or 1.0),
                                   yRange=(d.leaf_positions[0] - spacing / 2, d.leaf_positions[-1] + spacing / 2),
                                   padding=0.02)

    def dendrogram(self) -> Dendrogram | None:
        return self._dendrogram

    def identity(self, label: int) -> ClusterIdentity:
        return self._identities.get(label) or identify(label, {})

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

    def clear(self) -> None:
        self.set_dendrogram(None)

    def changeEvent(self, event: QEvent) -> None:
        # Follow a switch between light and dark themes while the app runs.
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
            self.set_dendrogram(self._dendrogram, self._identities)
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        palette = self.palette()
        self.plot.setBackground(palette.color(QPalette.ColorRole.Base))
        text, muted = palette.color(QPalette.ColorRole.Text), tone_colour(palette, "muted")
        for name in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(name)
            axis.setPen(pg.mkPen(muted))
            axis.setTextPen(pg.mkPen(text))
        self.message.setStyleSheet(f"color: {muted.name()}; font-size: 13pt;")
