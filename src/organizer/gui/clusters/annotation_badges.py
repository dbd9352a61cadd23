"""How a thumbnail shows its annotation: a colour label dot, stars and tags, small, over the image's bottom."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter

from ...analysis.identity import ClusterIdentity
from ...storage.annotations import Annotation
from ..palette import ink_on

#: The colour labels' colours, as Lightroom shows them; shared by the grid, the menus and the filter bar.
LABEL_COLOURS = {"red": QColor(224, 68, 60), "orange": QColor(240, 146, 40), "yellow": QColor(236, 204, 40),
                 "green": QColor(80, 180, 80), "blue": QColor(60, 130, 230), "purple": QColor(160, 90, 210)}
STAR, NO_STAR = "★", "☆"
#: Below this cell side the badges would cover the image: only the label dot is drawn.
_MIN_SIDE = 56


def stars_text(rating: int, out_of: int = 5) -> str:
    return STAR * rating + NO_STAR * (out_of - rating)


def paint_cluster_disc(painter: QPainter, rect: QRect, identity: ClusterIdentity, font: QFont) -> None:
    """A cluster's badge, as the grid's headers and the similar results show it: its number in ``font`` on a
    disc of its colour (a pill where ``rect`` is wider than high), dark digits on light colours, white on dark."""
    colour = QColor(identity.colour)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    radius = rect.height() / 2
    painter.drawRoundedRect(QRectF(rect), radius, radius)
    if identity.number is not None:
        painter.setFont(font)
        painter.setPen(ink_on(colour))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(identity.number))


def paint_badges(painter: QPainter, cell: QRect, note: Annotation | None, font: QFont) -> None:
    """``note`` drawn over ``cell``: the label as a dot at the top left, stars and tags on a dark strip below."""
    if note is None or note.empty:
        return
    painter.save()
    side = min(cell.width(), cell.height())
    if note.label in LABEL_COLOURS:
        dot = max(8, side // 9)
        painter.setPen(QColor(255, 255, 255, 220))
        painter.setBrush(LABEL_COLOURS[note.label])
        painter.drawEllipse(QRectF(cell.left() + 5, cell.top() + 5, dot, dot))
    if side >= _MIN_SIDE and (note.rating or note.tags):
        small = QFont(font)
        small.setPixelSize(max(9, min(13, side // 11)))
        painter.setFont(small)
        line = painter.fontMetrics().height()
        lines = (1 if note.rating else 0) + (1 if note.tags else 0)
        strip = QRect(cell.left(), cell.bottom() - lines * line - 5, cell.width(), lines * line + 6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(strip, 4, 4)
        text = strip.adjusted(5, 3, -5, 0)
        text.setHeight(line)
        if note.rating:
            painter.setPen(QColor(255, 214, 90))
            painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, STAR * note.rating)
            text.translate(0, line)
        if note.tags:
            painter.setPen(QColor(240, 240, 240))
            tags = painter.fontMetrics().elidedText(", ".join(note.tags), Qt.TextElideMode.ElideRight, text.width())
            painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, tags)
    painter.restore()
