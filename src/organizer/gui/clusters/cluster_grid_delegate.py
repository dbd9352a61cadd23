"""The cluster grid's delegate: sizes and paints header bands and square thumbnail cells."""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ..palette import tone_colour
from .annotation_badges import paint_badges, paint_cluster_disc
from .cluster_grid_model import ANNOTATION_ROLE, BROKEN_ROLE, IDENTITY_ROLE, IMAGE_ROLE, LABEL_ROLE, AnyIndex, Role

MIN_COLUMNS, MAX_COLUMNS, DEFAULT_COLUMNS = 2, 16, 8
HEADER_HEIGHT = 54  # a 40 px band under a gap that separates the sections
BADGE = 22  # the coloured disc with the cluster's number, as in its export folder's name
Colour = QPalette.ColorRole
_LEFT = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft


class GridView(Protocol):
    """What the delegate reads of its view: cluster_grid.ClusterGridView, whose module imports this one."""

    #: The cluster a drag hovers over, whose header is outlined.
    drop_label: int | None

    def viewport(self) -> QWidget: ...
    def palette(self) -> QPalette: ...
    def devicePixelRatioF(self) -> float: ...


class ClusterGridDelegate(QStyledItemDelegate):
    """Paints header bands and square thumbnail cells; keeps the scaled thumbnails it drew."""

    def __init__(self, view: GridView):
        super().__init__(view)
        self._view = view
        self.columns = DEFAULT_COLUMNS
        self._scaled: OrderedDict[tuple[int, int, int], QPixmap] = OrderedDict()

    def line_width(self) -> int:
        # QListView wraps an item that would reach the viewport's last pixel.
        return self._view.viewport().width() - 1

    def cell_side(self) -> int:
        return max(24, self.line_width() // self.columns)

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        if index.model().is_header(index.row()):
            return QSize(self.line_width(), HEADER_HEIGHT)
        return QSize(self.cell_side(), self.cell_side())

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if index.data(IMAGE_ROLE) < 0:
            self._paint_header(painter, option, index)
        else:
            self._paint_cell(painter, option, index)
        painter.restore()

    def _paint_header(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        palette, identity = option.palette, index.data(IDENTITY_ROLE)
        label, colour = identity.label, QColor(identity.colour)
        band = option.rect.adjusted(4, HEADER_HEIGHT - 42, -4, -2)
        target = self._view.drop_label == label
        painter.setPen(QPen(palette.color(Colour.Highlight), 2) if target else Qt.PenStyle.NoPen)
        painter.setBrush(_mix(palette.color(Colour.Base), colour, 0.14))
        painter.drawRoundedRect(band.adjusted(1, 1, -1, -1), 6, 6)
        painter.fillRect(QRect(band.left(), band.top() + 6, 4, band.height() - 12), colour)
        thumb = QRect(band.left() + 14, band.top() + 4, band.height() - 8, band.height() - 8)
        self.draw_thumbnail(painter, thumb, index, radius=4)
        badge = QRect(thumb.right() + 10, band.center().y() - BADGE // 2, BADGE, BADGE)
        font = option.font
        font.setBold(True)
        number_font = QFont(font)
        number_font.setPointSizeF(font.pointSizeF() * (0.85 if (identity.number or 0) < 100 else 0.7))
        paint_cluster_disc(painter, badge, identity, number_font)
        name, _, size = index.data().rpartition(" · ")
        text = band.adjusted(badge.right() + 10 - band.left(), 0, -12, 0)
        painter.setFont(font)
        painter.setPen(palette.color(Colour.Text))
        name = painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, text.width() - 120)
        painter.drawText(text, _LEFT, name)
        text.setLeft(text.left() + painter.fontMetrics().horizontalAdvance(name) + 10)
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(tone_colour(palette, "muted"))
        painter.drawText(text, _LEFT, size)

    def _paint_cell(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        pad = max(2, option.rect.width() // 40)
        cell = option.rect.adjusted(pad, pad, -pad, -pad)
        self.draw_thumbnail(painter, cell, index, radius=5)
        paint_badges(painter, cell, index.data(ANNOTATION_ROLE), option.font)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if not (selected or option.state & QStyle.StateFlag.State_MouseOver
                or self._view.drop_label == index.data(LABEL_ROLE)):
            return
        highlight = QColor(option.palette.color(Colour.Highlight))
        highlight.setAlpha(50 if selected else 140)
        if selected:  # tint the image too, so a selection reads at a glance at 16 columns
            painter.fillPath(_rounded(cell, 5), highlight)
            highlight.setAlpha(255)
        painter.setPen(QPen(highlight, 3.0 if selected else 1.5))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(cell.adjusted(1, 1, -1, -1), 5, 5)

    def draw_thumbnail(self, painter: QPainter, rect: QRect, index: AnyIndex, radius: float) -> None:
        """The row's thumbnail cropped to ``rect``; grey while it loads, struck out if it cannot."""
        pixmap, path = index.data(Role.DecorationRole), _rounded(rect, radius)
        if pixmap is not None and not pixmap.isNull():
            painter.save()
            painter.setClipPath(path)
            painter.drawPixmap(rect, self._cover(pixmap, rect.size()))
            painter.restore()
            return
        palette = self._view.palette()
        painter.fillPath(path, _mix(palette.color(Colour.Base), palette.color(Colour.Text), 0.18))
        if index.data(BROKEN_ROLE):
            side = max(8, min(rect.width(), rect.height()) // 3)
            mark, inset = QRect(0, 0, side, side), side // 7
            mark.moveCenter(rect.center())
            painter.setPen(QPen(tone_colour(palette, "muted"), max(1.5, side / 12)))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(mark)
            painter.drawLine(mark.topRight() + QPoint(-inset, inset), mark.bottomLeft() + QPoint(inset, -inset))

    def _cover(self, pixmap: QPixmap, size: QSize) -> QPixmap:
        """``pixmap`` scaled to fill ``size`` and cropped to the centre; cached, since a
        smooth downscale per paint would make scrolling stutter."""
        ratio = self._view.devicePixelRatioF()
        key = (pixmap.cacheKey(), size.width(), size.height())
        found = self._scaled.get(key)
        if found is None:
            target = size * ratio
            scaled = pixmap.scaled(target, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                   Qt.TransformationMode.SmoothTransformation)
            found = scaled.copy((scaled.width() - target.width()) // 2, (scaled.height() - target.height()) // 2,
                                target.width(), target.height())
            found.setDevicePixelRatio(ratio)
            self._scaled[key] = found
            # About three screens of cells: enough to scroll back without rescaling, and the
            # memory stays near three screens of pixels whether cells are small or huge.
            side = max(1, size.width())
            while len(self._scaled) > 3 * self.columns * (self._view.viewport().height() // side + 2):
                self._scaled.popitem(last=False)
        self._scaled.move_to_end(key)
        return found


def _mix(base: QColor, tint: QColor, amount: float) -> QColor:
    return QColor.fromRgbF(*(b + (t - b) * amount for b, t in zip(base.getRgbF()[:3], tint.getRgbF()[:3])))


def _rounded(rect: QRect, radius: float) -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(rect, radius, radius)
    return path
