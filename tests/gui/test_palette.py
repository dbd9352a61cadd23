"""Cluster colours stay told apart well beyond a handful of clusters."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor
from skimage.color import rgb2lab

from organizer.analysis.identity import NOISE_COLOUR
from organizer.gui.palette import cluster_colour

#: The smallest CIELAB ΔE between two of colorcet's glasbey_light first 30 is 24.5; the
#: golden-angle hues it replaced had two at 4.9, which look alike.
MIN_DELTA_E = 20.0


def _lab(colours) -> np.ndarray:
    return rgb2lab(np.array([c.getRgb()[:3] for c in colours], dtype=np.float64)[None] / 255)[0]


def test_thirty_cluster_colours_are_told_apart_and_from_noise():
    lab = _lab([cluster_colour(label) for label in range(30)])
    gaps = np.sqrt(((lab[:, None] - lab[None]) ** 2).sum(-1))
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() > MIN_DELTA_E
    noise = _lab([QColor(NOISE_COLOUR)])
    assert np.sqrt(((lab - noise) ** 2).sum(-1)).min() > MIN_DELTA_E
    assert cluster_colour(-1) == QColor(NOISE_COLOUR)


def test_labels_past_the_palette_wrap_around():
    assert cluster_colour(256) == cluster_colour(0) and cluster_colour(257) != cluster_colour(0)
