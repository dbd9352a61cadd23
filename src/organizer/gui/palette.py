"""Cluster colours shared by every view, so a cluster looks the same on the map and in the grid."""

from __future__ import annotations

from PySide6.QtGui import QColor

NOISE_COLOUR = QColor(150, 150, 150)
_GOLDEN_ANGLE = 137.508


def cluster_colour(label: int) -> QColor:
    """Well-separated hues by the golden angle; noise (-1) is grey."""
    if label < 0:
        return QColor(NOISE_COLOUR)
    hue = (label * _GOLDEN_ANGLE + 20) % 360
    saturation = 170 if label % 2 else 210
    value = 215 if (label // 2) % 2 else 235
    return QColor.fromHsv(int(hue), saturation, value)
