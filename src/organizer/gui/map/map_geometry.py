"""The map's numpy geometry: layout checks, lasso and rectangle selection, hit testing, view fitting."""

from __future__ import annotations

import numpy as np


def as_layout(layout: np.ndarray) -> np.ndarray:
    xy = np.asarray(layout, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"a layout is an (N, 2) array, got shape {xy.shape}")
    return xy


def placed_rows(xy: np.ndarray, indices: np.ndarray | None = None) -> np.ndarray:
    """The rows of ``xy`` (those at ``indices``, or all) that have a place: a point whose coordinates are NaN,
    an image the partial map of a scan lacks, waits hidden for the final layout."""
    rows = xy if indices is None else xy[indices]
    return rows[np.isfinite(rows).all(axis=1)]


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Mask of the (N, 2) points inside the closed (M, 2) polygon, by the even-odd ray test."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    polygon = np.asarray(polygon, dtype=float).reshape(-1, 2)
    inside = np.zeros(len(points), dtype=bool)
    if len(polygon) < 3 or not len(points):
        return inside
    # Only points in the bounding box can be inside, and a lasso usually covers little of the map.
    box = np.all((points >= polygon.min(axis=0)) & (points <= polygon.max(axis=0)), axis=1)
    candidates = np.flatnonzero(box)
    x, y = points[candidates, 0], points[candidates, 1]
    hit = np.zeros(len(candidates), dtype=bool)
    for (ax, ay), (bx, by) in zip(polygon, np.roll(polygon, -1, axis=0)):
        crosses = (ay > y) != (by > y)
        if crosses.any():  # also keeps horizontal edges (ay == by) out of the division
            hit[crosses] ^= x[crosses] < ax + (y[crosses] - ay) * (bx - ax) / (by - ay)
    inside[candidates] = hit
    return inside


def nearest_point(xy: np.ndarray, at: tuple[float, float], pixel: tuple[float, float], reach_px: float,
                  boxes: list[tuple[int, float, float]]) -> int:
    """The point nearest ``at`` within ``reach_px`` screen pixels of it, or -1.

    ``pixel`` is the size of a screen pixel in layout units; ``boxes`` are the points drawn
    as images, as (index, half width, half height) in pixels: those are hit anywhere on them.
    """
    pixel_w, pixel_h = pixel
    if not len(xy) or not pixel_w or not pixel_h:
        return -1
    dx = (xy[:, 0] - at[0]) / pixel_w
    dy = (xy[:, 1] - at[1]) / pixel_h
    dist = dx * dx + dy * dy
    near = dist <= reach_px * reach_px
    if boxes:
        index, half_w, half_h = (np.array(column) for column in zip(*boxes))
        near[index] |= (np.abs(dx[index]) <= half_w) & (np.abs(dy[index]) <= half_h)
    return int(np.argmin(np.where(near, dist, np.inf))) if near.any() else -1


def points_near_view(xy: np.ndarray, view: tuple[float, float, float, float], pixel: tuple[float, float],
                     margin_px: float, limit: int) -> np.ndarray:
    """Points within ``margin_px`` screen pixels of the (left, top, right, bottom) ``view``,
    or none at all if more than ``limit`` points are inside it."""
    pixel_w, pixel_h = pixel
    none = np.zeros(0, dtype=np.int64)
    if not len(xy) or not pixel_w or not pixel_h:
        return none
    left, top, right, bottom = view
    x, y = xy[:, 0], xy[:, 1]
    on_screen = (x >= left) & (x <= right) & (y >= top) & (y <= bottom)
    if on_screen.sum() > limit:
        return none
    margin_x, margin_y = margin_px * pixel_w, margin_px * pixel_h
    return np.flatnonzero((x >= left - margin_x) & (x <= right + margin_x)
                          & (y >= top - margin_y) & (y <= bottom + margin_y))


def fit_bounds(points: np.ndarray, whole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Low and high corners of a view around the (N >= 1, 2) ``points`` of the layout ``whole``."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    # A lone point (or a tight group) still gets some surroundings instead of an endless zoom. Each side
    # keeps its own extent otherwise: a square around a wide map left half a wide window empty.
    span = np.maximum(hi - lo, max(0.05 * float(np.ptp(whole, axis=0).max()), 1e-6))
    centre = (lo + hi) / 2
    return centre - span / 2, centre + span / 2
