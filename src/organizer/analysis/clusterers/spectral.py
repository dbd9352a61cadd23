"""Spectral clustering on a sparse nearest-neighbour graph, fitted on a sample of a large folder."""

from __future__ import annotations

import numpy as np

from ...jobs.subprocess_step import run_step
from .base import (SAMPLE_LIMIT, Clusterer, Clustering, ClusterSpec, assign_to_centres, choose_k, register, sample_rows,
                   similarity_graph)

SPECTRAL_NEIGHBOURS = 15


def _spectral_fit(graph, k: int, seed: int) -> np.ndarray:
    from sklearn.cluster import SpectralClustering

    model = SpectralClustering(k, affinity="precomputed", random_state=seed, assign_labels="cluster_qr")
    return model.fit_predict(graph)


def run(space, spec: ClusterSpec, progress, should_stop) -> Clustering:
    fitted = sample_rows(space, SAMPLE_LIMIT, spec.seed)
    graph = similarity_graph(space[fitted], SPECTRAL_NEIGHBOURS)

    def fit(k):
        return run_step(_spectral_fit, graph, k, spec.seed, rows=len(fitted), should_stop=should_stop)

    if spec.k is not None:
        k, scores = spec.k, {}
    else:
        k, scores = choose_k(space[fitted], fit, spec, progress, should_stop)
    labels = assign_to_centres(space, fitted, fit(k))
    return Clustering(labels, "spectral", {"k": k, "fitted": len(fitted)}, scores)


register(Clusterer("spectral", "Spectral", "Groups linked by chains of similar images, even of odd shapes.",
                   ("k",), run, rank=50))
