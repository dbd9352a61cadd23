"""Grid layouts in which neighbouring cells hold look-alike images, and their quality.

The layout follows Linear Assignment Sorting and its fast variant FLAS (Barthel, Hezel,
Jung & Schall, "Improved Evaluation and Generation of Grid Layouts using Distance
Preservation Quality and Linear Assignment Sorting", Computer Graphics Forum 2023), whose
DPQ also scores the layouts here.
"""

from __future__ import annotations

import numpy as np

from ..jobs.tasks import Cancelled, ProgressFn, StopFn, never_stop, no_progress
from ..search.index import unit_rows
from .order import axis_order, principal_scores

RADIUS_FACTOR = 0.9  # FLAS shrinks the filter radius by this factor each round
LAS_LIMIT = 1100  # up to this many movable cells, one assignment over the whole grid
BLOCK = 256  # cells per assignment block above LAS_LIMIT (FLAS's swap set)
DPQ_QUERIES = 1000


def grid_shape(n: int, cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of the smallest grid with ``cols`` columns, or the most nearly square
    one when ``cols`` is None, that holds ``n`` images."""
    if n < 0 or (cols is not None and cols < 1):
        raise ValueError("need n >= 0 and cols >= 1")
    cols = cols or max(1, int(np.ceil(np.sqrt(n))))
    return max(1, -(-n // cols)), cols


def grid_sort(vectors: np.ndarray, rows: int, cols: int, pinned: dict[int, int] | None = None, seed: int = 0,
              progress: ProgressFn = no_progress, should_stop: StopFn = never_stop) -> np.ndarray:
    """Arrange the images on a rows × cols grid so that neighbouring cells hold similar images.

    LAS/FLAS (Barthel et al. 2023): the images start laid out by their first two principal
    components; each round smooths the grid of unit vectors with a box filter of radius r
    (holes left out of the average), then reassigns the images among their cells by linear
    assignment to the best-fitting smoothed vector; r starts at half the longer side and
    shrinks by ``RADIUS_FACTOR`` down to 1. Up to ``LAS_LIMIT`` movable images one
    assignment covers them all; above that, as in FLAS, random blocks of ``BLOCK`` cells,
    drawn from a window that shrinks with r, are reassigned in turn.

    ``pinned`` maps image index -> cell index (row * cols + col); those images stay there.
    Returns the image index in each cell, row by row (int64), -1 in empty cells: the last
    free cells in reading order, so the grid fills like a page. Raises :class:`Cancelled`
    when ``should_stop()`` turns true (asked every round).
    """
    unit = unit_rows(vectors)
    n, cells = len(unit), rows * cols
    pinned = dict(pinned or {})
    if rows < 1 or cols < 1 or cells < n:
        raise ValueError(f"a {rows} × {cols} grid cannot hold {n} images")
    if any(not 0 <= i < n for i in pinned) or any(not 0 <= c < cells for c in pinned.values()) \
            or len(set(pinned.values())) < len(pinned):
        raise ValueError("pinned must map distinct images to distinct cells inside the grid")
    grid = np.full(cells, -1, dtype=np.int64)
    grid[list(pinned.values())] = list(pinned)
    movable = np.flatnonzero(grid < 0)[:n - len(pinned)]
    images = np.setdiff1d(np.arange(n), list(pinned))
    if len(images) == 0:
        return grid
    grid[movable] = images[_principal_layout(unit[images], movable, rows, cols)]
    mask = np.zeros(cells, dtype=bool)
    mask[movable] = True
    radii = []
    radius = max(rows, cols) / 2
    while radius >= 1:
        radii.append(int(round(radius)))
        radius *= RADIUS_FACTOR
    rng = np.random.default_rng(seed)
    from scipy.optimize import linear_sum_assignment

    for done, radius in enumerate(radii):
        if should_stop():
            raise Cancelled()
        smoothed = _smooth(grid, unit, rows, cols, radius)
        blocks = [movable] if len(movable) <= LAS_LIMIT else _blocks(mask, rows, cols, radius, rng)
        for block in blocks:
            placed = grid[block]
            # minimising squared distance |x - s|² over an assignment is maximising x·s
            _, best = linear_sum_assignment(-(unit[placed] @ smoothed[block].T))
            grid[block[best]] = placed
        progress(done + 1, len(radii), "sorting the grid")
    return grid


def _principal_layout(unit: np.ndarray, cells: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Which image (row of ``unit``) starts in each of ``cells``: the first principal
    component runs along the grid's longer side, the second across it."""
    scores = principal_scores(unit, 2) if len(unit) > 2 else np.zeros((len(unit), 2))
    r, c = np.divmod(cells, cols)
    along, across = (r, c) if rows >= cols else (c, r)
    cell_order = np.lexsort((across, along))
    _, band_sizes = np.unique(along, return_counts=True)
    by_first = axis_order(scores[:, 0])
    result = np.empty(len(cells), dtype=np.int64)
    start = 0
    for size in band_sizes:
        band = by_first[start:start + size]
        result[cell_order[start:start + size]] = band[axis_order(scores[band, 1])]
        start += size
    return result


def _smooth(grid: np.ndarray, unit: np.ndarray, rows: int, cols: int, radius: int) -> np.ndarray:
    """The mean vector of the occupied cells in a box of the given radius around each cell."""
    from scipy.ndimage import uniform_filter1d

    filled = grid >= 0
    planes = np.zeros((rows * cols, unit.shape[1] + 1), dtype=np.float32)
    planes[filled, :-1] = unit[grid[filled]]
    planes[filled, -1] = 1  # the count of images, to average over occupied cells only
    planes = planes.reshape(rows, cols, -1)
    for axis, side in ((0, rows), (1, cols)):
        size = min(2 * radius + 1, max(side - 1, 1))  # as FLAS: never the whole side
        planes = uniform_filter1d(planes, size, axis=axis)
    planes = planes.reshape(rows * cols, -1)
    return planes[:, :-1] / np.maximum(planes[:, -1:], 1e-6)


def _blocks(mask: np.ndarray, rows: int, cols: int, radius: int, rng: np.random.Generator) -> list[np.ndarray]:
    """About one block of ``BLOCK`` movable cells per BLOCK movable cells, each drawn at
    random from a window around a random cell; the window spans the filter (2r + 1), so
    images can travel as far as the smoothing reaches, and at least √BLOCK cells a side."""
    movable = np.flatnonzero(mask)
    mask2d = mask.reshape(rows, cols)
    side = max(2 * radius + 1, int(np.sqrt(BLOCK)))
    height, width = min(side, rows), min(side, cols)
    blocks = []
    for centre in rng.choice(movable, -(-len(movable) // BLOCK)):
        r0 = int(np.clip(centre // cols - height // 2, 0, rows - height))
        c0 = int(np.clip(centre % cols - width // 2, 0, cols - width))
        inside = np.flatnonzero(mask2d[r0:r0 + height, c0:c0 + width])
        block = (r0 + inside // width) * cols + c0 + inside % width
        if len(block) > BLOCK:
            block = rng.choice(block, BLOCK, replace=False)
        blocks.append(block)
    return blocks


def dpq(grid: np.ndarray, vectors: np.ndarray, cols: int, p: int = 16, ties: str = "mean") -> float:
    """Distance Preservation Quality DPQ_p of a grid layout (Barthel et al. 2023).

    For k = 1 .. N-1, D_k(S) is the mean feature distance from an image to its k nearest
    images on the grid (by Euclidean cell distance), averaged over images; D_k(HD) is the
    same for its k nearest in feature space, the best any layout could do; D_rnd is the mean
    distance between two images, what a random layout gives for every k. With the gain
    ΔDP_k = max(0, (D_rnd - D_k) / D_rnd), DPQ_p = ||ΔDP(S)||_p / ||ΔDP(HD)||_p: 1 when every
    neighbourhood is preserved, about 0 for a random layout.

    Feature distance is the Euclidean distance between unit vectors (monotone in cosine
    distance). Empty cells (-1) are skipped. Above ``DPQ_QUERIES`` images the averages run
    over that many query images (fixed seed) against all images.

    Parameters
    ----------
    ties
        How to rank cells at the same distance from an image (the 4 nearest, then the 4
        diagonals, ...). ``"mean"``: each counts the mean feature distance of its shell, the
        expected value for any order among them, so a random layout scores about 0.
        ``"best"``: nearest in feature space first, as in the authors' code; this credits a
        random layout with the best of each shell (about 0.2 on dtd10).
    """
    if ties not in ("mean", "best"):
        raise ValueError(f"ties must be 'mean' or 'best', not {ties!r}")
    grid = np.asarray(grid).reshape(-1)
    cells = np.flatnonzero(grid >= 0)
    unit = unit_rows(vectors)[grid[cells]].astype(np.float64)
    n = len(cells)
    if n < 3:
        return float("nan")
    xy = np.stack(np.divmod(cells, cols), axis=1).astype(np.float64)
    queries = np.arange(n)
    if n > DPQ_QUERIES:
        queries = np.sort(np.random.default_rng(0).choice(n, DPQ_QUERIES, replace=False))
    by_feature, by_grid = np.zeros(n - 1), np.zeros(n - 1)
    for start in range(0, len(queries), 128):
        rows = queries[start:start + 128]
        here = (np.arange(len(rows)), rows)
        distance = np.sqrt(np.maximum(2 - 2 * unit[rows] @ unit.T, 0))
        distance[here] = -1  # each query itself sorts first; drop it
        by_feature += np.sort(distance, axis=1)[:, 1:].sum(axis=0)
        shell = ((xy[rows, None, :] - xy[None, :, :]) ** 2).sum(axis=2)  # integer squared distances
        shell[here] = -1
        # feature distance, at most 2, scaled into [0, 1) to order cells within a shell
        ranked = np.argsort(shell + np.maximum(distance, 0) / 2.0001 if ties == "best" else shell,
                            axis=1, kind="stable")[:, 1:]
        distance, shell = np.take_along_axis(distance, ranked, 1), np.take_along_axis(shell, ranked, 1)
        if ties == "mean":
            distance = _shell_means(distance, shell)
        by_grid += distance.sum(axis=0)
    random = by_feature.sum() / (len(queries) * (n - 1))

    def norm_of_gain(mean_sorted: np.ndarray) -> float:
        gain = (random - np.cumsum(mean_sorted / len(queries)) / np.arange(1, n)) / random
        return float(np.linalg.norm(np.maximum(gain, 0), ord=p))

    best = norm_of_gain(by_feature)
    return norm_of_gain(by_grid) / best if best > 0 else float("nan")


def _shell_means(values: np.ndarray, shell: np.ndarray) -> np.ndarray:
    """Each value replaced by the mean over its run of equal ``shell`` in its row."""
    index = np.arange(values.shape[1])
    starts = np.ones(shell.shape, dtype=bool)
    starts[:, 1:] = shell[:, 1:] != shell[:, :-1]
    ends = np.ones(shell.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, index, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, index, len(index))[:, ::-1], axis=1)[:, ::-1]
    total = np.cumsum(values, axis=1)
    before = np.where(first > 0, np.take_along_axis(total, np.maximum(first - 1, 0), 1), 0)
    return (np.take_along_axis(total, last, 1) - before) / (last - first + 1)
