"""DBSCAN, with eps taken from the knee of the k-distance curve when not given."""

from __future__ import annotations

import numpy as np

from ...jobs.subprocess_step import run_step
from ...search.index import build_index
from .base import Clusterer, Clustering, ClusterSpec, elbow, register, with_noise_reassigned

DBSCAN_MIN_SAMPLES = 5


def dbscan_eps(space: np.ndarray, min_samples: int = DBSCAN_MIN_SAMPLES) -> float:
    """eps at the elbow of the sorted k-nearest-neighbour distance curve (Ester et al.), in ``space``."""
    k = min(min_samples, len(space) - 1)
    _, distances = build_index(space, "euclidean").knn(space, k + 1)  # the first neighbour is the point
    curve = np.sort(distances[:, -1])
    # A folder of exact copies puts the knee at distance 0, which DBSCAN refuses.
    return max(float(curve[int(elbow(list(range(len(curve))), list(curve)))]), 1e-6)


def _dbscan_fit(space: np.ndarray, spec: ClusterSpec) -> tuple[np.ndarray, float, float]:
    """DBSCAN's labels, the eps it used and the noise fraction before reassignment."""
    from sklearn.cluster import DBSCAN

    eps = spec.eps if spec.eps is not None else dbscan_eps(space)
    labels = DBSCAN(eps=eps, min_samples=DBSCAN_MIN_SAMPLES).fit_predict(space)
    labels, noise = with_noise_reassigned(space, labels, spec)
    return labels, eps, noise


def run(space, spec: ClusterSpec, progress, should_stop) -> Clustering:
    labels, eps, noise = run_step(_dbscan_fit, space, spec, rows=len(space), should_stop=should_stop)
    params = {"eps": eps, "min_samples": DBSCAN_MIN_SAMPLES, "eps_auto": spec.eps is None,
              "noise_before_reassignment": noise}
    progress(1, 1, "dbscan")
    return Clustering(labels, "dbscan", params)


register(Clusterer("dbscan", "DBSCAN", "Dense groups of near-duplicates; stray images stay unclustered.",
                   ("eps", "reassign_noise"), run, rank=20))
