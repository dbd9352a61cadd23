"""Choose the part of an outside photo to search with: drag a box over the picture (the print on a
garment, not the garment), then "Search with region" or "Search whole image"."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPalette, QPen,
                           QResizeEvent)
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QPushButton, QRubberBand, QSizePolicy,
                               QVBoxLayout, QWidget)

from ...io.images import Region

#: A box narrower or lower than this many screen pixels is a click, not a region.
MIN_DRAG_PX = 6
CANVAS_MAX = QSize(760, 560)


class RegionCanvas(QWidget):
    """The picture fitted into the widget, and a rubber band over the region, kept in the full-size
    image's pixels so that resizing the dialog keeps it where it was."""

    region_changed = Signal()

    def __init__(self, preview: QImage, full_size: tuple[int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = preview
        self._full = full_size
        self._region: Region | None = None
        self._anchor: QPointF | None = None
        self.band = QRubberBand(QRubberBand.Shape.Rectangle, self)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)

    def sizeHint(self) -> QSize:
        return self._image.size().scaled(CANVAS_MAX, Qt.AspectRatioMode.KeepAspectRatio)

    def region(self) -> Region | None:
        return self._region

    def set_region(self, region: Region | None) -> None:
        self._region = None if region is None else tuple(int(v) for v in region)
        self._place_band()
        self.region_changed.emit()

    def image_rect(self) -> QRectF:
        """Where the picture is drawn: fitted into the widget, centred."""
        size = QSize(self._image.size()).scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        rect = QRectF(0, 0, size.width(), size.height())
        rect.moveCenter(QRectF(self.rect()).center())
        return rect

    def _scale(self) -> float:
        """Screen pixels per full-size image pixel."""
        return self.image_rect().width() / self._full[0]

    def _to_screen(self, region: Region) -> QRect:
        origin, scale = self.image_rect().topLeft(), self._scale()
        x, y, w, h = region
        return QRectF(origin.x() + x * scale, origin.y() + y * scale, w * scale, h * scale).toRect()

    def _to_image(self, rect: QRectF) -> Region:
        shown, scale = self.image_rect(), self._scale()
        rect = rect.intersected(shown)
        left, top = (rect.left() - shown.left()) / scale, (rect.top() - shown.top()) / scale
        right, bottom = (rect.right() - shown.left()) / scale, (rect.bottom() - shown.top()) / scale
        x, y = max(0, round(left)), max(0, round(top))
        return x, y, max(1, min(self._full[0], round(right)) - x), max(1, min(self._full[1], round(bottom)) - y)

    def _place_band(self) -> None:
        if self._region is None:
            self.band.hide()
        else:
            self.band.setGeometry(self._to_screen(self._region))
            self.band.show()
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._anchor = event.position()
            self.band.setGeometry(QRect(event.position().toPoint(), QSize()))
            self.band.show()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._anchor is not None:
            self.band.setGeometry(self._dragged(event.position()).toRect())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._anchor is None or event.button() != Qt.MouseButton.LeftButton:
            return
        dragged = self._dragged(event.position())
        self._anchor = None
        small = dragged.width() < MIN_DRAG_PX or dragged.height() < MIN_DRAG_PX
        self.set_region(None if small else self._to_image(dragged))

    def _dragged(self, to: QPointF) -> QRectF:
        """The box from where the drag began to ``to``, within the picture."""
        return QRectF(self._anchor, to).normalized().intersected(self.image_rect())

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._place_band()
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        shown = self.image_rect()
        painter.drawImage(shown, self._image)
        if self._region is not None:
            # The rest of the picture veiled, so the part searched with stands out.
            veil = QPainterPath()
            veil.addRect(shown)
            part = QPainterPath()
            part.addRect(QRectF(self._to_screen(self._region)))
            painter.fillPath(veil.subtracted(part), QColor(0, 0, 0, 140))
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
            painter.drawPath(part)


class RegionDialog(QDialog):
    """The outside query's picture with a rubber band; :meth:`region` is the part chosen, or None for all."""

    def __init__(self, preview: QImage, full_size: tuple[int, int], region: Region | None, name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Search with part of {name}")
        self.canvas = RegionCanvas(preview, full_size)
        hint = QLabel("Drag a box around the part to search with: the print on a garment, not the garment.")
        hint.setWordWrap(True)
        self._size = QLabel()
        buttons = QDialogButtonBox()
        self.search_region = buttons.addButton("Search with region", QDialogButtonBox.ButtonRole.AcceptRole)
        self.search_whole: QPushButton = buttons.addButton("Search whole image", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.search_region.setDefault(True)
        self._whole = False
        self.search_region.clicked.connect(self.accept)
        self.search_whole.clicked.connect(self._accept_whole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self._size)
        layout.addWidget(buttons)
        self.canvas.region_changed.connect(self._region_changed)
        self.canvas.set_region(region)

    def region(self) -> Region | None:
        """The part to search with; None for the whole image."""
        return None if self._whole else self.canvas.region()

    def _accept_whole(self) -> None:
        self._whole = True
        self.accept()

    def _region_changed(self) -> None:
        region = self.canvas.region()
        self.search_region.setEnabled(region is not None)
        self._size.setText("No region yet" if region is None else
                           f"Region: {region[2]} × {region[3]} pixels at ({region[0]}, {region[1]})")

