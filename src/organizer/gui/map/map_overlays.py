"""What the map draws over its dots: the thumbnail items, the hovered point's preview frame, the filter's veil,
and the one neutral colour of points not yet clustered."""

from __future__ import annotations

from html import escape
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QFrame, QGraphicsItem, QLabel, QVBoxLayout, QWidget

from ...analysis.identity import NOISE, ClusterIdentity
from ..palette import tone_colour
from .map_geometry import placed_rows

THUMB_PX = 80
PREVIEW_PX = 256
#: Where a running scan's map says when its points take their clusters' colours.
PENDING_NOTE = "Clusters appear when the scan ends"


def pending_colour(palette: QPalette) -> QColor:
    """The one colour of points laid out before their clusters exist: a muted tone of ``palette``.

    Not the unclustered images' grey, nor an earlier clustering's colours: those would say
    something about clusters that no one has computed for these images yet.
    """
    return tone_colour(palette, "muted")


def pending_identities(palette: QPalette) -> dict[int, ClusterIdentity]:
    """The identities for a map of points not clustered yet, all labelled NOISE: :func:`pending_colour`."""
    return {NOISE: ClusterIdentity(NOISE, None, "Not clustered yet", pending_colour(palette).name())}


class _Thumb(QGraphicsItem):
    """A thumbnail at a fixed on-screen size however far the view is zoomed, framed in a colour."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self._pixmap = QPixmap()
        self._rect = QRectF()
        self._pen = QPen()

    def set_pixmap(self, pixmap: QPixmap, dpr: float) -> None:
        # Scaled once here rather than on every paint: panning repaints all of them.
        side = round(THUMB_PX * dpr)
        self.prepareGeometryChange()
        self._pixmap = pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
        self._pixmap.setDevicePixelRatio(dpr)
        w, h = self._pixmap.width() / dpr, self._pixmap.height() / dpr
        self._rect = QRectF(-w / 2, -h / 2, w, h)

    def half_size(self) -> tuple[float, float]:
        return self._rect.width() / 2, self._rect.height() / 2

    def set_frame(self, colour: QColor, width: float) -> None:
        self._pen = QPen(colour, width)
        self._pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-3, -3, 3, 3)

    def paint(self, painter: QPainter, option: object, widget: QWidget | None = None) -> None:
        painter.drawPixmap(self._rect.topLeft(), self._pixmap)
        painter.setPen(self._pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        half = self._pen.widthF() / 2
        painter.drawRect(self._rect.adjusted(-half, -half, half, half))


class HoverPreview(QFrame):
    """The hovered point's image, file name and cluster, in a frame beside the cursor.

    A child of the map, not a tooltip window, so it never takes focus or hover away.
    """

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("mapPreview")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("#mapPreview { background: palette(window);"
                           " border: 1px solid palette(mid); border-radius: 6px; }")
        self.image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.name = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.cluster = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, textFormat=Qt.TextFormat.RichText)
        box = QVBoxLayout(self)
        box.setContentsMargins(8, 8, 8, 6)
        box.setSpacing(4)
        for label in (self.image, self.name, self.cluster):
            label.setMaximumWidth(PREVIEW_PX)
            box.addWidget(label)
        self.hide()

    def show_point(self, pixmap: QPixmap | None, name: str, identity: ClusterIdentity) -> None:
        """Show ``pixmap`` (None while it loads), the file ``name`` and the point's cluster: a disc in its colour
        and its full name."""
        if pixmap is not None:
            self.image.setPixmap(pixmap.scaled(PREVIEW_PX, PREVIEW_PX, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
        self.image.setVisible(pixmap is not None)
        metrics = self.name.fontMetrics()
        self.name.setText(metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, PREVIEW_PX))
        cluster = metrics.elidedText(identity.full_name, Qt.TextElideMode.ElideRight, PREVIEW_PX - 2 * metrics.height())
        self.cluster.setText(f'<span style="color: {identity.colour}">&#9679;</span> {escape(cluster)}')
        self.adjustSize()
        self.show()
        self.raise_()


def place_beside(preview: QWidget, cursor: QPoint) -> None:
    """Moves ``preview`` beside ``cursor`` (in its parent's coordinates), flipped to the other
    side near the parent's right or bottom edge."""
    size, gap, bounds = preview.size(), 16, preview.parentWidget().size()
    x, y = cursor.x() + gap, cursor.y() + gap
    if x + size.width() > bounds.width():
        x = cursor.x() - gap - size.width()
    if y + size.height() > bounds.height():
        y = cursor.y() - gap - size.height()
    preview.move(max(0, x), max(0, y))


class Fade:
    """Veils the points a filter hides: one item of translucent dots in the background colour drawn
    over theirs (per-point brushes would slow the moving map ~20x), and their thumbnails faded."""

    def __init__(self, box: pg.ViewBox, dot_px: int, redraw: Callable[[], None]) -> None:
        self.shown: np.ndarray | None = None
        self._redraw = redraw
        self._item = pg.ScatterPlotItem(pxMode=True, size=dot_px + 1, symbol="o", pen=None)
        self._item.setZValue(1)  # over the dots (0), under the ring and thumbnails
        self._item.setEnabled(False)
        box.addItem(self._item, ignoreBounds=True)

    def set_shown(self, shown: np.ndarray | None) -> None:
        """Dim the points ``shown`` leaves out (a filter's mask), so the matches stand out; None: none."""
        self.shown = None if shown is None else np.asarray(shown, dtype=bool)
        self._redraw()

    def place(self, xy: np.ndarray, background: QColor) -> None:
        hidden = np.zeros(len(xy), dtype=bool) if self.shown is None or len(self.shown) != len(xy) else ~self.shown
        veil = QColor(background)
        veil.setAlpha(200)
        self._item.setBrush(veil)
        self._item.setData(pos=placed_rows(xy, hidden))

    def opacity(self, index: int) -> float:
        """A thumbnail's opacity: faint when the filter hides its image."""
        return 0.25 if self.shown is not None and index < len(self.shown) and not self.shown[index] else 1.0
