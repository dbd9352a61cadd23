"""Fabric prints whose period is the whole pattern, drawn for the knot tests (io.knots, folder.extractor)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def fabric_print(kind: str, pitch: int, lit: bool, size: int = 480) -> Image.Image:
    """A two-colour print whose period is the whole pattern, ``pitch`` px, flat or under a light falloff."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    if kind == "dots":
        ink = np.hypot(x % pitch - pitch / 2, y % pitch - pitch / 2) < 0.3 * pitch
    elif kind == "checks":
        ink = (x // (pitch // 2) + y // (pitch // 2)) % 2 == 0
    else:  # pinstripes
        ink = x % pitch < 2
    pixels = np.where(ink[..., None], (200.0, 30.0, 60.0), (240.0, 235.0, 220.0))
    if lit:
        pixels *= (1.05 - 0.45 * np.hypot(x - 0.2 * size, y - 0.3 * size) / (1.5 * size))[..., None]
    return Image.fromarray(pixels.astype(np.uint8))
