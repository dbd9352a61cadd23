"""Where the map starts when it goes on from a partial map: the images the partial map placed stay
where they are, and :func:`starting_layout` finds a place for the rest (docs/benchmarks.md, "The finished
map goes on from the partial map")."""

from __future__ import annotations

import numpy as np


#: A start from a partial map is taken where it places at least this share of the images.
START_SHARE = 0.1
#: An image the start lacks goes among its 5 nearest placed ones where the nearest is no farther than
#: this quantile of the placed images' distances to their own nearest, so it is like them.
NEAR_QUANTILE = 0.9
#: Where at most this share of the images are unlike any the start placed, the exaggerated phase is skipped:
#: the partial map has gathered the clusters already, and gathering them again reshuffled small folders'
#: maps (400 garment photos kept 0.42 of the partial map's shape, as from the PCA, against 0.67 without it).
#: Beyond it the unseen images need untangling: at 63 % unlike, skipping lost 0.04 of class separation.
UNTANGLED_SHARE = 0.25


def starting_layout(reduced: np.ndarray, start: np.ndarray, seed: int) -> tuple[np.ndarray, float] | None:
    """openTSNE's start from ``start`` (NaN where unknown), scaled and jittered as openTSNE's PCA start is,
    and the share of the images unlike any it placed; None where it places too few images.

    A partial map lays out the images scanned first, often whole themes of a folder named by theme.
    An image like those goes to the median place of its nearest (PCA space), as Kobak & Berens (2019)
    place the rest of a sample's map; one unlike them all goes where the PCA start puts it, mapped
    into the partial map's frame by a least-squares affine fit. Median places alone squeezed the
    unseen themes into the seen ones (docs/benchmarks.md, "The map").
    """
    import openTSNE
    from sklearn.neighbors import NearestNeighbors

    layout = np.array(start, dtype=np.float64)
    known = np.isfinite(layout).all(axis=1)
    # openTSNE scales a start by its first axis's spread: one flat along either axis (a collapsed one among
    # them) is no map to go on from.
    if known.sum() < max(START_SHARE * len(layout), 6) or float(np.ptp(layout[known], axis=0).min()) < 1e-6:
        return None
    unlike = 0.0
    if not known.all():
        search = NearestNeighbors(n_neighbors=5).fit(reduced[known])
        like = search.kneighbors(reduced[known], n_neighbors=2)[0][:, 1]
        distances, nearest = search.kneighbors(reduced[~known])
        near = distances[:, 0] <= np.quantile(like, NEAR_QUANTILE)
        placed = np.median(layout[known][nearest], axis=1)
        pca = np.c_[openTSNE.initialization.pca(reduced, random_state=seed), np.ones(len(layout))]
        affine, *_ = np.linalg.lstsq(pca[known], layout[known], rcond=None)
        layout[~known] = np.where(near[:, None], placed, pca[~known] @ affine)
        unlike = float((~near).sum() / len(layout))
    return openTSNE.initialization.jitter(openTSNE.initialization.rescale(layout), random_state=seed), unlike
