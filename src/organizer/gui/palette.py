"""Colours shared by the views and dialogs: a cluster's, alike on the map and in the grid, and text tones."""

from __future__ import annotations

from colorcet import glasbey_light
from PySide6.QtGui import QColor, QPalette

NOISE_COLOUR = QColor(150, 150, 150)
#: (on a light window, on a dark one): Qt's palette has no warning or error role.
_TONES = {"warning": ((164, 94, 0), (255, 196, 90)), "error": ((184, 30, 30), (255, 128, 118))}


def cluster_colour(label: int) -> QColor:
    """Glasbey et al.'s colours, each chosen to differ most from those before it; noise (-1) is grey.

    The light variant leaves out colours darker than L* 30, which vanish on a dark map,
    and, like every colorcet Glasbey set, greys, so no cluster looks like noise.
    """
    if label < 0:
        return QColor(NOISE_COLOUR)
    return QColor(glasbey_light[label % len(glasbey_light)])


def tone_colour(palette: QPalette, tone: str) -> QColor:
    """Text colour for a "warning", an "error" or "muted" secondary text and lines, light theme or dark."""
    text, window = palette.color(QPalette.ColorRole.WindowText), palette.color(QPalette.ColorRole.Window)
    if tone == "muted":  # between the text and the window: readable but quiet
        return QColor(*(int(a * 0.6 + b * 0.4) for a, b in zip(text.getRgb()[:3], window.getRgb()[:3])))
    return QColor(*_TONES[tone][window.lightness() < 128])
