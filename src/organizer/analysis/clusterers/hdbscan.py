"""HDBSCAN: dense groups of any size, with the images that fit nowhere left as noise."""

from __future__ import annotations

import numpy as np

from ...jobs.subprocess_step import run_step
from .base import Clusterer, Clustering, ClusterSpec, register, with_noise_reassigned


def _hdbscan_fit(space: np.ndarray, spec: ClusterSpec) -> tuple[np.ndarray, int, float]:
    """HDBSCAN's labels, the minimum cluster size it used and the noise fraction before reassignment."""
    import hdbscan  # the library: imports are absolute, so this module's own name does not shadow it

    size = spec.min_cluster_size or max(5, len(space) // 100)
    labels = hdbscan.HDBSCAN(min_cluster_size=size, core_dist_n_jobs=1).fit_predict(space)
    labels, noise = with_noise_reassigned(space, labels, spec)
    return labels, size, noise


def run(space, spec: ClusterSpec, progress, should_stop) -> Clustering:
    labels, size, noise = run_step(_hdbscan_fit, space, spec, rows=len(space), should_stop=should_stop)
    progress(1, 1, "hdbscan")
    return Clustering(labels, "hdbscan", {"min_cluster_size": size, "noise_before_reassignment": noise})


register(Clusterer("hdbscan", "HDBSCAN", "Dense groups of any size; images that fit nowhere stay unclustered.",
                   ("min_cluster_size", "reassign_noise"), run, rank=30))
