"""Colours shared by the views and dialogs: a cluster's, alike in every view and the CLI, and text tones."""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon, QPalette, QPixmap

from ..analysis import identity

#: (on a light window, on a dark one): Qt's palette has no warning or error role.
_TONES = {"warning": ((164, 94, 0), (255, 196, 90)), "error": ((184, 30, 30), (255, 128, 118))}


def cluster_colour(label: int) -> QColor:
    """The cluster's colour of :func:`organizer.analysis.identity.cluster_colour`; noise (-1) is grey."""
    return QColor(identity.cluster_colour(label))


def colour_icon(colour: QColor, side: int = 12) -> QIcon:
    """A square of ``colour``, for a cluster or a colour label in a menu, a list or a table."""
    pixmap = QPixmap(side, side)
    pixmap.fill(colour)
    return QIcon(pixmap)


def ink_on(colour: QColor) -> QColor:
    """Black or white, whichever reads on ``colour``: a cluster's number on its coloured disc or tab."""
    return QColor("black") if colour.lightnessF() > 0.55 else QColor("white")


def tone_colour(palette: QPalette, tone: str) -> QColor:
    """Text colour for a "warning", an "error" or "muted" secondary text and lines, light theme or dark."""
    text, window = palette.color(QPalette.ColorRole.WindowText), palette.color(QPalette.ColorRole.Window)
    if tone == "muted":  # between the text and the window: readable but quiet
        return QColor(*(int(a * 0.6 + b * 0.4) for a, b in zip(text.getRgb()[:3], window.getRgb()[:3])))
    return QColor(*_TONES[tone][window.lightness() < 128])
