"""Colour descriptors: the reference points a CNN has to beat.

``colour`` is a joint RGB histogram (8 levels per channel), square-rooted so that the
cosine of two descriptors is the Bhattacharyya coefficient of the histograms. ``mean-colour``
is the plain average colour that "sort by colour" tools use.
"""

from __future__ import annotations

import numpy as np

LEVELS = 8


class ColourEmbedder:
    def __init__(self, mode: str):
        if mode not in ("colour", "mean-colour"):
            raise ValueError(f"not a colour mode: {mode}")
        self.mode = mode

    def embed(self, views: np.ndarray, owners: np.ndarray, n_images: int) -> np.ndarray:
        """Describe each image from its uint8 views (N×S×S×3); see :class:`CnnEmbedder`."""
        pixels = views.reshape(len(views), -1, 3)
        if self.mode == "mean-colour":
            per_view = pixels.mean(axis=1) / 255.0
        else:
            bins = (pixels.astype(np.int32) * LEVELS) // 256
            codes = (bins[..., 0] * LEVELS + bins[..., 1]) * LEVELS + bins[..., 2]
            per_view = np.stack([np.bincount(c, minlength=LEVELS**3) for c in codes]).astype(np.float64)
        summed = np.zeros((n_images, per_view.shape[1]))
        np.add.at(summed, owners, per_view)
        if self.mode == "mean-colour":
            return (summed / np.bincount(owners, minlength=n_images)[:, None]).astype(np.float32)
        summed = np.sqrt(summed / summed.sum(axis=1, keepdims=True))
        return summed.astype(np.float32)
